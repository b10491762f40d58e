// The loss plot of a run: loss.csv read and checked, an SVG written here (no browser library),
// and a PNG of it rendered by resvg.
import { existsSync, statSync } from 'fs';
import path from 'path';
import escapeMarkup from 'escape-html';
import { UserError } from '../util/errors';
import { readUserFile, writeFileAtomic } from '../util/files';
import { readRunConfig } from '../run/run-config';
import { LossRow } from '../run/run-dir';
import { LossLog, lossLogOf, parseLossText, readLossLog, readLossRows } from '../run/loss-log';
import { parseValCsv, ValRow } from '../run/val-log';

// ---------------------------------------------------------------------------------------------
// loss.csv

/** loss.csv of a run directory, or the path itself when it is a file. */
export function lossCsvPath(input: string): string {
  if (!existsSync(input)) throw new UserError(`${input}: no such file or directory`);
  if (!statSync(input).isDirectory()) return input;
  const csv = path.join(input, 'loss.csv');
  if (!existsSync(csv)) throw new UserError(`${input}: holds no loss.csv (not a run directory, or nothing was logged yet)`);
  return csv;
}

/** Every row of loss.csv, checked (parseLossCsv's rules). Holds them all: to plot or sum up a log of any length, readLossLog reads it in bounded memory. */
export function readLossCsv(file: string): LossRow[] {
  return readLossRows(file);
}

/** The rows of loss.csv; anything else than the format train writes is a UserError naming the line. */
export function parseLossCsv(text: string, source: string): LossRow[] {
  return parseLossText(text, source);
}

// ---------------------------------------------------------------------------------------------
// val.csv

/** The validation curve of a run: val.csv's rows, and the seqLength that puts the smooth loss per character. */
export interface ValidationCurve {
  rows: ValRow[];
  /** config.json's seqLength: smooth loss ÷ seqLength is the smooth loss per character. */
  seqLength: number;
}

export function readValCsv(file: string): ValRow[] {
  return parseValCsv(readUserFile(file).toString('utf8'), file);
}

/**
 * val.csv beside loss.csv, with config.json's seqLength, when it holds at least one row; a run
 * without validation has none. A damaged val.csv or config.json is a UserError.
 */
export function readValidationCurve(runDir: string): ValidationCurve | undefined {
  const valPath = path.join(runDir, 'val.csv');
  if (!existsSync(valPath)) return undefined;
  const rows = readValCsv(valPath);
  if (rows.length === 0) return undefined;
  const config = readRunConfig(path.join(runDir, 'config.json'), 'keep');
  if (!config) throw new UserError(`${valPath}: has no config.json beside it (its seqLength puts the smooth loss per character, as the validation loss is)`);
  return { rows, seqLength: config.seqLength as number };
}

// ---------------------------------------------------------------------------------------------
// The SVG

export const WIDTH = 800;
export const HEIGHT = 450;
export const MARGIN = { left: 78, right: 24, top: 62, bottom: 56 };
export const FONT = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif";
export const SMOOTH_COLOR = '#1f5fa8';
const LOSS_COLOR = '#e08a2c';
export const VAL_COLOR = '#2a8c3e';
const EPOCH_COLOR = '#9a9a9a';

export interface Scale {
  (value: number): number;
  ticks: number[];
  /** The values at the two ends, after widening. */
  domain: [number, number];
}

/** A round tick spacing that divides (hi - lo) into about tickCount steps. */
function niceStep(lo: number, hi: number, tickCount: number): number {
  const rough = (hi - lo) / tickCount;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
}

/** A linear scale over [lo, hi] widened to round tick values, mapped onto [from, to] pixels. */
export function niceScale(lo: number, hi: number, from: number, to: number, tickCount: number): Scale {
  if (hi - lo < 1e-9 * Math.max(1, Math.abs(hi))) [lo, hi] = [lo - 1, hi + 1];
  const step = niceStep(lo, hi, tickCount);
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const scale = ((value: number) => from + ((value - start) / (end - start)) * (to - from)) as Scale;
  scale.ticks = [];
  for (let i = 0; start + i * step <= end + step * 1e-9; i++) scale.ticks.push(round(start + i * step));
  scale.domain = [start, end];
  return scale;
}

/** Round tick values inside [lo, hi], not widened: the right axis shares the left one's ends. */
function ticksWithin(lo: number, hi: number, tickCount: number): number[] {
  const step = niceStep(lo, hi, tickCount);
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(round(i * step));
  return ticks;
}

