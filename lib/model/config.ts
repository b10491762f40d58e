// The one table of training options. Each row is one option: its name in the library and in
// config.json (key), its command-line flag, its type and accepted range, its default, what it
// belongs to, and its help text. From it come train's command-line options, the Trainer's
// validation, config.json (written, and checked on resume), the checkpoint's "config" metadata,
// and the check that a resumed run keeps its model. Adding an option is adding a row (and its use).
import { distance } from 'fastest-levenshtein';
import { UserError } from '../util/errors';
import { LIMITS } from './limits';
import { checkValue, OptionSpec } from '../util/option-values';

/**
 * model: defines the model; stored in every checkpoint; a resumed run must keep it.
 * backend: which backend trains (config.json; a resume may change it).
 * run: a setting of the training run (config.json; a resume may change it).
 */
export type OptionScope = 'model' | 'backend' | 'run';

type RowSpec =
  | { kind: 'integer'; min: number; max: number; default: number }
  | { kind: 'number'; min: number; max: number; exclusiveMin?: boolean; default: number }
  | { kind: 'choice'; choices: readonly string[]; default: string }
  /** Seconds, given as a duration's text; the default 0 is none (0 is never given). */
  | { kind: 'duration'; max: number; default: 0 };

export type OptionRow = RowSpec & {
  key: string;
  flag: string;
  scope: OptionScope;
  help: string;
  /**
   * The version that added the option. Options of the first version have none: every config.json
   * (and, for model options, every checkpoint) holds them. A file older than an option lacks it and
   * takes its default, which must be the behaviour before the option existed.
   */
  since?: string;
  /** The help's "(default …)" when the default of a new run is not the row's default (which is what an older file means). */
  defaultHelp?: string;
};

/** The most updates a run may have (--steps and the other counts of updates). */
export const MAX_STEPS = 1e12;
/** The version that added cells, layers, streams, dropout, validation and the other optimizers. */
const V2 = '0.2.0';
/** The version that added --forget-bias. */
const V3 = '0.3.0';
/** The version that added the budgets --time and --early-stop. */
const V5 = '0.5.0';
/** The version that adds --init (the per-cell default initialisation), --val-streams and --val-max-chars; not yet released. */
const V6 = '0.6.0';
/** The longest --time: a year, in seconds. */
export const MAX_TIME = 365 * 24 * 3600;

