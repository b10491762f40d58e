// val.csv: the validation losses of a run with --val-fraction, one row per evaluation (its step,
// epoch, the loss in nats per character, and the training seconds so far). A file of its own, so
// that loss.csv keeps its five columns for everything that reads it.
import { UserError } from '../util/errors';

export const VAL_HEADER = 'step,epoch,val_loss,elapsed_s';

export interface ValRow {
  step: number;
  epoch: number;
  valLoss: number;
  elapsed: number;
}

export function formatValRow(row: ValRow): string {
  return [row.step, row.epoch, row.valLoss, row.elapsed.toFixed(3)].join(',');
}

/**
 * The rows of a val.csv. A last line without its newline (a run killed while appending it) is
 * dropped; any other line that is not a row, or a step that does not follow the one before, is a
 * UserError naming the file and line.
 */
export function parseValCsv(content: string, source: string): ValRow[] {
  const lines = content.split('\n');
  lines.pop(); // after the last newline: empty, or a row cut short
  const first = lines[0]?.replace(/\r$/, '') === VAL_HEADER ? 1 : 0;
  const rows = lines.slice(first).map((line, i) => parseValRow(line.replace(/\r$/, ''), `${source}: line ${first + i + 1}`));
  rows.forEach((row, i) => {
    if (i > 0 && row.step <= rows[i - 1].step) throw new UserError(`${source}: line ${first + i + 1}: step ${row.step} does not follow step ${rows[i - 1].step}`);
  });
  return rows;
}

function parseValRow(line: string, where: string): ValRow {
  const fields = line.split(',');
  const [step, epoch, valLoss, elapsed] = fields.map(Number);
  const counts = Number.isSafeInteger(step) && step >= 1 && Number.isSafeInteger(epoch) && epoch >= 1;
  if (fields.length !== 4 || fields.some((f) => f.trim() === '') || !counts || !(valLoss >= 0 && Number.isFinite(valLoss)) || !(elapsed >= 0)) {
    throw new UserError(`${where}: expected four numbers (${VAL_HEADER}), got ${JSON.stringify(line.slice(0, 80))}`);
  }
  return { step, epoch, valLoss, elapsed };
}

/** The file rewritten with its header and the rows up to `step` (a resume from that step's checkpoint). */
export function valCsvUpTo(content: string, source: string, step: number): string {
  const kept = parseValCsv(content, source).filter((row) => row.step <= step);
  return [VAL_HEADER, ...kept.map(formatValRow)].map((line) => line + '\n').join('');
}

/** A last line cut short (no newline after it, a run killed while appending it): its line number and its step when readable. */
export function cutValRow(content: string): { line: number; step?: number } | undefined {
  if (content === '' || content.endsWith('\n')) return undefined;
  const lines = content.split('\n');
  const step = /^(\d+),/.exec(lines[lines.length - 1]);
  return { line: lines.length, ...(step ? { step: Number(step[1]) } : {}) };
}
