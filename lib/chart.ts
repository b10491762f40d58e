// The text chart of the smooth loss that `train` prints when it is done (terminal and plain modes).
import { plot } from 'asciichart';
import path from 'path';
import { UserError } from './errors';
import { readLossCsv } from './plot';
import { LossRow } from './run-dir';

const COLUMNS = 60;
const ROWS = 10;

/** The smooth loss at most COLUMNS points wide, evenly spaced rows from the first to the last. */
export function lossChart(rows: LossRow[], bestSmoothLoss: number | undefined): string {
  const columns = Math.min(COLUMNS, rows.length);
  const series = Array.from({ length: columns }, (_, i) => rows[Math.round((i * (rows.length - 1)) / Math.max(1, columns - 1))].smoothLoss);
  const chart = series.length > 1 ? plot(series, { height: ROWS, format: (x: number) => x.toFixed(2).padStart(9) }) : '';
  const last = rows[rows.length - 1];
  const best = bestSmoothLoss === undefined ? '-' : bestSmoothLoss.toFixed(3);
  return [
    `smooth loss from step ${rows[0].step} to ${last.step}:`,
    ...(chart ? [chart] : []),
    `best smooth loss ${best} (best.safetensors); final ${last.smoothLoss.toFixed(3)}`,
  ].join('\n');
}

/** Prints the chart of RUN_DIR/loss.csv; a loss.csv it cannot read costs a warning, not the run's exit code. */
export function printLossChart(runDir: string, bestSmoothLoss: number | undefined): void {
  let rows: LossRow[];
  try {
    rows = readLossCsv(path.join(runDir, 'loss.csv'));
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    process.stderr.write(`rnn-native: warning: no loss chart: ${error.message}\n`);
    return;
  }
  process.stdout.write(lossChart(rows, bestSmoothLoss) + '\n');
}
