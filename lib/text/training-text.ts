// The text a command trains or checks on: the files --data names (lib/text/inputs.ts), or the
// built-in demo corpus.
import { statSync } from 'fs';
import path from 'path';
import { Corpus, listed } from './corpus';
import { demoText, DEMO_SOURCE } from './demo';
import { expandInputs } from './inputs';
import { fitLine } from '../util/output';

/** Texts smaller than this load too fast for a progress line. */
const PROGRESS_FROM_BYTES = 32 << 20;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // Corpus.fromFiles reports the problem
  }
}

/** The line shown while a big text is read (`status` is a percentage or "done"), within the terminal's width. */
export function readingLine(file: string, status: string, columns: number | undefined): string {
  return fitLine(
    [`reading and indexing ${file}: ${status}`, `reading ${file}: ${status}`, `reading ${path.basename(file)}: ${status}`, `reading: ${status}`, status],
    columns
  );
}

/** --data's values as given: none (the demo corpus), one, or several. */
export type DataValues = readonly string[] | string | undefined | null;

/** The values of --data as a list (empty: the demo corpus). */
export function dataList(data: DataValues): string[] {
  return data === undefined || data === null ? [] : typeof data === 'string' ? [data] : [...data];
}

/**
 * The text of --data (several files joined by `separator`), or the built-in demo corpus. Progress
 * goes to stderr when it is a terminal.
 */
export function loadTrainingText(data: DataValues, showProgress = false, separator?: string): { corpus: Corpus; source: string } {
  const values = dataList(data);
  if (values.length === 0) return { corpus: Corpus.fromText(demoText(), DEMO_SOURCE), source: DEMO_SOURCE };
  const inputs = expandInputs(values);
  const source = values.length === 1 ? values[0] : `--data ${listed(values, 2)}`;
  const size = inputs.reduce((sum, input) => sum + fileSize(input.path), 0);
  let shown = false;
  const progress =
    showProgress && size > PROGRESS_FROM_BYTES
      ? (fraction: number) => {
          shown = true;
          process.stderr.write(`\r${readingLine(source, `${Math.floor(fraction * 100)}%`, process.stderr.columns)}\x1b[K`);
        }
      : undefined;
  const corpus = Corpus.fromFiles(inputs, { separator, source, onProgress: progress });
  if (shown) process.stderr.write(`\r${readingLine(source, 'done', process.stderr.columns)}\x1b[K\n`);
  return { corpus, source };
}

/** "skipped 2 binary files (a.png, b.zip) and 1 empty file (c.txt)", when files of a folder were left out. */
export function skippedLine(corpus: Corpus): string | undefined {
  const part = (why: 'binary' | 'empty') => {
    const files = corpus.skipped.filter((s) => s.why === why).map((s) => s.path);
    return files.length === 0 ? [] : [`${files.length} ${why} file${files.length === 1 ? '' : 's'} (${listed(files, 20)})`];
  };
  const parts = [...part('binary'), ...part('empty')];
  return parts.length === 0 ? undefined : `skipped ${parts.join(' and ')}`;
}
