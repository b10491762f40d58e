// rnn-native compare: the runs of sweep directories (sweep.json) and run directories side by side.
// A table of their differing options and results, an overlaid loss plot (lib/report/compare-plot.ts), and
// compare.md / compare.html rendered as the report's are (lib/report/report.ts). Runs are read as they are:
// a run that has not started or not finished is shown so, not refused. Everything is read before
// anything is written, and no file the user had is overwritten but compare's own earlier output.
import CRC32 from 'crc-32';
import { existsSync, statSync } from 'fs';
import path from 'path';
import { comparePlotSvg, COMPARE_SVG_MARK } from './compare-plot';
import { OptionRow, TRAINING_OPTIONS } from '../model/config';
import { UserError } from '../util/errors';
import { makeDirectory, readUserFile, writeFileAtomic } from '../util/files';
import { fitLine } from '../util/output';
import { lowestValidation, readValCsv, renderPng } from './plot';
import { Block, renderHtml, renderMarkdown } from './report';
import { baselinesLine, runTextBaselines, TextBaselines } from './text-baselines';
import { readRunConfig, RunConfigFile } from '../run/run-config';
import { LossRow } from '../run/run-dir';
import { LossLog, readGrowingLossLog } from '../run/loss-log';
import { ValRow } from '../run/val-log';

export type OptionValue = string | number | boolean | null;
export type RunStatus = 'finished' | 'unfinished' | 'not started';

/** A run to read: its directory and, for a run of a sweep, sweep.json's entry. */
interface RunEntry {
  dir: string;
  varied?: Record<string, OptionValue>;
  args?: string[];
}

export interface ComparedRun {
  /** The run directory, absolute. */
  dir: string;
  /** The directory relative to the common parent of all compared runs. */
  name: string;
  /** The differing options, "eta=0.05 hidden=200" (the name when none differs). */
  label: string;
  status: RunStatus;
  /** The value of each differing option. */
  options: Record<string, OptionValue>;
  /** The last step in loss.csv (0: none yet), and the steps the run is to reach. */
  steps: number;
  targetSteps: number | null;
  seqLength: number;
  /** Smooth losses as loss.csv has them: nats per sequence. */
  bestSmoothLoss: number | null;
  finalSmoothLoss: number | null;
  /** The same ÷ seqLength: nats per character, what the table, the plot and the sort use. */
  bestSmoothPerChar: number | null;
  finalSmoothPerChar: number | null;
  /** The lowest validation loss in val.csv (nats per character) and its step. */
  bestValLoss: number | null;
  bestValStep: number | null;
  /** The last loss.csv row's step ÷ its elapsed_s (training time over all resumes). */
  updatesPerSecond: number | null;
  trainingSeconds: number | null;
  /** The loss.csv rows drawn (all of a log of up to 4,096 rows; of a longer one, every k-th row and the last); none before the first. */
  rows: LossRow[];
  validation: ValRow[];
}

export interface Comparison {
  /** The runs, sorted. */
  runs: ComparedRun[];
  /** The names of the differing options (train's flags without dashes), in column order. */
  options: string[];
  sort: string;
  /** The sweep directories and run directories given. */
  sources: string[];
  /** ln K and the unigram entropy of each text the runs trained on (one entry per text). */
  baselines: TextBaselines[];
}

// ---------------------------------------------------------------------------------------------
// The runs of the arguments

/** The runs of each argument: a sweep directory's (sweep.json) or the run directory itself. A run named twice counts once. */
function collectRuns(inputs: string[]): RunEntry[] {
  if (inputs.length === 0) throw new UserError('compare needs sweep directories or run directories (see --help)');
  const byDir = new Map<string, RunEntry>();
  for (const input of inputs) {
    for (const entry of entriesOf(input)) {
      // A run given both itself and through its sweep keeps sweep.json's entry.
      if (!byDir.has(entry.dir) || entry.varied) byDir.set(entry.dir, { ...byDir.get(entry.dir), ...entry });
    }
  }
  return [...byDir.values()];
}

