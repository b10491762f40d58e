// The figures a language model is judged against, in nats per character: a uniform guess over
// the K symbols (ln K), and a guess that knows only each symbol's frequency in the training text
// (its unigram entropy, −Σ p log p). A model worth its training scores well below both.
import { SymbolText } from './symbol-text';

export interface Baselines {
  /** ln K. */
  uniform: number;
  /** −Σ p log p over the training symbols' frequencies. */
  unigram: number;
}

const CHUNK_SYMBOLS = 1 << 20;

/** The baselines of a text, read by chunks (a text bigger than memory is never held whole). */
export function baselines(text: SymbolText, vocabSize: number): Baselines {
  const counts = new Float64Array(vocabSize);
  for (let start = 0; start < text.length; start += CHUNK_SYMBOLS) {
    const symbols = text.read(start, Math.min(text.length, start + CHUNK_SYMBOLS));
    for (let i = 0; i < symbols.length; i++) counts[symbols[i]]++;
  }
  const total = text.length;
  let unigram = 0;
  for (const count of counts) {
    if (count > 0) unigram -= (count / total) * Math.log(count / total);
  }
  return { uniform: Math.log(vocabSize), unigram };
}
