// A training run set up from train's options, new (--out) or resumed (--resume): everything is
// checked before anything is written. The command line (lib/cli/train.ts) and the library's worker
// (lib/library/train-worker.ts) both start their runs here.
import { createHash } from 'crypto';
import { existsSync } from 'fs';
import { availableParallelism } from 'os';
import path from 'path';
import { BackendChoice } from '../engine/backend';
import { Checkpoint, readCheckpointNoting, RunRecord } from './checkpoint';
import { Corpus } from '../text/corpus';
import { UserError } from '../util/errors';
import { MAX_STEPS, ModelConfig, OptionRow, rowsOf, RUN_DEFAULTS, trainingSpecs } from '../model/config';
import { OptionSpecs, ParsedOptions } from '../util/option-values';
import { checkAgainstCheckpoint, RunConfigFile } from './run-config';
import { unescapeSeparator } from '../text/corpus';
import { RunSettings } from './run';
import { modelCheckpoint, owesEvaluation, RunDir, validationsSinceBest } from './run-dir';
import { Trainer, WEIGHT_OPTIONS } from './trainer';
import { PRESET_NAMES, PresetName, PRESETS } from '../model/presets';
import { updatesPerEpoch } from '../model/stream-walk';
import { note, warn } from '../util/output';
import { readUserFile } from '../util/files';
import { Vocabulary } from '../text/vocabulary';
import { dataList, loadTrainingText, skippedLine } from '../text/training-text';
import { absoluteValue } from '../text/inputs';
import { collectionChange, corpusRecord, runCacheDir, runData, runSeparator } from './run-config';
import { VERSION } from '../util/package';

export const TRAIN_OPTIONS = {
  data: { kind: 'paths', help: 'UTF-8 text: a file, a folder (its files, recursively) or a quoted glob; again for more (default: the demo corpus)' },
  'cache-dir': { kind: 'string', help: 'the token cache of big texts (default $XDG_CACHE_HOME/rnn-native or ~/.cache/rnn-native)' },
  separator: { kind: 'string', allowEmpty: true, help: 'joins the texts of several files (default "\\n"; \\n, \\t and \\\\ are escapes)' },
  preset: { kind: 'choice', choices: PRESET_NAMES, help: 'start from named settings: dd2424 (the defaults) or char-rnn; flags given beside it win' },
  ...trainingSpecs(),
  epochs: { kind: 'integer', min: 1, max: 1e6, help: 'train for this many passes over the text (instead of --steps)' },
  out: { kind: 'string', help: 'run directory (default runs/<date-time>)' },
  resume: { kind: 'string', help: 'continue the run in this directory from its latest.safetensors' },
  'init-from': { kind: 'string', help: "a new run from a trained model's weights: a checkpoint, or a run directory (its best.safetensors); the model comes from it" },
  json: { kind: 'flag', help: 'print JSON lines, one object per event' },
  quiet: { kind: 'flag', help: 'print only the final line' },
  report: { kind: 'flag', help: 'at the end, write report.md and report.html into the run directory' },
} satisfies OptionSpecs;

/** train's options as the command line gives them (keyed by flag). */
export type TrainFlags = ParsedOptions<typeof TRAIN_OPTIONS>;

/** The value given on the command line for a row of the option table, if any. */
const given = (o: TrainFlags, row: OptionRow) => (o as Record<string, number | string | undefined>)[row.flag];

/** A run ready to train: nothing is left to check. */
export interface Prepared {
  trainer: Trainer;
  dir: RunDir;
  settings: RunSettings;
  record: RunRecord;
  /** A resume that will not continue the run bit for bit, and why. */
  drift?: string;
  /** The checkpoint's step owes its evaluation (a stop during the pass): the run does it first. */
  evaluationPending?: boolean;
  /** A new run from a trained model's weights (--init-from): where they came from. */
  initFrom?: InitFrom;
}