const SEED_RANGE = { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

export const TRAINING_OPTIONS = [
  { key: 'steps', flag: 'steps', scope: 'run', kind: 'integer', min: 1, max: MAX_STEPS, default: 100000, help: 'train up to this many updates' },
  { key: 'hidden', flag: 'hidden', scope: 'model', kind: 'integer', min: 1, max: LIMITS.maxHidden, default: 100, help: 'hidden units m' },
  { key: 'seqLength', flag: 'seq-length', scope: 'model', kind: 'integer', min: 1, max: LIMITS.maxSeqLength, default: 25, help: 'characters per update' },
  { key: 'eta', flag: 'eta', scope: 'model', kind: 'number', min: 1e-30, max: 3.4e38, default: 0.1, help: 'learning rate (rmsprop and adam: 0.002 unless given)' },
  { key: 'sigma', flag: 'sigma', scope: 'model', kind: 'number', min: 0, max: 1e3, default: 0.01, help: 'std. dev. of the initial weights of --init normal' },
  // The default of a new run depends on the model (lib/model/initialisation.ts); the row's default,
  // normal, is what a file written before the option means.
  { key: 'init', flag: 'init', scope: 'model', kind: 'choice', choices: ['normal', 'uniform'], default: 'normal', since: V6, help: 'initial weights: normal N(0, σ²) of --sigma, or uniform U(±1/√m) as PyTorch', defaultHelp: 'uniform for lstm, gru or 2+ layers without --sigma, else normal' },
  { key: 'epsilon', flag: 'epsilon', scope: 'model', kind: 'number', min: 1e-30, max: 1, default: 1e-8, help: 'epsilon of the optimizer' },
  { key: 'clip', flag: 'clip', scope: 'model', kind: 'number', min: 1e-30, max: 1e30, default: 5, help: 'gradients are clipped to [-clip, clip]' },
  { key: 'seed', flag: 'seed', scope: 'model', kind: 'integer', ...SEED_RANGE, default: 42, help: 'seed of the weights, dropout masks and samples' },
  { key: 'cell', flag: 'cell', scope: 'model', kind: 'choice', choices: ['rnn', 'lstm', 'gru'], default: 'rnn', since: V2, help: 'recurrent cell: rnn (tanh), lstm or gru' },
  { key: 'layers', flag: 'layers', scope: 'model', kind: 'integer', min: 1, max: LIMITS.maxLayers, default: 1, since: V2, help: 'stacked recurrent layers, each of --hidden units' },
  { key: 'batch', flag: 'batch', scope: 'model', kind: 'integer', min: 1, max: LIMITS.maxStreams, default: 1, since: V2, help: 'parallel streams B, each on its own slice of the text' },
  { key: 'dropout', flag: 'dropout', scope: 'model', kind: 'number', min: 0, max: 0.95, default: 0, since: V2, help: "probability of dropping a unit of each layer's output" },
  { key: 'forgetBias', flag: 'forget-bias', scope: 'model', kind: 'number', min: -100, max: 100, default: 0, since: V3, help: 'initial bias of the lstm forget gates, 1 in char-rnn' },
  { key: 'optimizer', flag: 'optimizer', scope: 'model', kind: 'choice', choices: ['adagrad', 'rmsprop', 'adam'], default: 'adagrad', since: V2, help: 'adagrad, rmsprop or adam' },
  { key: 'rmsDecay', flag: 'rms-decay', scope: 'model', kind: 'number', min: 0, max: 0.9999, default: 0.95, since: V2, help: "rmsprop's decay of the mean squared gradient" },
  { key: 'beta1', flag: 'beta1', scope: 'model', kind: 'number', min: 0, max: 0.9999, default: 0.9, since: V2, help: "adam's decay of the first moment" },
  { key: 'beta2', flag: 'beta2', scope: 'model', kind: 'number', min: 0, max: 0.99999, default: 0.999, since: V2, help: "adam's decay of the second moment" },
  { key: 'lrDecay', flag: 'lr-decay', scope: 'model', kind: 'number', min: 1e-6, max: 1, default: 1, since: V2, help: 'the learning rate is multiplied by this once per epoch after --lr-decay-after' },
  { key: 'lrDecayAfter', flag: 'lr-decay-after', scope: 'model', kind: 'integer', min: 0, max: 1e9, default: 10, since: V2, help: 'the last epoch at the full learning rate' },
  { key: 'valFraction', flag: 'val-fraction', scope: 'model', kind: 'number', min: 0, max: 0.5, default: 0, since: V2, help: 'hold out this last part of the text for the validation loss' },
  // The validation loss's definition (docs/training.md#validation): a resumed run keeps its own. The
  // row's default, one stream, is what a file written before the option means.
  { key: 'valStreams', flag: 'val-streams', scope: 'model', kind: 'integer', min: 1, max: LIMITS.maxStreams, default: 1, since: V6, help: 'validation reads the held-out part as this many streams side by side, 1 = one stream', defaultHelp: 'the --batch' },
  { key: 'valMaxChars', flag: 'val-max-chars', scope: 'model', kind: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, since: V6, help: 'validation reads at most the first this many held-out characters, 0 = all' },
  { key: 'backend', flag: 'backend', scope: 'backend', kind: 'choice', choices: ['auto', 'native', 'wasm', 'ts'], default: 'auto', help: 'native, wasm, ts, or auto (native if it loads, else wasm)' },
  { key: 'logEvery', flag: 'log-every', scope: 'run', kind: 'integer', min: 1, max: MAX_STEPS, default: 100, help: 'updates between loss.csv rows and log lines' },
  { key: 'sampleEvery', flag: 'sample-every', scope: 'run', kind: 'integer', min: 0, max: MAX_STEPS, default: 10000, help: 'updates between samples, 0 = never' },
  { key: 'sampleLength', flag: 'sample-length', scope: 'run', kind: 'integer', min: 1, max: 1e6, default: 200, help: 'characters per sample' },
  { key: 'temperature', flag: 'temperature', scope: 'run', kind: 'number', min: 0, max: 100, default: 1, help: 'sampling temperature, 0 = argmax' },
  { key: 'checkpointEvery', flag: 'checkpoint-every', scope: 'run', kind: 'integer', min: 0, max: MAX_STEPS, default: 10000, help: 'updates between checkpoints, 0 = only at the end' },
  { key: 'threads', flag: 'threads', scope: 'run', kind: 'integer', min: 1, max: LIMITS.maxThreads, default: 1, since: V2, help: 'threads of the native backend, the --batch streams split among them (same threads, same run)' },
  { key: 'evalEvery', flag: 'eval-every', scope: 'run', kind: 'integer', min: 1, max: MAX_STEPS, default: 1000, since: V2, help: 'updates between validation losses (with --val-fraction)' },
  { key: 'time', flag: 'time', scope: 'run', kind: 'duration', max: MAX_TIME, default: 0, since: V5, help: 'stop with a checkpoint after this long (90s, 10m, 1h30m), validation included; each resume takes a new one; alone, no --steps limit' },
  { key: 'earlyStop', flag: 'early-stop', scope: 'run', kind: 'integer', min: 0, max: 1e6, default: 0, since: V5, help: 'stop after this many validations without a lower loss (with --val-fraction), 0 = never' },
] as const satisfies readonly OptionRow[];

type Row = (typeof TRAINING_OPTIONS)[number];
type ValueOf<R extends Row> = R extends { kind: 'choice'; choices: readonly (infer C)[] } ? C : number;
type ConfigOf<S extends OptionScope> = { [R in Extract<Row, { scope: S }> as R['key']]: ValueOf<R> };

/** The options that define the model (the checkpoint's "config"). */
export type ModelConfig = ConfigOf<'model'>;
/** The settings of a training run. */
export type RunConfig = ConfigOf<'run'>;
export type TrainingFlag = Row['flag'];

export const rowsOf = (scope: OptionScope): readonly OptionRow[] => TRAINING_OPTIONS.filter((row) => row.scope === scope);

function defaultsOf<T>(scope: OptionScope): T {
  return Object.fromEntries(rowsOf(scope).map((row) => [row.key, row.default])) as T;
}

export const MODEL_DEFAULTS: Readonly<ModelConfig> = Object.freeze(defaultsOf<ModelConfig>('model'));
export const RUN_DEFAULTS: Readonly<RunConfig> = Object.freeze(defaultsOf<RunConfig>('run'));

/** The command-line spec of a row: its range, and its help with the default. */
export function cliSpec(row: OptionRow): OptionSpec {
  const help = `${row.help} (default ${row.defaultHelp ?? (row.kind === 'duration' ? 'none' : row.default)})`;
  const { default: _default, key: _key, flag: _flag, scope: _scope, help: _help, since: _since, defaultHelp: _defaultHelp, ...spec } = row;
  return { ...spec, help } as OptionSpec;
}

/** A row's value as a file saved it: checked by the command line's rules; absent only if the option is newer than the file. */
export function savedValue(row: OptionRow, saved: unknown, label: string): number | string {
  if (saved === undefined && row.since !== undefined) return row.default;
  if (saved === undefined) throw new UserError(`${label} is missing`);
  // A file holds a duration as its seconds, 0 for none.
  if (row.kind === 'duration') return checkValue(label, { kind: 'integer', min: 0, max: row.max, help: row.help }, saved) as number;
  return checkRow(row, saved, label);
}

type CliSpecOf<R extends Row> = Extract<OptionSpec, { kind: R['kind'] }>;

/** train's command-line options of the table, by flag. */
export function trainingSpecs(): { [R in Row as R['flag']]: CliSpecOf<R> } {
  return Object.fromEntries(TRAINING_OPTIONS.map((row) => [row.flag, cliSpec(row)])) as { [R in Row as R['flag']]: CliSpecOf<R> };
}

/** A value of a row, checked as the command line checks it; `label` names it in the message. */
export function checkRow(row: OptionRow, value: unknown, label: string = row.key): number | string {
  return checkValue(label, cliSpec(row), value) as number | string;
}

/**
 * The values of `rows` in `given` (e.g. a library caller's options), each checked, merged over
 * `defaults`. An undefined value counts as absent; a name that is not an option is a UserError.
 */
export function resolveOptions<T>(given: object, rows: readonly OptionRow[], defaults: T, what: string): T {
  checkOptions(given, Object.fromEntries(rows.map((row) => [row.key, cliSpec(row)])), what);
  const present = Object.entries(given).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(present) };
}

/**
 * A library caller's options, checked against specs keyed by option name as the command line
 * checks its flags (the same messages, naming the option): an unknown name is a UserError, and
 * an undefined value counts as absent.
 */
export function checkOptions<T extends object>(given: T, specs: Record<string, OptionSpec>, what: string): T {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new UserError(`${what}: the options must be an object`);
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(specs, key)) throw unknownOption(key, Object.keys(specs), what);
    if (value !== undefined) checkValue(key, specs[key], value);
  }
  return given;
}

/** The seed of a generator: any safe integer. */
export const SEED_SPEC = { kind: 'integer', ...SEED_RANGE } as const;

function unknownOption(name: string, known: string[], what: string): UserError {
  const gap = (k: string) => distance(k.toLowerCase(), name.toLowerCase());
  const near = known.filter((k) => gap(k) <= 2).sort((a, b) => gap(a) - gap(b))[0];
  const hint = near ? `did you mean "${near}"? ` : '';
  return new UserError(`${what}: unknown option "${name}"; ${hint}the options are ${known.join(', ')}`);
}