function entriesOf(input: string): RunEntry[] {
  if (!existsSync(input)) throw new UserError(`${input}: no such directory`);
  if (!statSync(input).isDirectory()) throw new UserError(`${input}: is not a directory (give sweep directories or run directories)`);
  if (existsSync(path.join(input, 'sweep.json'))) return readSweep(input);
  if (existsSync(path.join(input, 'config.json'))) return [{ dir: path.resolve(input) }];
  throw new UserError(`${input}: is neither a sweep directory (no sweep.json) nor a run directory (no config.json)`);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is OptionValue => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** sweep.json's runs (version 1, written by `rnn-native sweep`), each directory resolved against the sweep's. */
function readSweep(sweepDir: string): RunEntry[] {
  const file = path.join(sweepDir, 'sweep.json');
  const text = readUserFile(file).toString('utf8');
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch {
    plan = undefined;
  }
  const bad = (what: string) => new UserError(`${file}: ${what}; not a sweep plan of rnn-native sweep`);
  if (!isObject(plan)) throw bad('damaged (not a JSON object)');
  if (plan.version !== 1) throw bad(`version ${JSON.stringify(plan.version)}, this rnn-native reads version 1`);
  if (!Array.isArray(plan.runs)) throw bad('"runs" is not a list');
  return plan.runs.map((run: unknown, i: number): RunEntry => {
    if (!isObject(run) || typeof run.dir !== 'string' || run.dir === '') throw bad(`runs[${i}].dir is not a directory name`);
    const varied = run.varied ?? {};
    if (!isObject(varied) || !Object.values(varied).every(isScalar)) throw bad(`runs[${i}].varied is not an object of option values`);
    const args = run.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw bad(`runs[${i}].args is not a list of strings`);
    return { dir: path.resolve(sweepDir, run.dir), varied: varied as Record<string, OptionValue>, args };
  });
}

// ---------------------------------------------------------------------------------------------
// Reading a run

/** loss.csv read as a stream; none when it is missing or has no rows yet. A row being appended (no newline yet) is left out. */
function readRunLossLog(file: string): LossLog | undefined {
  return existsSync(file) ? readGrowingLossLog(file) : undefined;
}

const optionRow = (name: string): OptionRow | undefined => (TRAINING_OPTIONS as readonly OptionRow[]).find((row) => row.flag === name);

/** The options a run's config.json holds that may differ: the training options, by flag, and the text. */
const CONFIG_OPTIONS = ['data', ...TRAINING_OPTIONS.map((row) => row.flag)];

/** The value of `--name` in a train argument list ("--name V" or "--name=V"). */
function argumentValue(args: string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === `--${name}` && i + 1 < args.length) value = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  });
  return value;
}

/** An option's value for a run: config.json's, else sweep.json's (varied, then args), else its default. */
function optionValue(name: string, config: RunConfigFile | undefined, entry: RunEntry): OptionValue {
  const row = optionRow(name);
  if (config && name === 'data') return config.data as OptionValue;
  if (config && row) return (config[row.key] ?? row.default) as OptionValue;
  if (entry.varied && Object.hasOwn(entry.varied, name)) return entry.varied[name];
  const given = argumentValue(entry.args ?? [], name);
  if (given !== undefined) return row && row.kind !== 'choice' ? Number(given) : given;
  return row ? row.default : null;
}

interface ReadRun {
  entry: RunEntry;
  config: RunConfigFile | undefined;
  log: LossLog | undefined;
  validation: ValRow[];
}

function readRun(entry: RunEntry): ReadRun {
  const config = readRunConfig(path.join(entry.dir, 'config.json'), 'keep');
  const log = readRunLossLog(path.join(entry.dir, 'loss.csv'));
  const valPath = path.join(entry.dir, 'val.csv');
  return { entry, config, log, validation: existsSync(valPath) ? readValCsv(valPath) : [] };
}

/** The options to show: sweep.json's varied ones, then those whose values differ between the runs' config.json files. */
function differingOptions(runs: ReadRun[]): string[] {
  const varied = [...new Set(runs.flatMap((run) => Object.keys(run.entry.varied ?? {})))];
  const configured = runs.filter((run) => run.config);
  const differs = (name: string) => new Set(configured.map((run) => JSON.stringify(optionValue(name, run.config, run.entry)))).size > 1;
  return [...varied, ...CONFIG_OPTIONS.filter((name) => !varied.includes(name) && differs(name))];
}