/** Options that cannot go together: a UserError naming them. */
export function refuseConflicts(o: TrainFlags): void {
  if (o.steps !== undefined && o.epochs !== undefined) throw new UserError('use either --steps or --epochs, not both');
  if (o.json && o.quiet) throw new UserError('use either --json or --quiet, not both');
  if (o.resume !== undefined && o.out !== undefined) throw new UserError('--resume continues in its own directory; leave out --out');
  if (o.resume !== undefined && o.preset !== undefined) throw new UserError('--preset chooses the model of a new run; a resumed run keeps its own (leave out --preset)');
  if (o['init-from'] !== undefined && o.resume !== undefined) throw new UserError('--init-from starts a new run; --resume continues one: give one of them');
  if (o['init-from'] !== undefined && o.preset !== undefined) throw new UserError('--init-from takes the model from its checkpoint; leave out --preset');
}

/** The run of the options, new or resumed; `showLoading`: the text's loading progress on a terminal. */
export function prepareRun(o: TrainFlags, showLoading: boolean): Prepared {
  refuseConflicts(o);
  return o.resume !== undefined ? prepareResume(o, o.resume, showLoading) : prepareNew(o, showLoading);
}

/** What a user should know before the run starts: a backend fallback, a resume that drifts, flags that do nothing. */
export function setupWarnings(o: TrainFlags, prepared: Prepared): string[] {
  const { trainer, drift } = prepared;
  const skipped = skippedLine(trainer.corpus);
  return [
    ...(skipped ? [skipped] : []),
    ...(trainer.backendWarning ? [trainer.backendWarning] : []),
    ...(drift ? [drift] : []),
    ...unusedFlags(o, trainer),
    ...idleThreads(o, trainer),
  ];
}

/** Run settings: the command line's, else the run's saved ones (config.json, checked), else defaults. */
function settingsFrom(o: TrainFlags, saved: RunConfigFile, steps: number): RunSettings {
  const settings: Record<string, unknown> = { ...RUN_DEFAULTS };
  for (const row of rowsOf('run')) settings[row.key] = given(o, row) ?? saved[row.key] ?? row.default;
  return { ...(settings as unknown as RunSettings), steps };
}

/** The flags given that the model's other options make do nothing (a user who gives one expects an effect). */
function unusedFlags(o: TrainFlags, trainer: Trainer): string[] {
  const c = trainer.config;
  const unused = (flag: string, value: unknown, useless: boolean, why: string) => (value !== undefined && useless ? [`--${flag} has no effect ${why}`] : []);
  return [
    ...unused('threads', o.threads !== undefined && o.threads > 1 ? o.threads : undefined, c.backend !== 'native' || c.batch === 1, c.backend !== 'native' ? `on the ${c.backend} backend (it runs one thread)` : 'with --batch 1 (the threads split the streams)'),
    ...unused('forget-bias', o['forget-bias'], c.cell !== 'lstm', `with --cell ${c.cell}`),
    ...unused('sigma', o.sigma, c.init === 'uniform', 'with --init uniform (it draws from U(±1/√m))'),
    ...unused('eval-every', o['eval-every'], c.valFraction === 0, 'without --val-fraction'),
    ...unused('val-streams', o['val-streams'], c.valFraction === 0, 'without --val-fraction'),
    ...unused('val-max-chars', o['val-max-chars'], c.valFraction === 0, 'without --val-fraction'),
    ...unused('rms-decay', o['rms-decay'], c.optimizer !== 'rmsprop', `with --optimizer ${c.optimizer}`),
    ...unused('beta1', o.beta1, c.optimizer !== 'adam', `with --optimizer ${c.optimizer}`),
    ...unused('beta2', o.beta2, c.optimizer !== 'adam', `with --optimizer ${c.optimizer}`),
    ...unused('lr-decay-after', o['lr-decay-after'], c.lrDecay === 1, 'without --lr-decay'),
    ...unused('separator', o.separator, trainer.corpus.documents.length === 1, 'with one text'),
  ];
}

/**
 * --threads beyond what it can use on the native backend: one thread per stream at most, and
 * threads beyond this process's CPUs only take turns (slower than fewer, not faster).
 */
