// The report of a run (the assignment's deliverables): configuration, gradient check, loss plot,
// the samples taken during training, a passage from the best checkpoint, and the speed.
// One list of blocks is rendered twice: report.md (links loss.png) and report.html (self-contained,
// the SVG inline). Everything read from files is escaped by the renderers.
import { existsSync, statSync } from 'fs';
import path from 'path';
import { loadTrainingText } from '../text/training-text';
import { runTextBaselines } from './text-baselines';
import escapeMarkup from 'escape-html';
import { readCheckpointNoting } from '../run/checkpoint';
import { owesEvaluation, runCheckpointFile } from '../run/run-dir';
import { checkOptions, MAX_STEPS, RUN_DEFAULTS, SEED_SPEC } from '../model/config';
import { formatSeconds } from '../util/option-values';
import { UserError } from '../util/errors';
import { readUserFile, writeFileAtomic } from '../util/files';
import {
  gradcheck,
  GRADCHECK_DEFAULTS,
  GRADCHECK_MODEL_DEFAULTS,
  GRADCHECK_TARGETS,
  GradcheckOptions,
  GradcheckResult,
  gradcheckPasses,
  gradcheckRows,
  modelName,
  forwardFlops,
} from '../engine/gradcheck';
import { CellKind, parameterTable } from '../model/reference';
import { OptionSpecs } from '../util/option-values';
import { drawLossPlot, LossPlot, lowestValidation, writePlotFiles } from './plot';
import { formatDuration } from '../run/reporter';
import { checkAgainstCheckpoint, readRunConfig, runCacheDir, runData, RunConfigFile, runSeparator } from '../run/run-config';
import { findCutLossRow, parseSamples } from '../run/run-dir';
import { LossLog } from '../run/loss-log';
import { sampleCheckpoint } from '../run/sample-checkpoint';

export interface ReportOptions {
  /** Text of the gradient check (default: the run's own text, config.json "data"). */
  gradcheckData?: string;
  /** Seed of the passage (default 42). */
  seed?: number;
  /** Temperature of the passage (default 1). */
  temperature?: number;
}

export interface WrittenReport {
  markdownPath: string;
  htmlPath: string;
  svgPath: string;
  pngPath: string;
  /** Things the report could not do fully (also stated in the report). */
  warnings: string[];
}

export const PASSAGE_LENGTH = 1000;
export const REPORT_DEFAULTS = { seed: 42, temperature: 1 } as const;

/** The report's options, by library name; `rnn-native report` takes them as --gradcheck-data, --seed, --temperature. */
export const REPORT_OPTIONS = {
  gradcheckData: { kind: 'string', help: "text of the gradient check (default: the run's own text)" },
  seed: { ...SEED_SPEC, help: `seed of the 1,000-character passage (default ${REPORT_DEFAULTS.seed})` },
  temperature: { kind: 'number', min: 0, max: 100, help: `temperature of the passage, 0 = argmax (default ${REPORT_DEFAULTS.temperature})` },
} satisfies OptionSpecs;

/**
 * Writes RUN_DIR/report.md and RUN_DIR/report.html, and loss.svg and loss.png beside them.
 * Everything is read and computed first: a run it cannot report on gets no files.
 */
export function writeReport(runDir: string, options: ReportOptions = {}): WrittenReport {
  checkOptions(options, REPORT_OPTIONS, 'writeReport');
  const warnings: string[] = [];
  const run = runConfigOf(runDir, warnings);
  const { config } = run;
  refuseCutLossRow(path.join(runDir, 'loss.csv'));
  const { plot, log } = drawLossPlot(runDir);
  const blocks = [
    ...titleBlocks(runDir, config),
    ...unfinishedBlocks(runDir, run),
    ...configBlocks(config),
    ...gradcheckBlocks(config, options.gradcheckData, warnings),
    ...plotBlocks(plot, log, run),
    ...sampleBlocks(path.join(runDir, 'samples.txt')),
    ...passageBlocks(runDir, run.checkpointFile, options, warnings),
    ...speedBlocks(runDir, config, log),
  ];
  const { svgPath, pngPath } = writePlotFiles(plot, path.join(runDir, 'loss.svg'));
  const markdownPath = path.join(runDir, 'report.md');
  const htmlPath = path.join(runDir, 'report.html');
  writeFileAtomic(markdownPath, renderMarkdown(blocks));
  writeFileAtomic(htmlPath, renderHtml(blocks, `Training report: ${runName(runDir)}`));
  return { markdownPath, htmlPath, svgPath, pngPath, warnings };
}