function round(value: number): number {
  return Number(value.toPrecision(12));
}

/** 20000 → "20k", 1500000 → "1.5M": step labels stay short. */
function stepLabel(value: number): string {
  if (Math.abs(value) >= 1e6) return `${round(value / 1e6)}M`;
  if (Math.abs(value) >= 1e4) return `${round(value / 1e3)}k`;
  return String(value);
}

export const px = (value: number) => value.toFixed(1);

/** At most ~2 points per pixel column: long runs keep the curve's shape, not every row. */
export function thin<T>(items: T[], limit: number): T[] {
  if (items.length <= limit) return items;
  const stride = items.length / limit;
  const kept: T[] = [];
  for (let i = 0; i < limit; i++) kept.push(items[Math.floor(i * stride)]);
  kept.push(items[items.length - 1]);
  return kept;
}

export function polyline(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)},${px(y)}`).join(' ');
}

/** [min of low(row), max of high(row)], in a loop: spreading a million rows into Math.min overflows the stack. */
function extent<Row>(rows: Row[], low: (row: Row) => number, high: (row: Row) => number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const row of rows) {
    min = Math.min(min, low(row));
    max = Math.max(max, high(row));
  }
  return [min, max];
}

/** The first logged row of each new epoch. */
export function epochStarts(rows: LossRow[]): LossRow[] {
  return rows.filter((row, i) => i > 0 && row.epoch > rows[i - 1].epoch);
}

export interface PlotOptions {
  /** Shown in the title, e.g. the run directory's name. */
  name?: string;
  /** The validation losses (val.csv), drawn with a second axis in nats per character; none: the plot of a run without validation. */
  validation?: ValidationCurve;
}

/** The SVG document: smooth loss, the logged per-update loss (faint), epoch starts, axes, legend. */
export function lossPlotSvg(rows: LossRow[], options: PlotOptions = {}): string {
  if (rows.length === 0) throw new UserError('no loss rows to plot');
  return lossLogSvg(lossLogOf(rows), options);
}

/** lossPlotSvg of a log read as a stream: its exact figures, and the rows it keeps to draw. */
export function lossLogSvg(log: LossLog, options: PlotOptions = {}): string {
  if (options.validation && options.validation.rows.length > 0) return validationPlotSvg(log, options.validation, options.name);
  const plot = { x0: MARGIN.left, x1: WIDTH - MARGIN.right, y0: HEIGHT - MARGIN.bottom, y1: MARGIN.top };
  const [lo, hi] = log.extent;
  const x = niceScale(0, log.last.step, plot.x0, plot.x1, 8);
  const y = niceScale(lo, hi, plot.y0, plot.y1, 6);
  const shown = thin(log.drawn, 2 * (plot.x1 - plot.x0));
  const title = `Smooth loss${options.name ? ` of ${options.name}` : ''}`;
  const subtitle = runSummary(log);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${plot.x0}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeMarkup(title)}</text>`,
    `<text x="${plot.x0}" y="42" fill="#555">${escapeMarkup(subtitle)}</text>`,
    grid(x, y, plot),
    epochLines(log.epochStarts, x, plot),
    `<path class="loss" d="${polyline(shown.map((r) => [x(r.step), y(r.loss)]))}" fill="none" stroke="${LOSS_COLOR}" stroke-opacity="0.45" stroke-width="1"/>`,
    `<path class="smooth-loss" d="${polyline(shown.map((r) => [x(r.step), y(r.smoothLoss)]))}" fill="none" stroke="${SMOOTH_COLOR}" stroke-width="2.2" stroke-linejoin="round"/>`,
    axes(x, y, plot),
    legend(plot, legendEntries(log.epochStarts.length > 0), 244),
    '</svg>',
  ].join('\n');
}

/** "N updates, E epochs, final smooth loss X, lowest Y": the plot's subtitle. */
function runSummary({ last, lowest }: LossLog): string {
  return (
    `${last.step.toLocaleString('en-US')} updates, ${last.epoch} epoch${last.epoch === 1 ? '' : 's'}, final smooth loss ${last.smoothLoss.toFixed(2)}, ` +
    `lowest ${lowest.smoothLoss.toFixed(2)}`
  );
}