function idleThreads(o: TrainFlags, trainer: Trainer): string[] {
  const c = trainer.config;
  if (o.threads === undefined || c.backend !== 'native' || c.batch === 1) return [];
  const cpus = availableParallelism();
  return [
    ...(c.batch > 1 && o.threads > c.batch ? [`--threads ${o.threads} with --batch ${c.batch}: ${c.batch} threads are used (one per stream)`] : []),
    ...(Math.min(o.threads, c.batch > 1 ? c.batch : o.threads) > cpus ? [`--threads ${o.threads} is more than the ${cpus} CPUs this process may use: the threads take turns, slower than --threads ${cpus}`] : []),
  ];
}

function targetSteps(o: TrainFlags, trainer: Trainer, saved: number | undefined): number {
  if (o.steps !== undefined) return o.steps;
  if (o.epochs !== undefined) return o.epochs * updatesPerEpoch(trainer.trainingText.length, trainer.config.seqLength, trainer.config.batch);
  // A new run given only a time budget trains until it is spent; a resumed one keeps its steps.
  if (saved === undefined && o.time !== undefined) return MAX_STEPS;
  return saved ?? 100000;
}

/** --early-stop counts validation losses: a run without any is refused. */
function refuseEarlyStopWithoutValidation(settings: RunSettings, trainer: Trainer): void {
  if (settings.earlyStop > 0 && trainer.config.valFraction === 0) {
    throw new UserError(`--early-stop ${settings.earlyStop} needs a validation loss: give --val-fraction (e.g. 0.1), or leave out --early-stop`);
  }
}

/** A resumed run that --early-stop already stopped would stop again before its first update. */
function refuseStoppedEarly(dir: RunDir, step: number, earlyStop: number): void {
  const since = earlyStop > 0 ? validationsSinceBest(dir.dir, step) : 0;
  if (earlyStop > 0 && since >= earlyStop) {
    throw new UserError(
      `${dir.dir} has had no lower validation loss in its last ${since} evaluations, so --early-stop ${earlyStop} stops it at once; ` +
        `give a larger --early-stop, or --early-stop 0, to train on`
    );
  }
}

/** A new run: from random weights, or with --init-from from a trained model's. */
function prepareNew(o: TrainFlags, showLoading: boolean): Prepared {
  const separator = o.separator === undefined ? undefined : unescapeSeparator(o.separator);
  const rows = [...rowsOf('model'), ...rowsOf('backend')];
  const options = (extra: Partial<Record<string, unknown>>) => Object.fromEntries(rows.map((row) => [row.key, given(o, row) ?? extra[row.key]]));
  // The checkpoint first: a model flag it refuses costs no reading of the text.
  const start = o['init-from'] === undefined ? undefined : startingWeights(o, o['init-from']);
  const { corpus: text } = loadTrainingText(o.data, { showProgress: showLoading, separator, cacheDir: o['cache-dir'] });
  const preset: Partial<Record<string, unknown>> = o.preset === undefined ? {} : PRESETS[o.preset as PresetName];
  const trainer =
    start === undefined
      ? new Trainer(text, options(preset))
      : Trainer.fromWeights(text.inVocabulary(new Vocabulary(start.checkpoint.training.vocabulary), `the model of ${start.file}`), start.checkpoint.training, options({}));
  const initFrom = start?.initFrom;
  const corpus = trainer.corpus;
  const settings = settingsFrom(o, {}, targetSteps(o, trainer, undefined));
  refuseEarlyStopWithoutValidation(settings, trainer);
  trainer.setThreads(settings.threads);
  // Only now, with every input checked, is anything written.
  const dir = RunDir.create(o.out ?? defaultOutDir());
  const { backend, ...model } = trainer.config;
  dir.writeConfig({
    version: VERSION,
    data: dataField(o.data),
    corpus: corpusRecord(corpus, trainer.trainingText.length),
    ...(o['cache-dir'] !== undefined ? { cacheDir: path.resolve(o['cache-dir']) } : {}),
    ...model,
    backend,
    ...settings,
    ...(initFrom !== undefined ? { initFrom } : {}),
    created: new Date().toISOString(),
  });
  const record: RunRecord = {
    corpusSha256: corpus.sha256,
    corpusCharacters: corpus.length,
    ...(corpus.documents.length > 1 ? { trainingCharacters: trainer.trainingText.length } : {}),
    bestSmoothLoss: undefined,
    elapsedSeconds: 0,
  };
  return { trainer, dir, settings, record, ...(initFrom !== undefined ? { initFrom } : {}) };
}