/** Whether a run that validates lacks the evaluation of its last step (a stop during that pass). */
function owesLastEvaluation(run: ReadRun, step: number): boolean {
  return Number(optionValue('val-fraction', run.config, run.entry)) > 0 && !run.validation.some((row) => row.step === step);
}

function measure(run: ReadRun, options: string[]): Omit<ComparedRun, 'name' | 'label'> {
  const { entry, config, log, validation } = run;
  const seqLength = Number(optionValue('seq-length', config, entry));
  const target = Number(optionValue('steps', config, entry));
  const last = log?.last;
  const bestSmooth = log?.lowest.smoothLoss ?? null;
  const bestVal = validation.length > 0 ? lowestValidation(validation) : undefined;
  const perChar = (loss: number | null) => (loss === null ? null : loss / seqLength);
  return {
    dir: entry.dir,
    // A run stopped during its last evaluation (no val.csv row of its last step) is unfinished, as report says.
    status: !last ? 'not started' : last.step >= target && !owesLastEvaluation(run, last.step) ? 'finished' : 'unfinished',
    options: Object.fromEntries(options.map((name) => [name, optionValue(name, config, entry)])),
    steps: last?.step ?? 0,
    targetSteps: Number.isFinite(target) ? target : null,
    seqLength,
    bestSmoothLoss: bestSmooth,
    finalSmoothLoss: last?.smoothLoss ?? null,
    bestSmoothPerChar: perChar(bestSmooth),
    finalSmoothPerChar: perChar(last?.smoothLoss ?? null),
    bestValLoss: bestVal?.valLoss ?? null,
    bestValStep: bestVal?.step ?? null,
    updatesPerSecond: last && last.elapsed > 0 ? last.step / last.elapsed : null,
    trainingSeconds: last?.elapsed ?? null,
    rows: log?.drawn ?? [],
    validation,
  };
}

/** An option's value as the table and the labels show it: the text by its file name. */
export function shownValue(name: string, value: OptionValue): string {
  if (name === 'data') return value === null ? 'demo' : Array.isArray(value) ? value.map((v) => path.basename(String(v))).join(' + ') : path.basename(String(value));
  return String(value);
}

/** Each run's directory relative to the common parent of all (a single run: its own name). */
function runNames(dirs: string[]): string[] {
  const parents = dirs.map((dir) => path.dirname(dir).split(path.sep));
  const common = parents.reduce((shared, parts) => {
    const differs = shared.findIndex((part, i) => parts[i] !== part);
    return differs < 0 ? shared : shared.slice(0, differs);
  });
  const root = common.join(path.sep) || path.sep;
  return dirs.map((dir) => path.relative(root, dir));
}

/** "eta=0.05 hidden=200": the differing options of each run; the name when none differs or two runs share a label. */
function runLabels(runs: Omit<ComparedRun, 'label'>[], options: string[]): string[] {
  const labels = runs.map((run) => options.map((name) => `${name}=${shownValue(name, run.options[name])}`).join(' '));
  return labels.map((label, i) => (label === '' ? runs[i].name : labels.indexOf(label) !== labels.lastIndexOf(label) ? `${label} (${runs[i].name})` : label));
}

// ---------------------------------------------------------------------------------------------
// Sorting

interface Metric {
  /** The table's header, and a shorter one for a narrow terminal. */
  header: string;
  short: string;
  /** In words: "sorted by best validation loss". */
  words: string;
  value: (run: ComparedRun) => number | null;
  /** Most first (steps, speed) instead of lowest first (losses). */
  descending?: boolean;
}

export const METRICS: Record<string, Metric> = {
  val: { header: 'best val', short: 'val', words: 'best validation loss', value: (run) => run.bestValLoss },
  smooth: { header: 'best smooth', short: 'smooth', words: 'best smooth loss', value: (run) => run.bestSmoothPerChar },
  final: { header: 'final smooth', short: 'final', words: 'final smooth loss', value: (run) => run.finalSmoothPerChar },
  steps: { header: 'steps', short: 'steps', words: 'steps done', value: (run) => run.steps, descending: true },
  speed: { header: 'upd/s', short: 'upd/s', words: 'updates per second', value: (run) => run.updatesPerSecond, descending: true },
};

