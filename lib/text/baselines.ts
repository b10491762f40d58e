// The figures a language model is judged against, in nats per character: a uniform guess over
// the K symbols (ln K), and a guess that knows only each symbol's frequency in the training text
// (its unigram entropy, −Σ p log p). A model worth its training scores well below both.

export interface Baselines {
  /** ln K. */
  uniform: number;
  /** −Σ p log p over the training symbols' frequencies. */
  unigram: number;
}

export function baselines(symbols: ArrayLike<number>, vocabSize: number): Baselines {
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < symbols.length; i++) counts[symbols[i]]++;
  let unigram = 0;
  for (const count of counts) {
    if (count > 0) unigram -= (count / symbols.length) * Math.log(count / symbols.length);
  }
  return { uniform: Math.log(vocabSize), unigram };
}
