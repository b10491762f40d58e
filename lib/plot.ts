// The loss plot of a run: loss.csv read and checked, an SVG written here (no browser library),
// and a PNG of it rendered by resvg.
import { existsSync, statSync } from 'fs';
import path from 'path';
import escapeMarkup from 'escape-html';
import { UserError } from './errors';
import { readUserFile, writeFileAtomic } from './files';
import { LOSS_HEADER, LossRow, parseLossRow, quoteLine } from './run-dir';

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

export function readLossCsv(file: string): LossRow[] {
  return parseLossCsv(readUserFile(file).toString('utf8'), file);
}

/** The rows of loss.csv; anything else than the format train writes is a UserError naming the line. */
export function parseLossCsv(text: string, source: string): LossRow[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new UserError(`${source}: is empty; expected the header ${LOSS_HEADER} and rows`);
  if (lines[0] !== LOSS_HEADER) {
    throw new UserError(`${source}: line 1 is ${quoteLine(lines[0])}, expected the header ${LOSS_HEADER}`);
  }
  if (lines.length === 1) throw new UserError(`${source}: has a header but no rows yet`);
  const rows = lines.slice(1).map((line, i) => parseLossRow(line, `${source}: line ${i + 2}`));
  rows.forEach((row, i) => {
    if (i > 0 && row.step <= rows[i - 1].step) {
      throw new UserError(`${source}: line ${i + 2}: step ${row.step} does not follow step ${rows[i - 1].step}; steps must increase`);
    }
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The SVG

const WIDTH = 800;
const HEIGHT = 450;
const MARGIN = { left: 78, right: 24, top: 62, bottom: 56 };
const FONT = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif";
export const SMOOTH_COLOR = '#1f5fa8';
const LOSS_COLOR = '#e08a2c';
const EPOCH_COLOR = '#9a9a9a';

interface Scale {
  (value: number): number;
  ticks: number[];
}

/** A linear scale over [lo, hi] widened to round tick values, mapped onto [from, to] pixels. */
function niceScale(lo: number, hi: number, from: number, to: number, tickCount: number): Scale {
  if (hi - lo < 1e-9 * Math.max(1, Math.abs(hi))) [lo, hi] = [lo - 1, hi + 1];
  const rough = (hi - lo) / tickCount;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const scale = ((value: number) => from + ((value - start) / (end - start)) * (to - from)) as Scale;
  scale.ticks = [];
  for (let i = 0; start + i * step <= end + step * 1e-9; i++) scale.ticks.push(round(start + i * step));
  return scale;
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

const px = (value: number) => value.toFixed(1);

/** At most ~2 points per pixel column: long runs keep the curve's shape, not every row. */
function thin<T>(items: T[], limit: number): T[] {
  if (items.length <= limit) return items;
  const stride = items.length / limit;
  const kept: T[] = [];
  for (let i = 0; i < limit; i++) kept.push(items[Math.floor(i * stride)]);
  kept.push(items[items.length - 1]);
  return kept;
}

function polyline(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)},${px(y)}`).join(' ');
}

/** [min of low(row), max of high(row)], in a loop: spreading a million rows into Math.min overflows the stack. */
function extent(rows: LossRow[], low: (row: LossRow) => number, high: (row: LossRow) => number): [number, number] {
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
}

/** The SVG document: smooth loss, the logged per-update loss (faint), epoch starts, axes, legend. */
export function lossPlotSvg(rows: LossRow[], options: PlotOptions = {}): string {
  if (rows.length === 0) throw new UserError('no loss rows to plot');
  const plot = { x0: MARGIN.left, x1: WIDTH - MARGIN.right, y0: HEIGHT - MARGIN.bottom, y1: MARGIN.top };
  const lastStep = rows[rows.length - 1].step;
  const [lo, hi] = extent(rows, (row) => Math.min(row.loss, row.smoothLoss), (row) => Math.max(row.loss, row.smoothLoss));
  const x = niceScale(0, lastStep, plot.x0, plot.x1, 8);
  const y = niceScale(lo, hi, plot.y0, plot.y1, 6);
  const shown = thin(rows, 2 * (plot.x1 - plot.x0));
  const title = `Smooth loss${options.name ? ` of ${options.name}` : ''}`;
  const last = rows[rows.length - 1];
  const subtitle =
    `${lastStep.toLocaleString('en-US')} updates, ${last.epoch} epoch${last.epoch === 1 ? '' : 's'}, final smooth loss ${last.smoothLoss.toFixed(2)}, ` +
    `lowest ${extent(rows, (row) => row.smoothLoss, (row) => row.smoothLoss)[0].toFixed(2)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${plot.x0}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeMarkup(title)}</text>`,
    `<text x="${plot.x0}" y="42" fill="#555">${escapeMarkup(subtitle)}</text>`,
    grid(x, y, plot),
    epochLines(epochStarts(rows), x, plot),
    `<path class="loss" d="${polyline(shown.map((r) => [x(r.step), y(r.loss)]))}" fill="none" stroke="${LOSS_COLOR}" stroke-opacity="0.45" stroke-width="1"/>`,
    `<path class="smooth-loss" d="${polyline(shown.map((r) => [x(r.step), y(r.smoothLoss)]))}" fill="none" stroke="${SMOOTH_COLOR}" stroke-width="2.2" stroke-linejoin="round"/>`,
    axes(x, y, plot),
    legend(plot, epochStarts(rows).length > 0),
    '</svg>',
  ].join('\n');
}

type Box = { x0: number; x1: number; y0: number; y1: number };

function grid(x: Scale, y: Scale, p: Box): string {
  const vertical = x.ticks.map((t) => `<line x1="${px(x(t))}" y1="${p.y0}" x2="${px(x(t))}" y2="${p.y1}"/>`);
  const horizontal = y.ticks.map((t) => `<line x1="${p.x0}" y1="${px(y(t))}" x2="${p.x1}" y2="${px(y(t))}"/>`);
  return `<g class="grid" stroke="#ececec" stroke-width="1">${[...vertical, ...horizontal].join('')}</g>`;
}

function axes(x: Scale, y: Scale, p: Box): string {
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
    `<text x="20" y="${middleY}" transform="rotate(-90 20 ${middleY})" text-anchor="middle" stroke="none" font-size="13">loss (nats per sequence)</text>`,
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

function legend(p: Box, withEpochs: boolean): string {
  const entries: [string, string][] = [
    [`stroke="${SMOOTH_COLOR}" stroke-width="2.2"`, 'smooth loss'],
    [`stroke="${LOSS_COLOR}" stroke-opacity="0.45"`, 'loss of each logged update'],
  ];
  if (withEpochs) entries.push([`stroke="${EPOCH_COLOR}" stroke-dasharray="4 3"`, 'epoch starts (first logged step)']);
  const width = 244;
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
  rows: LossRow[];
  svg: string;
}

/** Reads and checks RUN_DIR/loss.csv (or a loss.csv path) and draws it; writes nothing. */
export function buildLossPlot(input: string): LossPlot {
  const csvPath = lossCsvPath(input);
  const rows = readLossCsv(csvPath);
  return { csvPath, rows, svg: lossPlotSvg(rows, { name: path.basename(path.dirname(path.resolve(csvPath))) }) };
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
