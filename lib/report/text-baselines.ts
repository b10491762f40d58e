// The baselines of a run's training text (lib/text/baselines.ts) for report and compare: read
// from the text config.json names when it is still the one trained on.
import path from 'path';
import { baselines } from '../text/baselines';
import { loadTrainingText } from '../text/training-text';
import { UserError } from '../util/errors';
import { runCacheDir, runData, RunConfigFile, runSeparator } from '../run/run-config';

export interface TextBaselines {
  /** The text's file name (the demo corpus when config.json names none), and the part trained on. */
  source: string;
  vocabSize: number;
  /** ln K, nats per character. */
  uniform: number;
  /** The unigram entropy of the training part, nats per character; undefined when the text cannot be read (then `why`). */
  unigram?: number;
  why?: string;
}

export function runTextBaselines(config: RunConfigFile): TextBaselines {
  const corpus = config.corpus as { sha256: string; vocabSize: number };
  const data = runData(config);
  const valFraction = typeof config.valFraction === 'number' ? config.valFraction : 0;
  const files = (config.corpus as { files?: unknown[] }).files?.length ?? 1;
  const name = data === undefined ? 'the demo corpus' : files > 1 ? `${files} texts` : path.basename(data[0]);
  const source = valFraction > 0 ? `${name} without ${files > 1 ? `the last ${valFraction * 100} % of each` : `its last ${valFraction * 100} %`}` : name;
  const known = { source, vocabSize: corpus.vocabSize, uniform: Math.log(corpus.vocabSize) };
  try {
    const { corpus: text, source: file } = loadTrainingText(data, { separator: runSeparator(config), cacheDir: runCacheDir(config) });
    if (text.sha256 !== corpus.sha256) return { ...known, why: `${file} has changed since the run was trained on it` };
    return { ...known, unigram: baselines(text.split(valFraction).training, text.vocabSize).unigram };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { ...known, why: error.message };
  }
}

/** "ln K 4.174, unigram 3.313 nats/char (text)" */
export function baselinesLine(b: TextBaselines): string {
  const unigram = b.unigram === undefined ? 'unigram unknown' : `unigram ${b.unigram.toFixed(3)}`;
  return `for scale: ln K ${b.uniform.toFixed(3)}, ${unigram} nats/char (${b.source})`;
}