/** Room on the right for the axis in nats per character, and on top for a second line of subtitle. */
const VALIDATION_MARGIN = { ...MARGIN, right: 74, top: 78 };

/**
 * With validation: the same curves, the validation loss too, and one y scale read in two units. The
 * left axis stays in nats per sequence (the unit of the smooth loss wherever else it is quoted); the
 * right axis is that scale ÷ seqLength, nats per character, the unit of the validation loss. Being one
 * scale (like °C beside °F), heights compare truly: where the validation curve runs above the smooth
 * loss, it is above the smooth loss per character.
 */
function validationPlotSvg(log: LossLog, validation: ValidationCurve, name: string | undefined): string {
  const { rows: valRows, seqLength } = validation;
  const plot = { x0: MARGIN.left, x1: WIDTH - VALIDATION_MARGIN.right, y0: HEIGHT - MARGIN.bottom, y1: VALIDATION_MARGIN.top };
  const lastStep = Math.max(log.last.step, valRows[valRows.length - 1].step);
  const [lo, hi] = log.extent;
  const [valLo, valHi] = extent(valRows, (row) => row.valLoss, (row) => row.valLoss);
  const x = niceScale(0, lastStep, plot.x0, plot.x1, 8);
  const y = niceScale(Math.min(lo, valLo * seqLength), Math.max(hi, valHi * seqLength), plot.y0, plot.y1, 6);
  const shown = thin(log.drawn, 2 * (plot.x1 - plot.x0));
  const valShown = thin(valRows, 2 * (plot.x1 - plot.x0));
  const valPoints: [number, number][] = valShown.map((r) => [x(r.step), y(r.valLoss * seqLength)]);
  // Evaluations are sparse: a dot on each shows where the line is measured, unless they crowd.
  const dots = valShown.length <= 80 ? valPoints.map(([cx, cy]) => `<circle cx="${px(cx)}" cy="${px(cy)}" r="2.6"/>`).join('') : '';
  const title = `Smooth and validation loss${name ? ` of ${name}` : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${plot.x0}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeMarkup(title)}</text>`,
    `<text x="${plot.x0}" y="42" fill="#555">${escapeMarkup(runSummary(log))}</text>`,
    `<text x="${plot.x0}" y="59" fill="#555">${escapeMarkup(validationSummary(log, validation))}</text>`,
    grid(x, y, plot),
    epochLines(log.epochStarts, x, plot),
    `<path class="loss" d="${polyline(shown.map((r) => [x(r.step), y(r.loss)]))}" fill="none" stroke="${LOSS_COLOR}" stroke-opacity="0.45" stroke-width="1"/>`,
    `<path class="smooth-loss" d="${polyline(shown.map((r) => [x(r.step), y(r.smoothLoss)]))}" fill="none" stroke="${SMOOTH_COLOR}" stroke-width="2.2" stroke-linejoin="round"/>`,
    `<path class="val-loss" d="${polyline(valPoints)}" fill="none" stroke="${VAL_COLOR}" stroke-width="2.2" stroke-linejoin="round"/>`,
    `<g class="val-points" fill="${VAL_COLOR}">${dots}</g>`,
    axes(x, y, plot),
    perCharacterAxis(y, seqLength, plot),
    legend(plot, validationLegendEntries(seqLength, log.epochStarts.length > 0), 330),
    '</svg>',
  ].join('\n');
}

/** "per character: final validation loss X, lowest Y (step S); final smooth loss Z": the second subtitle. */
function validationSummary(log: LossLog, { rows: valRows, seqLength }: ValidationCurve): string {
  const best = lowestValidation(valRows);
  return (
    `per character: final validation loss ${valRows[valRows.length - 1].valLoss.toFixed(3)}, ` +
    `lowest ${best.valLoss.toFixed(3)} (step ${best.step.toLocaleString('en-US')}); ` +
    `final smooth loss ${(log.last.smoothLoss / seqLength).toFixed(3)}`
  );
}

/** The row of the lowest validation loss (the first, if tied: the checkpoint kept as best). */
export function lowestValidation(rows: ValRow[]): ValRow {
  return rows.reduce((best, row) => (row.valLoss < best.valLoss ? row : best));
}