/** Best validation loss when every run that has started has one, else best smooth loss. */
function defaultSort(runs: ComparedRun[]): string {
  const started = runs.filter((run) => run.status !== 'not started');
  return started.length > 0 && started.every((run) => run.bestValLoss !== null) ? 'val' : 'smooth';
}

/** The runs sorted by a metric or an option's value; a run without a value goes last; ties keep the given order. */
export function sortRuns(runs: ComparedRun[], key: string): ComparedRun[] {
  const metric = METRICS[key];
  const value = (run: ComparedRun): number | string | null => (metric ? metric.value(run) : run.options[key] === undefined ? null : (run.options[key] as number | string | null));
  const order = (a: ComparedRun, b: ComparedRun): number => {
    const [x, y] = [value(a), value(b)];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const difference = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return metric?.descending ? -difference : difference;
  };
  return runs
    .map((run, index) => ({ run, index }))
    .sort((a, b) => order(a.run, b.run) || a.index - b.index)
    .map(({ run }) => run);
}

// ---------------------------------------------------------------------------------------------
// The comparison

/**
 * Reads the runs of `inputs` (sweep directories and run directories) and sorts them by `sort` (a
 * key of METRICS or a differing option; default: best validation loss when every started run has
 * one, else best smooth loss). A damaged file is a UserError naming it; writes nothing.
 */
export function compareRuns(inputs: string[], sort?: string): Comparison {
  const read = collectRuns(inputs).map(readRun);
  if (read.length === 0) throw new UserError(`${inputs.join(', ')}: no runs to compare (sweep.json lists none)`);
  const options = differingOptions(read);
  const names = runNames(read.map((run) => run.entry.dir));
  const measured = read.map((run, i) => ({ ...measure(run, options), name: names[i] }));
  const labels = runLabels(measured, options);
  const runs: ComparedRun[] = measured.map((run, i) => ({ ...run, label: labels[i] }));
  const sortKey = sort ?? defaultSort(runs);
  if (!METRICS[sortKey] && !options.includes(sortKey)) {
    const choices = [...new Set([...Object.keys(METRICS), ...options])];
    throw new UserError(`--sort must be one of ${choices.join(', ')} (a metric or a differing option), got "${sort}"`);
  }
  if (sortKey === 'val' && runs.every((run) => run.bestValLoss === null))
    throw new UserError('--sort val: none of the runs has a validation loss (train with --val-fraction)');
  return { runs: sortRuns(runs, sortKey), options, sort: sortKey, sources: inputs, baselines: textBaselines(read) };
}

/** The baselines of each distinct text the runs were trained on (by its SHA-256). */
function textBaselines(runs: ReadRun[]): TextBaselines[] {
  const texts = new Map<string, RunConfigFile>();
  for (const { config } of runs) {
    const sha256 = (config?.corpus as { sha256?: string } | undefined)?.sha256;
    // The unigram entropy is of the training part: the held-out fraction is part of the text's key.
    const key = `${sha256}:${config?.valFraction ?? 0}`;
    if (config && sha256 && !texts.has(key)) texts.set(key, config);
  }
  return [...texts.values()].map(runTextBaselines);
}

/** What `sort` means, in words. */
function sortWords(sort: string): string {
  const metric = METRICS[sort];
  return metric ? `${metric.words}, ${metric.descending ? 'most' : 'lowest'} first` : `${sort}`;
}

// ---------------------------------------------------------------------------------------------
// The terminal table

const formatLoss = (loss: number | null) => (loss === null ? '-' : loss.toFixed(3));
const formatSpeed = (speed: number | null) => (speed === null ? '-' : String(Math.round(speed)));

function stepsCell(run: ComparedRun): string {
  if (run.status === 'not started') return 'not started';
  return run.status === 'finished' ? String(run.steps) : `${run.steps}/${run.targetSteps ?? '?'}`;
}

