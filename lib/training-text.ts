// The text a command trains or checks on: a file given with --data, or the built-in demo corpus.
import { statSync } from 'fs';
import { Corpus } from './corpus';
import { demoText, DEMO_SOURCE } from './demo';

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
export function loadTrainingText(data: string | undefined | null, showProgress = false): { corpus: Corpus; source: string } {
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
