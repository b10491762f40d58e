// The overlaid loss plot of `rnn-native compare`: each run's smooth loss per character (and its
// validation loss, when it has val.csv) against the update step, in the style of lib/report/plot.ts, with
// a legend column on the right that names each run by what differs.
import escapeMarkup from 'escape-html';
import { axes, Box, FONT, grid, HEIGHT, MARGIN, niceScale, polyline, px, thin, WIDTH } from './plot';
import { LossRow } from '../run/run-dir';
import { ValRow } from '../run/val-log';

/** What the plot needs of a run: its curves, per character, and its legend label. */
export interface PlottedRun {
  label: string;
  /** config.json's seqLength: loss.csv's smooth loss ÷ seqLength is per character. */
  seqLength: number;
  rows: LossRow[];
  validation: ValRow[];
}

/** The root element's mark: compare recognises its own earlier compare.svg by it. */
export const COMPARE_SVG_MARK = 'data-generator="rnn-native compare"';

// Ten colours (d3's category10) × four dash patterns: 40 runs get distinct line styles.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '8 4', '2 3', '10 3 2 3'];

/** The stroke of run `index`: its colour and, after the first ten, a dash pattern. */
export function runStyle(index: number): { color: string; dash: string } {
  return { color: PALETTE[index % PALETTE.length], dash: DASHES[Math.floor(index / PALETTE.length) % DASHES.length] };
}

const ROW = 18;
/** Approximate advance of a 12 px DejaVu Sans character, to size the legend column. */
const CHAR_WIDTH = 6.8;
const LEGEND_MIN = 170;
const LEGEND_MAX = 420;

function stroke(index: number, width: number, opacity = 1): string {
  const { color, dash } = runStyle(index);
  return `stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}${opacity < 1 ? ` stroke-opacity="${opacity}"` : ''}`;
}

/** A label cut with "…" to `chars` characters. */
function cut(text: string, chars: number): string {
  const characters = Array.from(text);
  return characters.length <= chars ? text : `${characters.slice(0, chars - 1).join('')}…`;
}

/** The SVG document: one smooth-loss curve per run that has logged any row, its validation curve if any, axes and a legend. */
export function comparePlotSvg(runs: PlottedRun[]): string {
  const plotted = runs.map((run, index) => ({ ...run, index })).filter((run) => run.rows.length > 0);
  const withValidation = plotted.some((run) => run.validation.length > 0);
  const legendWidth = Math.round(Math.min(LEGEND_MAX, Math.max(LEGEND_MIN, 64 + CHAR_WIDTH * (1 + Math.max(0, ...plotted.map((r) => Array.from(r.label).length))))));
  const width = WIDTH + legendWidth;
  const legendRows = plotted.length + (withValidation ? 3 : 0);
  const height = Math.max(HEIGHT, MARGIN.top + ROW * legendRows + 24);
  const plot: Box = { x0: MARGIN.left, x1: WIDTH - MARGIN.right, y0: HEIGHT - MARGIN.bottom, y1: MARGIN.top };
  const [lo, hi, lastStep] = extents(plotted);
  const x = niceScale(0, lastStep, plot.x0, plot.x1, 8);
  const y = niceScale(lo, hi, plot.y0, plot.y1, 6);
  const limit = 2 * (plot.x1 - plot.x0);
  const curves = plotted.flatMap((run) => {
    const smooth = thin(run.rows, limit).map((row): [number, number] => [x(row.step), y(row.smoothLoss / run.seqLength)]);
    const val = thin(run.validation, limit).map((row): [number, number] => [x(row.step), y(row.valLoss)]);
    // Evaluations are sparse: a dot on each tells the validation curve from the smooth one, unless they crowd.
    const dots = val.length <= 60 ? val.map(([cx, cy]) => `<circle cx="${px(cx)}" cy="${px(cy)}" r="2.4"/>`).join('') : '';
    return [
      `<path class="smooth-loss" data-run="${run.index}" d="${polyline(smooth)}" fill="none" ${stroke(run.index, 1.6, withValidation ? 0.6 : 1)} stroke-linejoin="round"/>`,
      ...(val.length > 0
        ? [
            `<path class="val-loss" data-run="${run.index}" d="${polyline(val)}" fill="none" ${stroke(run.index, 2.4)} stroke-linejoin="round"/>`,
            `<g class="val-points" fill="${runStyle(run.index).color}">${dots}</g>`,
          ]
        : []),
    ];
  });
  const title = `${withValidation ? 'Smooth and validation loss' : 'Smooth loss'} of ${runs.length} run${runs.length === 1 ? '' : 's'}`;
  const subtitle =
    plotted.length === 0
      ? 'no run has logged a loss yet'
      : `per character: loss.csv's smooth loss ÷ the run's seqLength${withValidation ? '; validation loss from val.csv (thick, dots)' : ''}` +
        (plotted.length < runs.length ? `; ${runs.length - plotted.length} not started` : '');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" ${COMPARE_SVG_MARK} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.x0}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeMarkup(title)}</text>`,
    `<text x="${plot.x0}" y="42" fill="#555">${escapeMarkup(subtitle)}</text>`,
    grid(x, y, plot),
    ...curves,
    axes(x, y, plot, 'loss (nats per character)'),
    legend(plotted, withValidation, WIDTH, plot.y1, legendWidth),
    '</svg>',
  ].join('\n');
}