interface Column {
  key: string;
  header: string;
  short: string;
  cells: string[];
  kind: 'run' | 'option' | 'metric';
}

/**
 * An option's column header: its name, or its flag when a metric has that name (`--steps`, the
 * option, beside `steps`, the steps done, which `--sort steps` sorts by).
 */
export function optionHeader(name: string): string {
  return METRICS[name] ? `--${name}` : name;
}

function tableColumns(c: Comparison): Column[] {
  const withValidation = c.runs.some((run) => run.bestValLoss !== null);
  const metric = (key: string, cell: (run: ComparedRun) => string): Column => ({ key, header: METRICS[key].header, short: METRICS[key].short, cells: c.runs.map(cell), kind: 'metric' });
  const option = (name: string): Column => ({ key: name, header: optionHeader(name), short: optionHeader(name), cells: c.runs.map((run) => shownValue(name, run.options[name])), kind: 'option' });
  return [
    { key: 'run', header: 'run', short: 'run', cells: c.runs.map((run) => run.name), kind: 'run' },
    ...c.options.map(option),
    metric('steps', stepsCell),
    metric('smooth', (run) => formatLoss(run.bestSmoothPerChar)),
    metric('final', (run) => formatLoss(run.finalSmoothPerChar)),
    ...(withValidation ? [metric('val', (run) => formatLoss(run.bestValLoss))] : []),
    metric('speed', (run) => formatSpeed(run.updatesPerSecond)),
  ];
}

/** How hard a table is squeezed to fit: short headers, cut cells, dropped metric and option columns. */
interface Squeeze {
  short?: boolean;
  runWidth?: number;
  optionWidth?: number;
  drop?: string[];
  dropOptions?: string[];
}

// Tried in order until the table fits; the sort column is never dropped.
const SQUEEZES: Squeeze[] = [
  {},
  { short: true },
  { short: true, runWidth: 16 },
  { short: true, runWidth: 16, drop: ['final'] },
  { short: true, runWidth: 12, drop: ['final', 'speed'] },
  { short: true, runWidth: 10, optionWidth: 8, drop: ['final', 'speed'] },
  { short: true, runWidth: 8, optionWidth: 6, drop: ['final', 'speed', 'steps'] },
];

/** The column `--sort` sorts by: a metric's, else the option's (a metric's name means the metric, as sortRuns reads it). */
function isSortColumn(column: Column, sort: string): boolean {
  return column.key === sort && column.kind === (METRICS[sort] ? 'metric' : 'option');
}

function isDropped(column: Column, squeeze: Squeeze): boolean {
  const dropped = column.kind === 'metric' ? squeeze.drop : column.kind === 'option' ? squeeze.dropOptions : undefined;
  return (dropped ?? []).includes(column.key);
}

/** Cut to `width` characters with "…": the start of a value, the end of a path (where run names differ). */
function cutCell(text: string, width: number | undefined, keep: 'start' | 'end'): string {
  const characters = Array.from(text);
  if (width === undefined || characters.length <= width) return text;
  return keep === 'start' ? `${characters.slice(0, width - 1).join('')}…` : `…${characters.slice(characters.length - width + 1).join('')}`;
}

/** At least `width`, and wide enough that no two different values are cut to the same text (0.002… for 0.002152 and 0.002172). */
function distinctWidth(values: string[], width: number | undefined): number | undefined {
  if (width === undefined) return undefined;
  const distinct = new Set(values);
  const longest = Math.max(...values.map((value) => Array.from(value).length));
  const keepsApart = (w: number) => new Set([...distinct].map((value) => cutCell(value, w, 'start'))).size === distinct.size;
  let w = width;
  while (w < longest && !keepsApart(w)) w++;
  return w;
}

