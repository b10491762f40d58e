// The text a command trains or checks on: a file given with --data, or the built-in demo corpus.
import { statSync } from 'fs';
import path from 'path';
import { Corpus } from './corpus';
import { demoText, DEMO_SOURCE } from './demo';
import { fitLine } from '../util/output';

/** Texts smaller than this load too fast for a progress line. */
const PROGRESS_FROM_BYTES = 32 << 20;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // Corpus.fromFile reports the problem
  }
}

/** The line shown while a big text is read (`status` is a percentage or "done"), within the terminal's width. */
export function readingLine(file: string, status: string, columns: number | undefined): string {
  return fitLine(
    [`reading and indexing ${file}: ${status}`, `reading ${file}: ${status}`, `reading ${path.basename(file)}: ${status}`, `reading: ${status}`, status],
    columns
  );
}

/** The text of --data, or the built-in demo corpus. Progress goes to stderr when it is a terminal. */
export function loadTrainingText(data: string | undefined | null, showProgress = false): { corpus: Corpus; source: string } {
  if (data === undefined || data === null) return { corpus: Corpus.fromText(demoText(), DEMO_SOURCE), source: DEMO_SOURCE };
  let shown = false;
  const progress = showProgress && fileSize(data) > PROGRESS_FROM_BYTES
    ? (fraction: number) => {
        shown = true;
        process.stderr.write(`\r${readingLine(data, `${Math.floor(fraction * 100)}%`, process.stderr.columns)}\x1b[K`);
      }
    : undefined;
  const corpus = Corpus.fromFile(data, progress);
  if (shown) process.stderr.write(`\r${readingLine(data, 'done', process.stderr.columns)}\x1b[K\n`);
  return { corpus, source: data };
}