/** A last row of loss.csv that a kill cut short, refused with how to remove it (the plot's refusal only names the line). */
function refuseCutLossRow(file: string): void {
  if (!existsSync(file)) return;
  const cut = findCutLossRow(file);
  if (cut === undefined) return;
  throw new UserError(
    `${file}: line ${cut.line} is cut short (the run was killed while writing it); ` +
      `remove the cut end (truncate -s ${cut.byteOffset} ${file}) and try again`
  );
}

function runName(runDir: string): string {
  return path.basename(path.resolve(runDir));
}

/** What the report is of: the checked config.json, its checkpoint (checked against it) and how far the run got. */
interface ReportedRun {
  config: RunConfigFile;
  /** best.safetensors, else latest.safetensors (a run stopped before its first best). */
  checkpointFile: string;
  checkpointStep: number;
  /** The step of latest.safetensors, when the run stopped before its --steps. */
  unfinishedAt?: number;
}

function runConfigOf(runDir: string, warnings: string[]): ReportedRun {
  if (!existsSync(runDir)) throw new UserError(`${runDir}: no such directory`);
  if (!statSync(runDir).isDirectory()) throw new UserError(`${runDir}: is not a run directory`);
  const configPath = path.join(runDir, 'config.json');
  const config = readRunConfig(configPath, 'keep');
  if (!config) throw new UserError(`${runDir}: holds no config.json (not a run directory)`);
  const { file, note } = runCheckpointFile(runDir);
  if (note) warnings.push(note);
  const checkpoint = readCheckpointNoting(file);
  checkAgainstCheckpoint(config, checkpoint, configPath, file, false);
  const latest = path.join(runDir, 'latest.safetensors');
  const latestCheckpoint = file === latest ? checkpoint : existsSync(latest) ? readCheckpointNoting(latest) : undefined;
  const latestStep = latestCheckpoint?.training.step;
  const steps = typeof config.steps === 'number' ? config.steps : undefined;
  const evalEvery = typeof config.evalEvery === 'number' ? config.evalEvery : RUN_DEFAULTS.evalEvery;
  const validation = { valFraction: checkpoint.training.config.valFraction, evalEvery, steps, owed: latestCheckpoint?.run.evaluationOwed };
  const unfinished = latestStep !== undefined && ((steps !== undefined && latestStep < steps) || owesEvaluation(runDir, latestStep, validation));
  return { config, checkpointFile: file, checkpointStep: checkpoint.training.step, ...(unfinished ? { unfinishedAt: latestStep } : {}) };
}

/** A run's --time and --early-stop as flags ("--time 10m, --early-stop 5"), undefined when it has neither. */
function budgetsOf(config: RunConfigFile): string | undefined {
  const time = typeof config.time === 'number' && config.time > 0 ? [`--time ${formatSeconds(config.time)}`] : [];
  const earlyStop = typeof config.earlyStop === 'number' && config.earlyStop > 0 ? [`--early-stop ${config.earlyStop}`] : [];
  const flags = [...time, ...earlyStop];
  return flags.length > 0 ? flags.join(', ') : undefined;
}