/** The lowest and highest loss per character and the last step of all curves, in a loop (spreading a million rows into Math.min overflows the stack). */
function extents(runs: PlottedRun[]): [number, number, number] {
  let [lo, hi, lastStep] = [Infinity, -Infinity, 1];
  const see = (loss: number, step: number) => {
    lo = Math.min(lo, loss);
    hi = Math.max(hi, loss);
    lastStep = Math.max(lastStep, step);
  };
  for (const run of runs) {
    for (const row of run.rows) see(row.smoothLoss / run.seqLength, row.step);
    for (const row of run.validation) see(row.valLoss, row.step);
  }
  return lo <= hi ? [lo, hi, lastStep] : [0, 1, lastStep];
}

/** The legend column right of the plot: a line in each run's style and its label (cut to fit, whole in a tooltip). */
function legend(runs: (PlottedRun & { index: number })[], withValidation: boolean, left: number, top: number, width: number): string {
  const chars = Math.floor((width - 64) / CHAR_WIDTH);
  const rows = runs.map(
    (run, i) =>
      `<g class="legend-entry" data-run="${run.index}"><title>${escapeMarkup(run.label)}</title>` +
      `<line x1="${left + 8}" y1="${top + 10 + i * ROW}" x2="${left + 40}" y2="${top + 10 + i * ROW}" ${stroke(run.index, 2.4)}/>` +
      `<text x="${left + 48}" y="${top + 14 + i * ROW}" fill="#333">${escapeMarkup(cut(run.label, chars))}</text></g>`
  );
  if (withValidation) {
    const at = runs.length + 1;
    rows.push(
      `<g class="legend-key">` +
        `<line x1="${left + 8}" y1="${top + 10 + at * ROW}" x2="${left + 40}" y2="${top + 10 + at * ROW}" stroke="#555" stroke-width="1.6" stroke-opacity="0.6"/>` +
        `<text x="${left + 48}" y="${top + 14 + at * ROW}" fill="#333">smooth training loss</text>` +
        `<line x1="${left + 8}" y1="${top + 10 + (at + 1) * ROW}" x2="${left + 40}" y2="${top + 10 + (at + 1) * ROW}" stroke="#555" stroke-width="2.4"/>` +
        `<circle cx="${left + 24}" cy="${top + 10 + (at + 1) * ROW}" r="2.4" fill="#555"/>` +
        `<text x="${left + 48}" y="${top + 14 + (at + 1) * ROW}" fill="#333">validation loss</text></g>`
    );
  }
  return `<g class="legend">${rows.join('')}</g>`;
}