/** The right axis: the left one's scale ÷ seqLength, ticked at round values in nats per character. */
function perCharacterAxis(y: Scale, seqLength: number, p: Box): string {
  const [start, end] = y.domain;
  const at = (perCharacter: number) => px(y(perCharacter * seqLength));
  const ticks = ticksWithin(start / seqLength, end / seqLength, 6).map(
    (t) => `<line x1="${p.x1}" y1="${at(t)}" x2="${p.x1 + 5}" y2="${at(t)}"/><text x="${p.x1 + 8}" y="${px(y(t * seqLength) + 4)}" text-anchor="start" stroke="none">${t}</text>`
  );
  const middleY = (p.y0 + p.y1) / 2;
  const labelX = WIDTH - 16;
  return [
    `<g class="axis-per-character" stroke="#444" fill="#333">`,
    `<line x1="${p.x1}" y1="${p.y0}" x2="${p.x1}" y2="${p.y1}"/>`,
    ...ticks,
    `<text x="${labelX}" y="${middleY}" transform="rotate(90 ${labelX} ${middleY})" text-anchor="middle" stroke="none" font-size="13">nats per character (left ÷ ${seqLength})</text>`,
    '</g>',
  ].join('\n');
}

export type Box = { x0: number; x1: number; y0: number; y1: number };

export function grid(x: Scale, y: Scale, p: Box): string {
  const vertical = x.ticks.map((t) => `<line x1="${px(x(t))}" y1="${p.y0}" x2="${px(x(t))}" y2="${p.y1}"/>`);
  const horizontal = y.ticks.map((t) => `<line x1="${p.x0}" y1="${px(y(t))}" x2="${p.x1}" y2="${px(y(t))}"/>`);
  return `<g class="grid" stroke="#ececec" stroke-width="1">${[...vertical, ...horizontal].join('')}</g>`;
}

export function axes(x: Scale, y: Scale, p: Box, yLabel = 'loss (nats per sequence)'): string {
  const xTicks = x.ticks.map(
    (t) => `<line x1="${px(x(t))}" y1="${p.y0}" x2="${px(x(t))}" y2="${p.y0 + 5}"/><text x="${px(x(t))}" y="${p.y0 + 19}" text-anchor="middle" stroke="none">${stepLabel(t)}</text>`
  );
  const yTicks = y.ticks.map(
    (t) => `<line x1="${p.x0 - 5}" y1="${px(y(t))}" x2="${p.x0}" y2="${px(y(t))}"/><text x="${p.x0 - 8}" y="${px(y(t) + 4)}" text-anchor="end" stroke="none">${t}</text>`
  );
  const middleY = (p.y0 + p.y1) / 2;
  return [
    `<g class="axes" stroke="#444" fill="#333">`,
    `<line x1="${p.x0}" y1="${p.y0}" x2="${p.x1}" y2="${p.y0}"/><line x1="${p.x0}" y1="${p.y0}" x2="${p.x0}" y2="${p.y1}"/>`,
    ...xTicks,
    ...yTicks,
    `<text x="${(p.x0 + p.x1) / 2}" y="${HEIGHT - 12}" text-anchor="middle" stroke="none" font-size="13">update step</text>`,
    `<text x="20" y="${middleY}" transform="rotate(-90 20 ${middleY})" text-anchor="middle" stroke="none" font-size="13">${yLabel}</text>`,
    '</g>',
  ].join('\n');
}

/** Dashed lines where an epoch starts; labels only where they do not crowd each other. */
function epochLines(starts: LossRow[], x: Scale, p: Box): string {
  const lines: string[] = [];
  let lastLine = -Infinity;
  let lastLabel = -Infinity;
  for (const row of starts) {
    const at = x(row.step);
    if (at - lastLine < 3) continue;
    lastLine = at;
    lines.push(`<line x1="${px(at)}" y1="${p.y0}" x2="${px(at)}" y2="${p.y1}" stroke="${EPOCH_COLOR}" stroke-dasharray="4 3"/>`);
    if (at - lastLabel >= 52 && p.x1 - at >= 44) {
      lastLabel = at;
      lines.push(`<text x="${px(at + 3)}" y="${p.y1 + 11}" fill="#777" font-size="10">epoch ${row.epoch}</text>`);
    }
  }
  return `<g class="epochs">${lines.join('')}</g>`;
}

/** A legend entry: the line's stroke attributes and its label. */
type LegendEntry = [string, string];

const EPOCH_ENTRY: LegendEntry = [`stroke="${EPOCH_COLOR}" stroke-dasharray="4 3"`, 'epoch starts (first logged step)'];

