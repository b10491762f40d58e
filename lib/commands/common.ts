// What the commands share: output helpers, the corpus from --data, the seed option.
import { statSync } from 'fs';
import { Corpus } from '../corpus';
import { demoText, DEMO_SOURCE } from '../demo';

/** Standard output, which a reader may close (`rnn-native train | head`): then nothing more is written. */
export const stdout = { closed: false };

export function writeOut(text: string): void {
  if (!stdout.closed) process.stdout.write(text);
}

export function printLine(line: string): void {
  writeOut(line + '\n');
}

export function warn(message: string): void {
  process.stderr.write(`rnn-native: warning: ${message}\n`);
}

export { SEED_SPEC as seedSpec } from '../config';

/** Texts smaller than this load too fast for a progress line. */
const PROGRESS_FROM_BYTES = 32 << 20;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // Corpus.fromFile reports the problem
  }
}

/** The text of --data, or the built-in demo corpus. Progress goes to stderr when it is a terminal. */
export function loadCorpus(data: string | undefined | null, showProgress = false): { corpus: Corpus; source: string } {
  if (data === undefined || data === null) return { corpus: Corpus.fromText(demoText(), DEMO_SOURCE), source: DEMO_SOURCE };
  let shown = false;
  const progress = showProgress && fileSize(data) > PROGRESS_FROM_BYTES
    ? (fraction: number) => {
        shown = true;
        process.stderr.write(`\rreading and indexing ${data}: ${Math.floor(fraction * 100)}%`);
      }
    : undefined;
  const corpus = Corpus.fromFile(data, progress);
  if (shown) process.stderr.write(`\rreading and indexing ${data}: done\x1b[K\n`);
  return { corpus, source: data };
}