/** An unfinished run says so, first; one with a budget may have ended by it (the files do not say). */
function unfinishedBlocks(runDir: string, run: ReportedRun): Block[] {
  if (run.unfinishedAt === undefined) return [];
  const budgets = budgetsOf(run.config);
  if (budgets !== undefined && run.unfinishedAt < Number(run.config.steps)) {
    const of = Number(run.config.steps) < MAX_STEPS ? ` of ${run.config.steps}` : '';
    const text =
      `The run stopped at step ${run.unfinishedAt}${of} (latest.safetensors), by its budget (${budgets}) or by a signal; ` +
      `rnn-native train --resume ${runDir} goes on with it. This report is of ${path.basename(run.checkpointFile)} (step ${run.checkpointStep}).`;
    return [{ kind: 'paragraph', text }];
  }
  return [
    {
      kind: 'paragraph',
      text:
        `Unfinished: the run stopped at step ${run.unfinishedAt} of ${run.config.steps} (latest.safetensors)` +
        `${run.unfinishedAt === run.config.steps ? ', during its last evaluation' : ''}; ` +
        `rnn-native train --resume ${runDir} continues it. This report is of ${path.basename(run.checkpointFile)} (step ${run.checkpointStep}).`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// The blocks of the report

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; numeric?: boolean }
  | { kind: 'code'; text: string }
  | { kind: 'figure'; svg: string; png: string; alt: string };

function titleBlocks(runDir: string, config: Record<string, unknown>): Block[] {
  const made = typeof config.created === 'string' ? ` It started at ${config.created}.` : '';
  return [
    { kind: 'heading', level: 1, text: `Training report: ${runName(runDir)}` },
    { kind: 'paragraph', text: `Run directory ${path.resolve(runDir)}.${made}` },
  ];
}

function configBlocks(config: Record<string, unknown>): Block[] {
  const rows = flatten(config).map(([key, value]) => [key, key === 'data' && value === 'null' ? 'null (the built-in demo corpus)' : value]);
  return [
    { kind: 'heading', level: 2, text: 'Configuration' },
    { kind: 'paragraph', text: 'From config.json: the resolved options of the run, and its resumes.' },
    { kind: 'table', header: ['setting', 'value'], rows },
  ];
}

/** Nested objects as dotted keys ("corpus.sha256"); arrays and scalars as JSON. */
function flatten(object: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(object).flatMap(([key, value]): [string, string][] =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? flatten(value as Record<string, unknown>, `${prefix}${key}.`)
      : [[prefix + key, typeof value === 'string' ? value : JSON.stringify(value)]]
  );
}

function gradcheckBlocks(config: Record<string, unknown>, given: string | undefined, warnings: string[]): Block[] {
  const heading: Block = { kind: 'heading', level: 2, text: 'Gradient check' };
  const data = given ?? runData(config);
  // config.json holds it, checked against best.safetensors (runConfigOf).
  const runSha256 = (config.corpus as { sha256: string }).sha256;
  let checked: { result: GradcheckResult; source: string; vocabSize: number; otherText: string | undefined; size: CheckSize };
  try {
    const { corpus, source } = loadTrainingText(data, given === undefined ? { separator: runSeparator(config), cacheDir: runCacheDir(config) } : {});
    if (given === undefined && corpus.sha256 !== runSha256) {
      throw new UserError(
        `${source} has changed since the run was trained on it (SHA-256 ${corpus.sha256.slice(0, 12)}…, the run's ${runSha256.slice(0, 12)}…)`
      );
    }
    const otherText =
      corpus.sha256 === runSha256
        ? undefined
        : `${source} is not the text of this run (SHA-256 ${corpus.sha256.slice(0, 12)}…, the run's ${runSha256.slice(0, 12)}…).`;
    const size = checkSize(runModelOf(config), corpus.vocabSize);
    checked = { result: gradcheck(corpus, size.options), source, vocabSize: corpus.vocabSize, otherText, size };
  } catch (error) {
    // The run's own text may have moved, changed or be too big to check: the report is still worth writing.
    if (given !== undefined || !(error instanceof UserError)) throw error;
    const reason = `gradient check not run: ${error.message}; give a text with --gradcheck-data`;
    warnings.push(reason);
    return [heading, { kind: 'paragraph', text: reason }];
  }
  const { result, source, vocabSize, otherText, size } = checked;
  if (result.nativeError) warnings.push(`native gradients not checked: ${result.nativeError}`);
  return [
    heading,
    { kind: 'paragraph', text: checkText(size, source, vocabSize) },
    ...(otherText ? [{ kind: 'paragraph', text: otherText } as Block] : []),
    {
      kind: 'table',
      header: [
        'parameter',
        'numeric: max relative error',
        'numeric: max absolute error',
        'native: max relative error',
        'native: max absolute error',
        'numeric: max scaled error',
        'native: max scaled error',
      ],
      rows: gradcheckRows(result, '–'),
      numeric: true,
    },
    {
      kind: 'paragraph',
      text:
        `Targets (max scaled error): numeric ≤ ${GRADCHECK_TARGETS.numeric.toExponential()}, native ≤ ${GRADCHECK_TARGETS.native.toExponential()}: ` +
        `${gradcheckPasses(result) ? 'met' : 'NOT met'}.` +
        (result.nativeError ? ` Native gradients not checked: ${result.nativeError}.` : ''),
    },
  ];
}

/** The model a run trained, from its config.json. */
function runModelOf(config: Record<string, unknown>): CheckedModel {
  const model = { ...GRADCHECK_MODEL_DEFAULTS, hidden: config.hidden as number };
  // config.json is checked (readRunConfig); a file older than an option lacks it and had its default.
  for (const key of ['cell', 'layers', 'batch', 'dropout'] as const) if (config[key] !== undefined) Object.assign(model, { [key]: config[key] });
  return model;
}

interface CheckedModel {
  cell: CellKind;
  layers: number;
  hidden: number;
  batch: number;
  dropout: number;
}

/** The checked size of a run's model, and why it is not the run's own when it is not. */
interface CheckSize {
  run: CheckedModel;
  options: GradcheckOptions & CheckedModel;
  parameters: number;
  reasons: string[];
}

/** The report's share of the work of a gradient check: about 20 s of the float64 reference (~0.4 Gflop/s). */
export const REPORT_GRADCHECK_FLOPS = 8e9;
/** Entries checked per tensor when a numeric check of all entries of the run's model would exceed the budget. */
export const REPORT_GRADCHECK_ENTRIES = 10;
/** Streams enough to check the average over streams. */
const REPORT_GRADCHECK_STREAMS = 2;

/**
 * The run's model at its own size if a check of all entries is affordable; else `entries` random
 * entries of each tensor; then at most 2 streams (the average over streams is still checked); then a smaller hidden size, halved until it fits.
 */
export function checkSize(run: CheckedModel, vocab: number): CheckSize {
  const { seqLength } = GRADCHECK_DEFAULTS;
  const cost = (o: CheckedModel, entries: number | undefined) => {
    const { parameters, total } = parameterTable({ ...o, vocab });
    const checked = entries === undefined ? total : parameters.reduce((sum, p) => sum + Math.min(entries, p.length), 0);
    return 4 * checked * forwardFlops({ ...o, vocab }, o.batch, seqLength);
  };
  const parameters = parameterTable({ ...run, vocab }).total;
  const reasons: string[] = [];
  const model = { ...run };
  let entries: number | undefined;
  if (cost(model, undefined) > REPORT_GRADCHECK_FLOPS) {
    entries = REPORT_GRADCHECK_ENTRIES;
    reasons.push(`a numeric check of all ${parameters} parameters would take too long, so it checks ${entries} random entries of each tensor`);
  }
  if (cost(model, entries) > REPORT_GRADCHECK_FLOPS && model.batch > REPORT_GRADCHECK_STREAMS) {
    model.batch = REPORT_GRADCHECK_STREAMS;
    reasons.push(`it reads ${model.batch} streams, not the run's ${run.batch}`);
  }
  while (cost(model, entries) > REPORT_GRADCHECK_FLOPS && model.hidden > GRADCHECK_DEFAULTS.hidden) {
    model.hidden = Math.max(GRADCHECK_DEFAULTS.hidden, Math.floor(model.hidden / 2));
  }
  if (model.hidden !== run.hidden) reasons.push(`it checks m = ${model.hidden}, not the run's ${run.hidden}`);
  return { run, options: { ...model, entries }, parameters, reasons };
}

function checkText(size: CheckSize, source: string, vocabSize: number): string {
  const { options: o, run } = size;
  const { seqLength, step, seed } = GRADCHECK_DEFAULTS;
  const streams = o.batch === 1 ? `the first ${seqLength} characters of ${source}` : `the first ${seqLength} characters of ${o.batch} equal slices of ${source} (the streams of training's first update)`;
  const limits = size.reasons.length ? ` To fit the report's time (about ${REPORT_GRADCHECK_FLOPS.toExponential(0)} flops), ${size.reasons.join('; ')}.` : '';
  return (
    `The run's model, ${modelName(run)} (${size.parameters} parameters, K = ${vocabSize}), checked as ${modelName(o)}.${limits} ` +
    `On ${streams}: states 0, ${o.dropout > 0 ? `the dropout masks of update 1 with seed ${seed}, ` : ''}weights from seed ${seed}, ` +
    `unclipped gradients. "numeric": the float64 analytic gradients of the reference against finite differences ` +
    `(Richardson's extrapolation from centered differences with steps ${step} and ${2 * step})` +
    `${o.entries === undefined ? '' : `, on ${o.entries} random entries of each larger tensor`}; "native": the native float32 gradients ` +
    `against the float64 ones, on all entries. "Scaled": the error relative to the parameter's largest gradient, max |ga − gn| / max |g|, ` +
    `which the targets use (entries that cancel to ~0 have large relative errors from rounding alone).`
  );
}

function plotBlocks(plot: LossPlot, log: LossLog, run: ReportedRun): Block[] {
  const { last, lowest } = log;
  const alt = plot.validation ? 'Smooth training loss and validation loss against the update step' : 'Smooth loss against the update step';
  return [
    { kind: 'heading', level: 2, text: 'Loss' },
    { kind: 'figure', svg: plot.svg, png: 'loss.png', alt },
    {
      kind: 'paragraph',
      text:
        `At step ${last.step} (epoch ${last.epoch}) the smooth loss is ${last.smoothLoss.toFixed(3)}; the lowest logged is ` +
        `${lowest.smoothLoss.toFixed(3)}, at step ${lowest.step}. Loss: −Σ log p of the true next character over a sequence, in nats.`,
    },
    ...validationBlocks(plot, log, run),
    ...baselineBlocks(log, run),
  ];
}

/** The model's smooth loss per character beside what knowing nothing of order scores (lib/text/baselines.ts). */
function baselineBlocks(log: LossLog, run: ReportedRun): Block[] {
  const { config } = run;
  const perCharacter = (nats: number) => `${nats.toFixed(3)} nats (${(nats / Math.LN2).toFixed(3)} bits)`;
  const seqLength = typeof config.seqLength === 'number' ? config.seqLength : 25;
  const text = runTextBaselines(config);
  return [
    {
      kind: 'list',
      items: [
        `Smooth loss at step ${log.last.step} per character (÷ seqLength ${seqLength}): ${perCharacter(log.last.smoothLoss / seqLength)}.`,
        `A uniform guess over the K = ${text.vocabSize} characters: ln K = ${perCharacter(text.uniform)} per character.`,
        text.unigram !== undefined
          ? `A guess that knows only each character's frequency in the training text (its unigram entropy): ${perCharacter(text.unigram)} per character.`
          : `The unigram baseline is not given: ${text.why}.`,
      ],
    },
  ];
}

/** How the run's validation read the held-out text (docs/training.md#validation): a run without valStreams (before 0.6.0) read one stream. */
function readingOf(config: RunConfigFile): string {
  const streams = typeof config.valStreams === 'number' ? config.valStreams : 1;
  const max = typeof config.valMaxChars === 'number' && config.valMaxChars > 0 ? `its first ${config.valMaxChars} characters ` : '';
  if (streams === 1) return max === '' ? ' read as one stream' : ` (${max}read as one stream)`;
  return ` (${max}cut into ${streams} slices, each read as its own stream)`;
}

/** The best and last validation losses, in nats and bits per character, and which checkpoint best.safetensors is. */
function validationBlocks(plot: LossPlot, log: LossLog, run: ReportedRun): Block[] {
  if (!plot.validation) return [];
  const { rows, seqLength } = plot.validation;
  const perCharacter = (nats: number) => `${nats.toFixed(3)} nats (${(nats / Math.LN2).toFixed(3)} bits) per character`;
  const best = lowestValidation(rows);
  const last = rows[rows.length - 1];
  const lastSmooth = log.last;
  const bestStep = run.checkpointStep;
  const checkpoint = !run.checkpointFile.endsWith('best.safetensors')
    ? `There is no best.safetensors yet: the passage below is from latest.safetensors (step ${bestStep}).`
    : bestStep === best.step
      ? `best.safetensors is the checkpoint of step ${bestStep}, that of the lowest validation loss (with validation on, the validation loss decides it).`
      : `best.safetensors is the checkpoint of step ${bestStep}, not of step ${best.step}, that of the lowest validation loss in val.csv ` +
        `(with validation on, the validation loss decides it: val.csv and best.safetensors disagree).`;
  return [
    {
      kind: 'list',
      items: [
        `Best validation loss: ${perCharacter(best.valLoss)}, at step ${best.step} (epoch ${best.epoch}).`,
        `Last validation loss: ${perCharacter(last.valLoss)}, at step ${last.step} (epoch ${last.epoch}); ${rows.length} evaluation${rows.length === 1 ? '' : 's'} in val.csv.`,
        `Smooth training loss at step ${lastSmooth.step}, ÷ seqLength ${seqLength}: ${perCharacter(lastSmooth.smoothLoss / seqLength)}.`,
        checkpoint,
      ],
    },
    {
      kind: 'paragraph',
      text: `Validation loss: −log p of each true next character of the held-out text${readingOf(run.config)}, averaged over its characters (bits = nats ÷ ln 2).`,
    },
  ];
}

// samples.txt is read by the same parser as resume's (lib/run/run-dir.ts).
export { parseSamples, TrainingSample } from '../run/run-dir';

function sampleBlocks(file: string): Block[] {
  const samples = existsSync(file) ? parseSamples(readUserFile(file).toString('utf8'), file) : [];
  const heading: Block = { kind: 'heading', level: 2, text: 'Samples during training' };
  if (samples.length === 0) return [heading, { kind: 'paragraph', text: 'No samples were taken (see --sample-every).' }];
  return [
    heading,
    { kind: 'paragraph', text: `${samples.length} samples from samples.txt, in order, each from the model and hidden state of that step.` },
    ...samples.flatMap((sample): Block[] => [
      { kind: 'heading', level: 3, text: `Step ${sample.step}, smooth loss ${sample.smoothLoss.toFixed(3)}` },
      { kind: 'code', text: sample.text },
    ]),
  ];
}

/** PASSAGE_LENGTH characters from the run's checkpoint (best.safetensors), from h = 0 with a newline as the first input, as `sample` does. */
function passageBlocks(runDir: string, file: string, options: ReportOptions, warnings: string[]): Block[] {
  const seed = options.seed ?? REPORT_DEFAULTS.seed;
  const temperature = options.temperature ?? REPORT_DEFAULTS.temperature;
  const sample = sampleCheckpoint(file, { length: PASSAGE_LENGTH, temperature, seed });
  const selection = sample.backend;
  if (selection.warning) warnings.push(selection.warning);
  const text = Array.from(sample.pieces).join('');
  const { training, run } = sample.checkpoint;
  const loss = run.bestSmoothLoss === undefined ? '' : `, smooth loss ${run.bestSmoothLoss.toFixed(3)}`;
  return [
    { kind: 'heading', level: 2, text: file.endsWith('best.safetensors') ? 'A passage from the best checkpoint' : 'A passage from the latest checkpoint' },
    {
      kind: 'paragraph',
      text:
        `${PASSAGE_LENGTH} characters sampled from ${path.basename(file)} (step ${training.step}${loss}) with seed ${seed} and ` +
        `temperature ${temperature}, from h = 0 with a newline as the first input, on the ${selection.name} backend ` +
        `(the same as: rnn-native sample --model ${runDir} --length ${PASSAGE_LENGTH} --seed ${seed} --temperature ${temperature}).`,
    },
    { kind: 'code', text },
  ];
}

function speedBlocks(runDir: string, config: Record<string, unknown>, log: LossLog): Block[] {
  const { last } = log;
  const items = [
    `Training time: ${seconds(last.elapsed)} (elapsed_s of the last loss.csv row: the time spent training, over all resumes).`,
    last.elapsed > 0
      ? `Speed: ${Math.round(last.step / last.elapsed)} updates/s (step ${last.step} / training time).`
      : 'Speed: unknown (no training time was logged).',
  ];
  const wall = wallSeconds(runDir, config);
  const resumes = Array.isArray(config.resumed) ? config.resumed.length : 0;
  if (wall !== undefined) {
    const gaps = resumes > 0 ? `, including the time between the ${resumes} resume${resumes === 1 ? '' : 's'}` : '';
    items.push(`Wall time: ${seconds(wall)} (from the start in config.json to the last checkpoint write: loading the text and writing files too${gaps}).`);
  }
  return [{ kind: 'heading', level: 2, text: 'Speed' }, { kind: 'list', items }];
}

function seconds(value: number): string {
  return value >= 60 ? `${value.toFixed(1)} s (${formatDuration(value)})` : `${value.toFixed(2)} s`;
}

/** config.json's "created" to latest.safetensors' modification time, when both are known. */
function wallSeconds(runDir: string, config: Record<string, unknown>): number | undefined {
  const started = typeof config.created === 'string' ? Date.parse(config.created) : NaN;
  const latest = path.join(runDir, 'latest.safetensors');
  if (!Number.isFinite(started) || !existsSync(latest)) return undefined;
  const wall = (statSync(latest).mtimeMs - started) / 1000;
  return wall >= 0 ? wall : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Inline Markdown text: &, < and > as entities, and the characters Markdown would format backslash-escaped. */
function markdownText(text: string): string {
  return text
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)
    .replace(/[\\`*_[\]|]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, ' ');
}

/** A fence longer than any run of backticks in the text, so the text cannot close it. */
function markdownCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

export function renderMarkdown(blocks: Block[]): string {
  const parts = blocks.map((block) => {
    switch (block.kind) {
      case 'heading':
        return `${'#'.repeat(block.level)} ${markdownText(block.text)}`;
      case 'paragraph':
        return markdownText(block.text);
      case 'list':
        return block.items.map((item) => `- ${markdownText(item)}`).join('\n');
      case 'table': {
        const row = (cells: string[]) => `| ${cells.map(markdownText).join(' | ')} |`;
        const rule = `|${block.header.map((_, i) => (block.numeric && i > 0 ? ' ---: ' : ' --- ')).join('|')}|`;
        return [row(block.header), rule, ...block.rows.map(row)].join('\n');
      }
      case 'code':
        return markdownCode(block.text);
      case 'figure':
        return `![${markdownText(block.alt)}](${encodeURI(block.png)})`;
    }
  });
  return parts.join('\n\n') + '\n';
}

const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; max-width: 920px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; color: #444; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
th { background: #f4f4f4; }
td { word-break: break-all; }
pre { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f7f7f5; border: 1px solid #e4e4e0; padding: 0.7em 0.9em; white-space: pre-wrap; word-wrap: break-word; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
`;

/** The HTML page of `blocks`; `generator` (a meta tag) names the command that wrote it, so that it can recognise its own file. */
export function renderHtml(blocks: Block[], title: string, generator?: string): string {
  const body = blocks.map((block) => {
    switch (block.kind) {
      case 'heading':
        return `<h${block.level}>${escapeMarkup(block.text)}</h${block.level}>`;
      case 'paragraph':
        return `<p>${escapeMarkup(block.text)}</p>`;
      case 'list':
        return `<ul>${block.items.map((item) => `<li>${escapeMarkup(item)}</li>`).join('')}</ul>`;
      case 'table': {
        const cell = (text: string, i: number) => `<td${block.numeric && i > 0 ? ' class="number"' : ''}>${escapeMarkup(text)}</td>`;
        const head = `<tr>${block.header.map((text) => `<th>${escapeMarkup(text)}</th>`).join('')}</tr>`;
        return `<table>${head}${block.rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('')}</table>`;
      }
      case 'code':
        return `<pre>${escapeMarkup(block.text)}</pre>`;
      case 'figure':
        // The SVG comes from lib/report/plot.ts, which escapes every text it draws.
        return `<figure role="img" aria-label="${escapeMarkup(block.alt)}">${block.svg}</figure>`;
    }
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    ...(generator ? [`<meta name="generator" content="${escapeMarkup(generator)}">`] : []),
    // Self-contained: the page may load nothing, and runs no script.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeMarkup(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