function renderTable(columns: Column[], squeeze: Squeeze, sort: string): string[] {
  const shown = columns.filter((column) => isSortColumn(column, sort) || !isDropped(column, squeeze));
  const cells = shown.map((column) => {
    const width = column.kind === 'run' ? squeeze.runWidth : column.kind === 'option' ? distinctWidth(column.cells, squeeze.optionWidth) : undefined;
    return [squeeze.short ? column.short : column.header, ...column.cells].map((cell) => cutCell(cell, width, column.kind === 'run' ? 'end' : 'start'));
  });
  const widths = cells.map((column) => Math.max(...column.map((cell) => Array.from(cell).length)));
  const pad = (text: string, i: number) => {
    const room = ' '.repeat(widths[i] - Array.from(text).length);
    return shown[i].kind === 'metric' ? room + text : text + room;
  };
  return cells[0].map((_, row) => cells.map((column, i) => pad(column[row], i)).join('  ').trimEnd());
}

/**
 * The table for a terminal of `columns` columns (80 when unknown): a row per run, the runs' names,
 * their differing options, steps, best and final smooth loss and best validation loss (nats per
 * character), updates/s. Squeezed to fit in columns − 1 characters; then a line on the order and units.
 */
export function comparisonTable(c: Comparison, columns = 80): string {
  const width = Math.max(1, columns - 1);
  const all = tableColumns(c);
  const fits = (lines: string[]) => lines.every((line) => Array.from(line).length <= width);
  // Last: only the run, the sort column and options, dropped from the right until the table fits.
  const least: Squeeze = { short: true, runWidth: 8, optionWidth: 5, drop: Object.keys(METRICS) };
  const fewerOptions = c.options.map((_, i): Squeeze => ({ ...least, dropOptions: c.options.slice(c.options.length - 1 - i) }));
  const tables = [...SQUEEZES, least, ...fewerOptions].map((squeeze) => renderTable(all, squeeze, c.sort));
  const table = (tables.find(fits) ?? tables[tables.length - 1]).map((line) => fitLine([line], columns));
  const note = fitLine(
    [`sorted by ${sortWords(c.sort)}; losses in nats per character`, `sorted by ${c.sort}; nats per character`, `sorted by ${c.sort}`],
    columns
  );
  return [...table, note, ...c.baselines.map((b) => fitLine([baselinesLine(b)], columns))].join('\n');
}

// ---------------------------------------------------------------------------------------------
// JSON

