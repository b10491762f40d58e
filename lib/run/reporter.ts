// How a training run shows itself: JSON lines, plain lines (not a terminal), a live progress
// bar (a terminal), or only the final line (--quiet).
import { wrapWords, writeOut } from '../util/output';
import { sampleHeading } from './run-dir';
import { Progress, Reporter, RunEvent } from './run';

export type OutputMode = 'json' | 'plain' | 'tty' | 'quiet';

const write = writeOut;

export function createReporter(mode: OutputMode): Reporter {
  switch (mode) {
    case 'json':
      return { event: (e) => write(JSON.stringify(e) + '\n'), progress: () => {} };
    case 'plain':
      return { event: (e) => writePlain(e), progress: () => {} };
    case 'quiet':
      return { event: (e) => e.event === 'done' && write(doneLine(e) + '\n'), progress: () => {} };
    case 'tty':
      return new TerminalReporter();
  }
}

function writePlain(e: RunEvent): void {
  switch (e.event) {
    case 'log':
      write(`step ${e.step}  epoch ${e.epoch}  loss ${e.loss.toFixed(3)}  smooth loss ${e.smoothLoss.toFixed(3)} (${e.smoothBitsPerCharacter.toFixed(3)} bits/char)  ${e.elapsed.toFixed(1)} s\n`);
      return;
    case 'val':
      write(valLine(e) + '\n');
      return;
    case 'sample':
      write(`${sampleHeading(e.step, e.smoothLoss)}\n${e.text}\n---\n`);
      return;
    case 'checkpoint':
      write(`checkpoint at step ${e.step}: ${e.path}${e.best ? ' (also best.safetensors)' : ''}\n`);
      return;
    case 'done':
      write(doneLine(e) + '\n');
  }
}

function valLine(e: Extract<RunEvent, { event: 'val' }>): string {
  return `step ${e.step}  epoch ${e.epoch}  validation loss ${e.valLoss.toFixed(4)} nats/char${e.best ? ' (best so far)' : ''}`;
}

function doneLine(e: Extract<RunEvent, { event: 'done' }>): string {
  const loss = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
  // With validation, best.safetensors is the lowest validation loss's, not the lowest smooth loss's.
  const best = e.bestValLoss === undefined ? `best ${loss(e.bestSmoothLoss)}` : `best validation loss ${e.bestValLoss.toFixed(4)} nats/char`;
  // A run that ended before its last step says why first.
  const why = e.stop === 'steps' ? '' : `${e.reason}; `;
  return (
    `done: ${why}step ${e.steps} in ${e.seconds.toFixed(2)} s (${updateRate(e.updatesPerSecond)} updates/s), ` +
    `smooth loss ${loss(e.smoothLoss)}${e.smoothBitsPerCharacter === undefined ? '' : ` (${e.smoothBitsPerCharacter.toFixed(2)} bits/char)`}, ${best}; run directory ${e.out}`
  );
}

/**
 * A line too wide for the terminal, broken after its clauses (", smooth loss", "; run directory")
 * instead of wherever the terminal would wrap it.
 */
