// The text chart of the smooth loss that `train` prints when it is done (terminal and plain modes).
import { plot } from 'asciichart';
import { existsSync } from 'fs';
import path from 'path';
import { UserError } from '../util/errors';
import { lowestValidation, readValCsv } from './plot';
import { readLossLog } from '../run/loss-log';
import { LossRow } from '../run/run-dir';
import { ValRow } from '../run/val-log';

const COLUMNS = 60;
const ROWS = 10;
/** Label width on a wide terminal (and when the width is unknown). */
const LABEL = 9;
/** Fewer points than this make no chart. */
const MIN_POINTS = 8;

/**
 * The smooth loss at most COLUMNS points wide, evenly spaced rows from the first to the last.
 * Given the terminal's columns, every line fits in them (the last column left free, as a full
 * line wraps on some terminals): fewer points and narrower labels, shorter words, or no chart.
 * With validation rows (val.csv), the last line gives the best and final validation loss instead
 * of the best smooth loss: the validation loss decides best.safetensors then.
 */
export function lossChart(rows: LossRow[], bestSmoothLoss: number | undefined, columns = Infinity, validation: ValRow[] = []): string {
  const width = columns - 1;
  const losses = rows.map((row) => row.smoothLoss);
  // asciichart draws a label, a space and the axis before the points.
  const compactLabel = Math.max(...[Math.min(...losses), Math.max(...losses)].map((x) => x.toFixed(2).length));
  const label = width - (LABEL + 2) >= COLUMNS ? LABEL : compactLabel;
  const points = Math.min(COLUMNS, rows.length, width - (label + 2));
  const series = Array.from({ length: points }, (_, i) => losses[Math.round((i * (rows.length - 1)) / Math.max(1, points - 1))]);
  const chart = points > 1 && (points >= MIN_POINTS || points === rows.length)
    ? plot(series, { height: ROWS, format: (x: number) => x.toFixed(2).padStart(label) })
    : '';
  const first = rows[0].step;
  const last = rows[rows.length - 1];
  const best = bestSmoothLoss === undefined ? '-' : bestSmoothLoss.toFixed(3);
  const final = last.smoothLoss.toFixed(3);
  // The first wording that fits, else the last one cut.
  const fit = (...wordings: string[]) => wordings.find((line) => line.length <= width) ?? wordings[wordings.length - 1].slice(0, width);
  return [
    fit(`smooth loss from step ${first} to ${last.step}:`, `smooth loss, steps ${first}-${last.step}:`, `steps ${first}-${last.step}:`),
    ...(chart ? [chart] : []),
    validation.length > 0
      ? validationLine(validation, final, fit)
      : fit(`best smooth loss ${best} (best.safetensors); final ${final}`, `best ${best}, final ${final}`, `best ${best}`),
  ].join('\n');
}

function validationLine(validation: ValRow[], finalSmooth: string, fit: (...wordings: string[]) => string): string {
  const best = lowestValidation(validation);
  const valBest = best.valLoss.toFixed(3);
  const valFinal = validation[validation.length - 1].valLoss.toFixed(3);
  return fit(
    `final smooth loss ${finalSmooth}; validation loss per character: best ${valBest} at step ${best.step} (best.safetensors), final ${valFinal}`,
    `validation loss: best ${valBest} at step ${best.step} (best.safetensors), final ${valFinal}`,
    `validation best ${valBest}, final ${valFinal}`,
    `val ${valBest}`
  );
}

/**
 * Prints the chart of RUN_DIR/loss.csv (and RUN_DIR/val.csv, if any), as wide as the terminal allows;
 * a file it cannot read costs a warning, not the run's exit code.
 */
export function printLossChart(runDir: string, bestSmoothLoss: number | undefined): void {
  let rows: LossRow[];
  let validation: ValRow[];
  try {
    rows = readLossLog(path.join(runDir, 'loss.csv')).drawn;
    const valPath = path.join(runDir, 'val.csv');
    validation = existsSync(valPath) ? readValCsv(valPath) : [];
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    process.stderr.write(`rnn-native: warning: no loss chart: ${error.message}\n`);
    return;
  }
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  process.stdout.write(lossChart(rows, bestSmoothLoss, columns, validation) + '\n');
}
