// How a training run shows itself: JSON lines, plain lines (not a terminal), a live progress
// bar (a terminal), or only the final line (--quiet).
import { writeOut } from './commands/common';
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
      write(`step ${e.step}  epoch ${e.epoch}  loss ${e.loss.toFixed(3)}  smooth loss ${e.smoothLoss.toFixed(3)}  ${e.elapsed.toFixed(1)} s\n`);
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

function doneLine(e: Extract<RunEvent, { event: 'done' }>): string {
  const loss = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
  return (
    `done: step ${e.steps} in ${e.seconds.toFixed(2)} s (${Math.round(e.updatesPerSecond)} updates/s), ` +
    `smooth loss ${loss(e.smoothLoss)}, best ${loss(e.bestSmoothLoss)}; run directory ${e.out}`
  );
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** One live status line, redrawn at most ten times a second; samples print above it. */
class TerminalReporter implements Reporter {
  private lastDraw = 0;
  private line = '';

  event(e: RunEvent): void {
    if (e.event === 'sample') {
      this.clear();
      write(`${sampleHeading(e.step, e.smoothLoss)}\n${e.text}\n\n`);
      this.redraw();
    } else if (e.event === 'done') {
      this.clear();
      write(doneLine(e) + '\n');
    }
  }

  progress(p: Progress): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && p.step < p.steps) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((width * p.step) / p.steps);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const loss = p.smoothLoss === undefined ? '-' : p.smoothLoss.toFixed(3);
    this.line =
      `[${bar}] ${p.step}/${p.steps}  epoch ${p.epoch}  smooth loss ${loss}  ` +
      `${Math.round(p.updatesPerSecond)} updates/s  ETA ${formatDuration(p.eta)}`;
    this.redraw();
  }

  private clear(): void {
    if (this.line) write('\r\x1b[K');
  }

  private redraw(): void {
    if (this.line) write(`\r\x1b[K${this.line}`);
  }
}