export function fitLines(line: string, columns: number): string {
  if (line.length < columns) return line;
  const clauses = line.replace(/; (?=step \d)|, (?=smooth loss )|, (?=best validation loss )|; (?=run directory )/g, '\n').split('\n');
  // A clause still too wide is wrapped between its words.
  return clauses.map((clause) => wrapWords(clause.split(' '), columns)).join('\n');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** A field of the live line, in display order. `rank` 1 is kept longest as the terminal narrows. */
interface Field {
  rank: number;
  full: string;
  short: string;
}

/** The progress bar takes what the other fields leave, within these widths (brackets excluded). */
const MAX_BAR = 24;
const MIN_BAR = 10;
/** The width assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;

/**
 * The live line for a terminal of `columns` columns, never longer than columns − 1 (a line that
 * fills the last column wraps on some terminals): the fields of least rank are dropped first
 * (epoch, updates/s, the bar), then the rest take their short forms, then fewer of them; as a last
 * resort the step is cut.
 */
export function statusLine(p: Progress, columns: number): string {
  const width = Math.max(1, columns - 1);
  const loss = p.smoothLoss === undefined ? '-' : p.smoothLoss.toFixed(3);
  const bits = p.smoothBitsPerCharacter?.toFixed(2);
  const speed = updateRate(p.updatesPerSecond);
  const bar = { rank: 5, full: '', short: '' }; // drawn once its width is known
  const fields: Field[] = [
    bar,
    { rank: 1, full: `${p.step}/${p.steps}`, short: `${p.step}/${p.steps}` },
    // During a long validation pass: how far it is, beside the step it evaluates.
    ...(p.validation === undefined ? [] : [{ rank: 1, full: `validating ${Math.floor(100 * p.validation)}%`, short: `val ${Math.floor(100 * p.validation)}%` }]),
    { rank: 6, full: `epoch ${p.epoch}`, short: `ep ${p.epoch}` },
    { rank: 2, full: `smooth loss ${loss}${bits === undefined ? '' : ` (${bits} bits/char)`}`, short: `loss ${loss}` },
    { rank: 4, full: `${speed} updates/s`, short: `${speed}/s` },
    { rank: 3, full: `ETA ${formatDuration(p.eta)}`, short: `ETA ${formatDuration(p.eta)}` },
  ];
  const layouts = [
    ...[6, 5, 4, 3].map((keep) => ({ keep, form: 'full' as const, separator: '  ' })),
    ...[3, 2, 1].map((keep) => ({ keep, form: 'short' as const, separator: ' ' })),
  ];
  for (const { keep, form, separator } of layouts) {
    const kept = fields.filter((field) => field.rank <= keep);
    const text = kept.filter((field) => field !== bar).map((field) => field[form]);
    const rest = text.join(separator).length;
    if (!kept.includes(bar)) {
      if (rest <= width) return text.join(separator);
      continue;
    }
    const barWidth = Math.min(MAX_BAR, width - rest - separator.length - 2);
    if (barWidth < MIN_BAR) continue;
    const filled = Math.round(barWidth * (p.fraction ?? p.step / p.steps));
    return [`[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`, ...text].join(separator);
  }
  return fields[1].short.slice(0, width);
}

/**
 * One live status line, redrawn at most ten times a second and at once when the terminal is
 * resized, always within its width; samples print above it.
 */
class TerminalReporter implements Reporter {
  private lastDraw = 0;
  private last: Progress | undefined;
  /** The line on the screen ('' when none). */
  private line = '';
  private drawScheduled = false;
  private done = false;
  private readonly onResize = () => this.draw();

  constructor() {
    process.stdout.on('resize', this.onResize);
  }

  event(e: RunEvent): void {
    if (e.event === 'sample') {
      this.clear();
      write(`${sampleHeading(e.step, e.smoothLoss)}\n${e.text}\n\n`);
      this.draw();
    } else if (e.event === 'val') {
      // The pass is over: the line no longer shows its progress.
      if (this.last) this.last = { ...this.last, validation: undefined };
      this.clear();
      write(fitLines(valLine(e), this.columns()) + '\n');
      this.draw();
    } else if (e.event === 'done') {
      this.done = true;
      process.stdout.off('resize', this.onResize);
      this.clear();
      write(fitLines(doneLine(e), this.columns()) + '\n');
    }
  }

  /**
   * Draws after the pending events: a resize during a chunk of training is then known (its
   * 'resize' event comes with them) before a line of the old width reaches the narrowed terminal.
   */
  progress(p: Progress): void {
    this.last = p;
    const now = Date.now();
    if (now - this.lastDraw < 100 && p.step < p.steps) return;
    this.lastDraw = now;
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    setImmediate(() => {
      this.drawScheduled = false;
      this.draw();
    });
  }

  private columns(): number {
    return process.stdout.columns || DEFAULT_COLUMNS;
  }

  /**
   * Clears the line. A terminal that reflows its lines when it narrows (tmux, VTE, iTerm2,
   * Windows Terminal) has wrapped a line longer than the new width onto more rows, the cursor on
   * the last one: those rows are cleared too, one by one (erasing to the end of the screen from
   * its top row makes tmux push the screen into its history).
   */
  private clear(): void {
    if (!this.line) return;
    const wrappedRows = Math.ceil(this.line.length / this.columns()) - 1;
    write('\r\x1b[K' + '\x1b[A\x1b[K'.repeat(Math.max(0, wrappedRows)));
    this.line = '';
  }

  private draw(): void {
    if (!this.last || this.done) return;
    this.clear();
    this.line = statusLine(this.last, this.columns());
    write(this.line);
  }
}

/** Updates per second as a person reads them: whole numbers from 10 on, two significant digits below (a big model's 0.04, not 0). */
export function updateRate(perSecond: number): string {
  if (!(perSecond > 0)) return '0';
  return perSecond >= 10 ? String(Math.round(perSecond)) : String(Number(perSecond.toPrecision(2)));
}