/** The comparison as one JSON-ready object for scripts (docs/reports.md: compare --json). */
export function comparisonJson(c: Comparison, files?: WrittenComparison): object {
  return {
    sort: c.sort,
    options: c.options,
    runs: c.runs.map(({ rows: _rows, validation: _validation, ...run }) => run),
    baselines: c.baselines,
    ...(files ? { files } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The files: compare.md, compare.html, compare.svg, compare.png

export const COMPARE_FILES = ['compare.md', 'compare.html', 'compare.svg', 'compare.png'] as const;
const GENERATOR = 'rnn-native compare';
const MARKDOWN_MARK = `<!-- written by ${GENERATOR} -->`;

/** How compare recognises each of its own files (so that it overwrites only those). */
const IS_OWN: Record<(typeof COMPARE_FILES)[number], (content: Buffer) => boolean> = {
  'compare.md': (content) => content.toString('utf8', 0, 200).startsWith(MARKDOWN_MARK),
  'compare.html': (content) => content.toString('utf8', 0, 400).includes(`<meta name="generator" content="${GENERATOR}">`),
  'compare.svg': (content) => content.toString('utf8', 0, 200).includes(COMPARE_SVG_MARK),
  'compare.png': (content) => content.includes(pngText('Software', GENERATOR)),
};

export interface WrittenComparison {
  markdownPath: string;
  htmlPath: string;
  svgPath: string;
  pngPath: string;
}

/** The directory compare writes into when --out is not given: the sweep directory when the only argument is one, else the current directory. */
export function defaultOutDir(inputs: string[]): string {
  return inputs.length === 1 && existsSync(path.join(inputs[0], 'sweep.json')) ? inputs[0] : '.';
}

/** Refuses when a file of compare's names in `outDir` is not compare's own earlier output. */
function refuseForeignFiles(outDir: string): void {
  for (const name of COMPARE_FILES) {
    const file = path.join(outDir, name);
    if (!existsSync(file)) continue;
    let own = false;
    try {
      own = IS_OWN[name](readUserFile(file));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
    }
    if (!own) throw new UserError(`${file}: exists and was not written by rnn-native compare; move it away or give another --out`);
  }
}

/** Writes compare.md, compare.html, compare.svg and compare.png into `outDir` (made if needed). */
export function writeComparison(c: Comparison, outDir: string): WrittenComparison {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UserError(`--out ${outDir}: exists and is not a directory`);
  refuseForeignFiles(outDir);
  const svg = comparePlotSvg(c.runs);
  const png = withPngText(renderPng(svg), 'Software', GENERATOR);
  const blocks = comparisonBlocks(c, svg);
  makeDirectory(outDir, `--out ${outDir}`);
  const [markdownPath, htmlPath, svgPath, pngPath] = COMPARE_FILES.map((name) => path.join(outDir, name));
  writeFileAtomic(svgPath, svg + '\n');
  writeFileAtomic(pngPath, png);
  writeFileAtomic(markdownPath, `${MARKDOWN_MARK}\n\n${renderMarkdown(blocks)}`);
  writeFileAtomic(htmlPath, renderHtml(blocks, `Comparison of ${c.runs.length} runs`, GENERATOR));
  return { markdownPath, htmlPath, svgPath, pngPath };
}

function comparisonBlocks(c: Comparison, svg: string): Block[] {
  const withValidation = c.runs.some((run) => run.bestValLoss !== null);
  const header = ['run', ...c.options.map(optionHeader), 'status', 'steps', 'best smooth', 'final smooth', ...(withValidation ? ['best val', 'at step'] : []), 'updates/s'];
  const rows = c.runs.map((run) => [
    run.name,
    ...c.options.map((name) => shownValue(name, run.options[name])),
    run.status,
    run.targetSteps === null ? String(run.steps) : `${run.steps} of ${run.targetSteps}`,
    formatLoss(run.bestSmoothPerChar),
    formatLoss(run.finalSmoothPerChar),
    ...(withValidation ? [formatLoss(run.bestValLoss), run.bestValStep === null ? '-' : String(run.bestValStep)] : []),
    formatSpeed(run.updatesPerSecond),
  ]);
  return [
    { kind: 'heading', level: 1, text: `Comparison of ${c.runs.length} run${c.runs.length === 1 ? '' : 's'}` },
    { kind: 'paragraph', text: `Of ${c.sources.map((source) => path.resolve(source)).join(', ')}.` },
    {
      kind: 'paragraph',
      text: c.options.length > 0 ? `The options that differ: ${c.options.join(', ')}.` : 'No option differs between the runs: they are named by their directories.',
    },
    { kind: 'table', header, rows, numeric: false },
    {
      kind: 'paragraph',
      text:
        `Sorted by ${sortWords(c.sort)}. Losses in nats per character: the smooth loss of loss.csv ÷ the run's seqLength, ` +
        `the validation loss as val.csv has it. Updates/s: the last logged step ÷ its training time (elapsed_s). ` +
        c.baselines.map((b) => `For scale, ${b.source}: a uniform guess over its ${b.vocabSize} characters scores ln K = ${b.uniform.toFixed(3)}; ` +
          (b.unigram === undefined ? `its unigram entropy is unknown (${b.why}).` : `one that knows only each character's frequency, ${b.unigram.toFixed(3)} (the unigram entropy).`)).join(' '),
    },
    { kind: 'heading', level: 2, text: 'Loss' },
    { kind: 'figure', svg, png: 'compare.png', alt: 'The smooth loss per character of each run against the update step' },
  ];
}

// A PNG text chunk: compare.png carries "Software: rnn-native compare", by which compare knows its own file.

/** The bytes of a tEXt chunk's keyword and text. */
function pngText(keyword: string, text: string): Buffer {
  return Buffer.from(`${keyword}\0${text}`, 'latin1');
}

/** The PNG with a tEXt chunk after its IHDR chunk (which comes first: 8 signature bytes, then 25). */
function withPngText(png: Buffer, keyword: string, text: string): Buffer {
  const data = pngText(keyword, text);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('tEXt', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(CRC32.buf(chunk.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

