// The text a command trains or checks on: the files --data names (lib/text/inputs.ts), or the
// built-in demo corpus.
import { statSync } from 'fs';
import path from 'path';
import { Corpus, DEFAULT_SEPARATOR, listed } from './corpus';
import { cachedCorpus, defaultCacheDir } from './token-cache';
import { demoText, DEMO_SOURCE } from './demo';
import { expandInputs } from './inputs';
import { fitLine, note } from '../util/output';

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

/** How loadTrainingText reads. */
export interface LoadOptions {
  /** Progress on stderr, when it is a terminal and the text is big. */
  showProgress?: boolean;
  separator?: string;
  /** The token cache's directory: texts of CACHE_FROM_BYTES or more go through it, and any text when it is given. */
  cacheDir?: string;
}

/** Texts this big are encoded into the token cache (and trained from it) rather than held in memory. */
export const CACHE_FROM_BYTES = 32 << 20;

/**
 * The text of --data (several files joined by `separator`), or the built-in demo corpus. Progress
 * goes to stderr when it is a terminal.
 */
export function loadTrainingText(data: DataValues, options: LoadOptions = {}): { corpus: Corpus; source: string } {
  const values = dataList(data);
  if (values.length === 0) return { corpus: Corpus.fromText(demoText(), DEMO_SOURCE), source: DEMO_SOURCE };
  const inputs = expandInputs(values);
  const source = values.length === 1 ? values[0] : `--data ${listed(values, 2)}`;
  const size = inputs.reduce((sum, input) => sum + fileSize(input.path), 0);
  const line = options.showProgress && size > PROGRESS_FROM_BYTES ? progressLine(source, size) : undefined;
  const separator = options.separator ?? DEFAULT_SEPARATOR;
  const corpus =
    options.cacheDir !== undefined || size >= CACHE_FROM_BYTES
      ? cachedCorpus(inputs, { dir: options.cacheDir ?? defaultCacheDir(), separator, source, onProgress: line?.show, onNote: note })
      : Corpus.fromFiles(inputs, { separator, source, onProgress: line?.show });
  line?.end();
  return { corpus, source };
}

/** The progress line of a big text: percent, megabytes, speed and time left, on stderr. */
function progressLine(source: string, size: number): { show: (fraction: number) => void; end: () => void } {
  const started = Date.now();
  let shown = false;
  const show = (fraction: number) => {
    shown = true;
    const seconds = (Date.now() - started) / 1000;
    const megabytes = (fraction * size) / 1e6; // of the text done (both passes read it)
    const speed = seconds > 0.5 ? megabytes / seconds : undefined;
    const left = speed !== undefined && fraction > 0 ? (seconds * (1 - fraction)) / fraction : undefined;
    const status = `${Math.floor(fraction * 100)}%${speed !== undefined ? `, ${speed.toFixed(0)} MB/s` : ''}${left !== undefined ? `, ${Math.ceil(left)} s left` : ''}`;
    process.stderr.write(`\r${readingLine(source, status, process.stderr.columns)}\x1b[K`);
  };
  const end = () => {
    if (shown) process.stderr.write(`\r${readingLine(source, 'done', process.stderr.columns)}\x1b[K\n`);
  };
  return { show, end };
}

/** "skipped 2 binary files (a.png, b.zip) and 1 empty file (c.txt)", when files of a folder were left out. */
export function skippedLine(corpus: Corpus): string | undefined {
  const part = (why: 'binary' | 'empty') => {
    const files = corpus.skipped.filter((s) => s.why === why).map((s) => shownPath(s.path));
    return files.length === 0 ? [] : [`${files.length} ${why} file${files.length === 1 ? '' : 's'} (${listed(files, 20)})`];
  };
  const parts = [...part('binary'), ...part('empty')];
  return parts.length === 0 ? undefined : `skipped ${parts.join(' and ')}`;
}

/** A path as one line shows it: JSON-quoted when it holds a control character (a newline, an escape). */
function shownPath(file: string): string {
  return /[\u0000-\u001f\u007f]/.test(file) ? JSON.stringify(file) : file;
}
