// loss.csv of any length, read in bounded memory: its lines stream past (lib/util/files.ts forEachLine),
// are checked by the rules parseLossCsv states, and summed up as they go. The figures the tools print
// (last row, lowest smooth loss, extent) are exact; only the rows kept to draw are thinned.
import { forEachLine } from '../util/files';
import { UserError } from '../util/errors';
import { LOSS_HEADER, LossRow, parseLossRow, quoteLine } from './run-dir';

/** The most rows kept to draw: a log this long keeps all; a longer one every k-th row (k a power of two) and its last. */
export const DRAWN_ROWS = 4096;

/** What the tools need of loss.csv: exact figures over every row, and the rows a chart draws. */
export interface LossLog {
  /** How many rows it holds. */
  count: number;
  first: LossRow;
  last: LossRow;
  /** The row of the lowest smooth loss (the first, if tied). */
  lowest: LossRow;
  /** The lowest and highest loss or smooth loss of any row. */
  extent: [number, number];
  /** Every row of a log of up to DRAWN_ROWS rows; of a longer one, every k-th row from the first, and the last. */
  drawn: LossRow[];
  /** The first row of each new epoch (of a log of more than DRAWN_ROWS epochs, every k-th of them). */
  epochStarts: LossRow[];
}

/**
 * Checks loss.csv line by line as parseLossCsv does: the header first, then rows whose steps
 * increase; blank lines only at the end. A line that is not a row is refused at once; steps that do
 * not increase are refused at the end, so that a damaged line anywhere is named first, as a whole
 * parse names it.
 */
export class LossCsvChecker {
  private blankSince: number | undefined;
  /** The last line checked: 0 none, 1 the header. */
  private lastLine = 0;
  private previous: LossRow | undefined;
  private orderError: UserError | undefined;

  constructor(
    private readonly source: string,
    private readonly onRow: (row: LossRow) => void
  ) {}

  line(text: string, number: number): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line === '') {
      this.blankSince ??= number;
      return;
    }
    // A blank line followed by another line is a line that is not a row.
    if (this.blankSince !== undefined) this.check('', this.blankSince);
    this.check(line, number);
  }

  private check(line: string, number: number): void {
    this.lastLine = number;
    if (number === 1) {
      if (line !== LOSS_HEADER) throw new UserError(`${this.source}: line 1 is ${quoteLine(line)}, expected the header ${LOSS_HEADER}`);
      return;
    }
    const row = parseLossRow(line, `${this.source}: line ${number}`);
    if (this.previous && row.step <= this.previous.step && !this.orderError) {
      this.orderError = new UserError(`${this.source}: line ${number}: step ${row.step} does not follow step ${this.previous.step}; steps must increase`);
    }
    this.previous = row;
    this.onRow(row);
  }

  /** Refuses a file without rows, or whose steps do not increase. */
  finish(): void {
    if (this.lastLine === 0) throw new UserError(`${this.source}: is empty; expected the header ${LOSS_HEADER} and rows`);
    if (this.lastLine === 1) throw new UserError(`${this.source}: has a header but no rows yet`);
    if (this.orderError) throw this.orderError;
  }
}

/** Sums rows up as they come: exact figures, and the rows to draw thinned to at most about DRAWN_ROWS. */
export class LossLogBuilder {
  private count = 0;
  private first: LossRow | undefined;
  private last: LossRow | undefined;
  private lowest: LossRow | undefined;
  private low = Infinity;
  private high = -Infinity;
  private readonly drawn = new EveryKth<LossRow>();
  private readonly epochStarts = new EveryKth<LossRow>();

  add(row: LossRow): void {
    if (this.last && row.epoch > this.last.epoch) this.epochStarts.add(row);
    this.drawn.add(row);
    this.first ??= row;
    this.last = row;
    if (!this.lowest || row.smoothLoss < this.lowest.smoothLoss) this.lowest = row;
    this.low = Math.min(this.low, row.loss, row.smoothLoss);
    this.high = Math.max(this.high, row.loss, row.smoothLoss);
    this.count++;
  }

  /** The log; undefined when no row was added. */
  finish(): LossLog | undefined {
    if (!this.first || !this.last || !this.lowest) return undefined;
    const drawn = this.drawn.items();
    if (drawn[drawn.length - 1] !== this.last) drawn.push(this.last);
    return { count: this.count, first: this.first, last: this.last, lowest: this.lowest, extent: [this.low, this.high], drawn, epochStarts: this.epochStarts.items() };
  }
}

/** Keeps the items whose index is a multiple of k, k doubling whenever more than DRAWN_ROWS are kept. */
class EveryKth<T> {
  private kept: T[] = [];
  private stride = 1;
  private seen = 0;

  add(item: T): void {
    if (this.seen++ % this.stride !== 0) return;
    this.kept.push(item);
    if (this.kept.length > DRAWN_ROWS) {
      this.kept = this.kept.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  items(): T[] {
    return [...this.kept];
  }
}

/** The log of rows already in memory: every row is drawn (the drawing thins them itself). */
export function lossLogOf(rows: LossRow[]): LossLog {
  const builder = new LossLogBuilder();
  for (const row of rows) builder.add(row);
  const log = builder.finish();
  if (!log) throw new UserError('no loss rows to plot');
  return { ...log, drawn: rows };
}

/** Reads and checks loss.csv as a stream; damage is a UserError naming the line, as parseLossCsv's. */
export function readLossLog(file: string, source = file): LossLog {
  const builder = new LossLogBuilder();
  const checker = new LossCsvChecker(source, (row) => builder.add(row));
  forEachLine(file, (line) => checker.line(line.text, line.number));
  checker.finish();
  return builder.finish()!;
}

/**
 * loss.csv of a run that may still be training: a last line without a newline (a row being
 * appended) is left out, and a file that is empty or holds only the header has no log (undefined).
 */
export function readGrowingLossLog(file: string, source = file): LossLog | undefined {
  const builder = new LossLogBuilder();
  const checker = new LossCsvChecker(source, (row) => builder.add(row));
  let wholeLines = 0;
  let onlyHeader = false;
  forEachLine(file, (line) => {
    if (!line.terminated) return false;
    wholeLines++;
    onlyHeader = line.number === 1 && line.text.replace(/\r$/, '') === LOSS_HEADER;
    checker.line(line.text, line.number);
  });
  if (wholeLines === 0 || onlyHeader) return undefined;
  checker.finish();
  return builder.finish();
}

/** Every row of loss.csv, read as a stream (no copy of the file's text is held): rows only a caller that needs them all keeps. */
export function readLossRows(file: string, source = file): LossRow[] {
  const rows: LossRow[] = [];
  const checker = new LossCsvChecker(source, (row) => rows.push(row));
  forEachLine(file, (line) => checker.line(line.text, line.number));
  checker.finish();
  return rows;
}

/** parseLossCsv's rules on text in memory. */
export function parseLossText(text: string, source: string): LossRow[] {
  const rows: LossRow[] = [];
  const checker = new LossCsvChecker(source, (row) => rows.push(row));
  text.split('\n').forEach((line, i) => checker.line(line, i + 1));
  checker.finish();
  return rows;
}