function legendEntries(withEpochs: boolean): LegendEntry[] {
  const entries: LegendEntry[] = [
    [`stroke="${SMOOTH_COLOR}" stroke-width="2.2"`, 'smooth loss'],
    [`stroke="${LOSS_COLOR}" stroke-opacity="0.45"`, 'loss of each logged update'],
  ];
  return withEpochs ? [...entries, EPOCH_ENTRY] : entries;
}

function validationLegendEntries(seqLength: number, withEpochs: boolean): LegendEntry[] {
  const entries: LegendEntry[] = [
    [`stroke="${SMOOTH_COLOR}" stroke-width="2.2"`, `smooth training loss (÷ ${seqLength}: per character)`],
    [`stroke="${LOSS_COLOR}" stroke-opacity="0.45"`, 'loss of each logged update'],
    [`stroke="${VAL_COLOR}" stroke-width="2.2"`, 'validation loss (per character, right axis)'],
  ];
  return withEpochs ? [...entries, EPOCH_ENTRY] : entries;
}

function legend(p: Box, entries: LegendEntry[], width: number): string {
  const left = p.x1 - width - 8;
  const top = p.y1 + 18;
  const rows = entries.map(
    ([stroke, label], i) =>
      `<line x1="${left + 10}" y1="${top + 14 + i * 18}" x2="${left + 38}" y2="${top + 14 + i * 18}" ${stroke}/>` +
      `<text x="${left + 46}" y="${top + 18 + i * 18}" fill="#333">${label}</text>`
  );
  return (
    `<g class="legend"><rect x="${left}" y="${top}" width="${width}" height="${entries.length * 18 + 10}" ` +
    `fill="#ffffff" fill-opacity="0.9" stroke="#cccccc"/>${rows.join('')}</g>`
  );
}

// ---------------------------------------------------------------------------------------------
// Files

/** The SVG rendered to PNG at twice its size, with the system's fonts. */
export function renderPng(svg: string): Buffer {
  // Loaded here so that commands without a plot never load the renderer's binary.
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}

export interface LossPlot {
  /** The loss.csv it plots. */
  csvPath: string;
  /** The rows drawn: all of a log of up to DRAWN_ROWS (4,096) rows; of a longer one, every k-th row and the last. */
  rows: LossRow[];
  svg: string;
  /** val.csv's rows and the run's seqLength, when val.csv beside loss.csv holds any rows. */
  validation?: ValidationCurve;
}

/** Reads and checks RUN_DIR/loss.csv (or a loss.csv path), and val.csv beside it if any, and draws them; writes nothing. */
export function buildLossPlot(input: string): LossPlot {
  return drawLossPlot(input).plot;
}

/** buildLossPlot, with the log's exact figures (last row, lowest smooth loss) for the report. */
export function drawLossPlot(input: string): { plot: LossPlot; log: LossLog } {
  const csvPath = lossCsvPath(input);
  const log = readLossLog(csvPath);
  const runDir = path.dirname(path.resolve(csvPath));
  const validation = readValidationCurve(runDir);
  const svg = lossLogSvg(log, { name: path.basename(runDir), validation });
  const plot = validation ? { csvPath, rows: log.drawn, svg, validation } : { csvPath, rows: log.drawn, svg };
  return { plot, log };
}

/** Writes the SVG to svgPath (default: loss.svg beside loss.csv) and the PNG of the same name. */
export function writePlotFiles(plot: LossPlot, svgPath?: string): { svgPath: string; pngPath: string } {
  const out = svgPath ?? path.join(path.dirname(plot.csvPath), 'loss.svg');
  const pngPath = out.replace(/\.svg$/i, '.png');
  writeFileAtomic(out, plot.svg + '\n');
  writeFileAtomic(pngPath, renderPng(plot.svg));
  return { svgPath: out, pngPath };
}

/** `rnn-native plot`: loss.svg and loss.png of RUN_DIR/loss.csv or a loss.csv path. */
export function writeLossPlot(input: string, svgPath?: string): LossPlot & { svgPath: string; pngPath: string } {
  if (svgPath !== undefined && !/\.svg$/i.test(svgPath)) throw new UserError(`-o ${svgPath}: must end in .svg (the PNG goes beside it)`);
  const plot = buildLossPlot(input);
  return { ...plot, ...writePlotFiles(plot, svgPath) };
}