/** Where a run's starting weights came from (config.json's initFrom): the checkpoint file, its SHA-256 and step. */
export interface InitFrom {
  path: string;
  sha256: string;
  step: number;
}

/**
 * The checkpoint of --init-from (a run directory stands for its best.safetensors, as in sample),
 * read and checked; model flags that differ from the weights' are refused, naming each.
 */
function startingWeights(o: TrainFlags, source: string): { file: string; checkpoint: Checkpoint; initFrom: InitFrom } {
  const { file, note: fallback } = modelCheckpoint(source);
  if (fallback) note(fallback);
  const bytes = readUserFile(file);
  const checkpoint = readCheckpointNoting(file, bytes);
  const model = checkpoint.training.config;
  const conflicts = rowsOf('model')
    .filter((row) => (WEIGHT_OPTIONS as readonly string[]).includes(row.key) && given(o, row) !== undefined && given(o, row) !== modelValue(model, row))
    .map((row) => `--${row.flag} ${given(o, row)} (the model has ${modelValue(model, row)})`);
  if (conflicts.length > 0) throw new UserError(`--init-from takes the model from ${file}: ${conflicts.join(', ')}; leave them out`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { file, checkpoint, initFrom: { path: path.resolve(file), sha256, step: checkpoint.training.step } };
}

function prepareResume(o: TrainFlags, resume: string, showLoading: boolean): Prepared {
  const dir = RunDir.open(resume);
  const checkpoint = readCheckpointNoting(dir.latestPath);
  const saved = dir.readConfig();
  if (saved !== undefined) checkAgainstCheckpoint(saved, checkpoint, dir.configPath, dir.latestPath, true);
  else warn(`${dir.configPath} is missing: the text is --data (else the demo corpus) and the settings are the defaults`);
  const config = saved ?? {};
  const data = o.data ?? runData(config);
  const separator = o.separator === undefined ? runSeparator(config) : unescapeSeparator(o.separator);
  const cacheDir = o['cache-dir'] ?? runCacheDir(config);
  const { corpus: text, source } = loadTrainingText(data, { showProgress: showLoading, separator, cacheDir });
  const changed = collectionChange(config, text);
  if (changed !== undefined) throw new UserError(`${changed}: a resumed run trains on the texts it started with; restore them, or start a new run`);
  if (text.sha256 !== checkpoint.run.corpusSha256) {
    throw new UserError(
      `${source} is not the text this run was trained on (SHA-256 ${text.sha256.slice(0, 12)}…, ` +
        `the run's ${checkpoint.run.corpusSha256.slice(0, 12)}…); give the original with --data`
    );
  }
  // A run started from a trained model's weights (--init-from) trains in the model's vocabulary.
  const corpus = text.inVocabulary(new Vocabulary(checkpoint.training.vocabulary), `the run ${dir.dir}`);
  const model = checkpoint.training.config;
  const conflicts = rowsOf('model')
    .filter((row) => given(o, row) !== undefined && given(o, row) !== modelValue(model, row))
    .map((row) => `--${row.flag} ${given(o, row)} (the run has ${modelValue(model, row)})`);
  if (conflicts.length > 0) throw new UserError(`cannot change the model of a resumed run: ${conflicts.join(', ')}`);

  // The run's own backend by default: the other one would continue, but not bit for bit.
  const backend = (o.backend ?? (config.backend === 'ts' || config.backend === 'wasm' ? config.backend : 'auto')) as BackendChoice;
  const savedSteps = typeof config.steps === 'number' ? config.steps : undefined;
  const trainer = Trainer.restore(corpus, checkpoint.training, backend);
  const settings = settingsFrom(o, config, targetSteps(o, trainer, savedSteps));
  const step = checkpoint.training.step;
  const savedEvalEvery = typeof config.evalEvery === 'number' ? config.evalEvery : settings.evalEvery;
  const { evaluationOwed: owed, ...record } = checkpoint.run;
  const evaluationPending = owesEvaluation(dir.dir, step, { valFraction: trainer.config.valFraction, evalEvery: savedEvalEvery, steps: savedSteps, owed });
  if (settings.steps < step || (settings.steps === step && !evaluationPending)) {
    throw new UserError(`${dir.dir} is already at step ${step}; give --steps (or --epochs) beyond it to train on`);
  }
  refuseEarlyStopWithoutValidation(settings, trainer);
  if (!evaluationPending) refuseStoppedEarly(dir, step, settings.earlyStop);
  trainer.setThreads(settings.threads);
  // Only now, with every input checked, is anything written.
  dir.truncateAfter(step, checkpoint.training);
  const resumes = Array.isArray(config.resumed) ? config.resumed : [];
  const resumed = [...resumes, { at: new Date().toISOString(), step, backend: trainer.config.backend }];
  // Texts found elsewhere with --data are recorded where they are now, for the next resume.
  const moved = {
    ...(o.data !== undefined ? { data: dataField(o.data), corpus: corpusRecord(corpus, trainer.trainingText.length) } : {}),
    ...(o['cache-dir'] !== undefined ? { cacheDir: path.resolve(o['cache-dir']) } : {}),
  };
  const whole = saved ? { ...config, ...moved } : wholeConfig(data, corpus, trainer.trainingText.length, checkpoint.training.config, trainer.config.backend);
  dir.writeConfig({ ...whole, ...settings, resumed });
  return { trainer, dir, settings, record, drift: resumeDrift(config, trainer, settings.threads), evaluationPending };
}

/**
 * Why a resume continues the run but not bit for bit: another backend (their multiplies sum in other
 * orders), or the native backend's streams split among another number of threads.
 */
function resumeDrift(saved: RunConfigFile, trainer: Trainer, threads: number): string | undefined {
  const c = trainer.config;
  // The backend of the last stretch: the last resume's, else the run's.
  const resumes = Array.isArray(saved.resumed) ? saved.resumed : [];
  const last = resumes.length > 0 ? (resumes[resumes.length - 1] as { backend?: unknown }).backend : saved.backend;
  if (typeof last === 'string' && last !== c.backend) {
    return `the run trained on the ${last} backend; it continues on ${c.backend}, not bit for bit as on ${last}`;
  }
  const parts = (n: number) => Math.min(n, c.batch);
  const before = typeof saved.threads === 'number' ? saved.threads : 1;
  if (c.backend === 'native' && c.batch > 1 && parts(before) !== parts(threads)) {
    return `the run trained with --threads ${before}; --threads ${threads} continues it, not bit for bit as --threads ${before} would`;
  }
  return undefined;
}

/**
 * A config.json for a run directory that had none (a checkpoint copied into it): every field, so
 * that the next resume and report read it. `created` is this resume: the run's start is unknown.
 */
function wholeConfig(data: readonly string[] | undefined, corpus: Corpus, training: number, model: ModelConfig, backend: string): RunConfigFile {
  return {
    version: VERSION,
    data: dataField(data),
    corpus: corpusRecord(corpus, training),
    ...model,
    backend,
    created: new Date().toISOString(),
  };
}

/** config.json's "data": null (the demo corpus), the one path, or the paths (absolute). */
function dataField(data: readonly string[] | undefined): string | string[] | null {
  const values = dataList(data).map(absoluteValue);
  return values.length === 0 ? null : values.length === 1 ? values[0] : values;
}

const modelValue = (model: ModelConfig, row: OptionRow) => (model as Record<string, unknown>)[row.key];

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
  let dir = path.join('runs', stamp);
  for (let n = 2; existsSync(dir); n++) dir = path.join('runs', `${stamp}-${n}`);
  return dir;
}
