// The gradient check of the one model: the float64 reference's analytic gradients against finite
// differences, and the native float32 gradients against the reference, on train's first block: B
// streams at the starts of B equal slices of the text (B = 1: its first seqLength characters),
// states 0, unclipped, the dropout masks of update 1 fixed so that the function is deterministic.
//
// Why it is built this way (measured at m = 100, K = 65, T = 25):
// - The estimate is Richardson's extrapolation of centered differences, (4·D(h) − D(2h)) / 3,
//   whose error is O(h⁴) instead of O(h²): plain centered differences with h = 1e-4 are off by up
//   to 3e-9 of a tensor's largest gradient (truncation), the extrapolation by under 1e-10.
// - Verdicts use the error relative to the tensor's largest gradient, max |ga − gn| / max |g|.
//   About one W entry in 10,000 cancels to ~1e-9 (the largest is ~3e-3), where the ~1e-14 of
//   rounding in any float64 difference quotient is already a relative error of 1e-6 or more;
//   no per-entry relative target can pass those without being blind elsewhere. The same holds
//   for float32 sums against float64 ones. The per-entry relative and absolute errors are still
//   reported.
import { Corpus } from '../text/corpus';
import { checkOptions, MODEL_DEFAULTS, SEED_SPEC, trainingSpecs } from '../model/config';
import { UserError } from '../util/errors';
import { OptionSpecs } from '../util/option-values';
import { loadNative } from './native';
import { Rng } from '../util/random';
import { createModelBackend } from './backend';
import { CellKind, Dropout, GATES, excessLoss, parameterTable, lossAndGradients, ModelShape, zeroState } from '../model/reference';
import { initialParams } from './engine';
import { PARAMETER_NAMES, VERSION1_TABLE_NAMES } from '../model/version1-names';
import { sliceLength } from '../model/stream-walk';

/** Loss and gradients of one block of the model, as the reference's lossAndGradients: the analytic side of the check. */
export type GradientFunction = typeof lossAndGradients;
/** @deprecated The same type as GradientFunction (one model, one check). */
export type StackedGradientFunction = GradientFunction;

export interface GradcheckOptions {
  hidden?: number;
  seqLength?: number;
  /** Finite-difference step h (default 1e-4); the estimate extrapolates from h and 2h. */
  step?: number;
  seed?: number;
  sigma?: number;
  /** Check this many entries of each tensor, drawn with the seed (default: all entries). */
  entries?: number;
  /** The model (defaults: train's, the DD2424 configuration: rnn, one layer, one stream, no dropout). */
  cell?: CellKind;
  layers?: number;
  /** Streams B of the block checked. */
  batch?: number;
  /** Dropout probability; the masks are those of update 1 with the seed. */
  dropout?: number;
  /** Called after each entry with the number done and the number to do. */
  onProgress?: (done: number, total: number) => void;
}

export interface ErrorSummary {
  /** max over entries of |ga − gn| / max(1e-10, |ga| + |gn|) */
  maxRelative: number;
  /** max over entries of |ga − gn| */
  maxAbsolute: number;
  /** max over entries of |ga − gn| / the largest |ga| of the tensor (or |gn| of an entry compared): what the verdict uses */
  maxScaled: number;
  /** number of entries compared */
  checked: number;
}

/** Per tensor: a one-layer rnn's U, W, V, b, c, any other model's layers.0.Wx, …, V, c. */
export type ErrorTable = Record<string, ErrorSummary>;

export interface GradcheckResult {
  /** The tensors, in the table's order: the keys of the tables. */
  tensors: string[];
  numeric: ErrorTable;
  /** Native float32 against the reference; absent when the addon cannot load. */
  native?: ErrorTable;
  nativeError?: string;
}

/** Work the check may take: the estimate costs four forward passes per checked entry. */
export const MAX_GRADCHECK_FLOPS = 2e11;

/** Targets of the gradient check: max error relative to the tensor's largest gradient (maxScaled). */
export const GRADCHECK_TARGETS = { numeric: 1e-8, native: 1e-5 } as const;

export const GRADCHECK_DEFAULTS = { hidden: 5, seqLength: 25, step: 1e-4, seed: 42, sigma: 0.01 } as const;

/** The model the check runs on by default: train's, the DD2424 configuration. */
export const GRADCHECK_MODEL_DEFAULTS = {
  cell: MODEL_DEFAULTS.cell as CellKind,
  layers: MODEL_DEFAULTS.layers,
  batch: MODEL_DEFAULTS.batch,
  dropout: MODEL_DEFAULTS.dropout,
} as const;

function definedOnly<T extends object>(given: T): Partial<T> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new UserError('gradcheck: the options must be an object');
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Compares analytic with other at the given entries; scaled by the largest gradient of the whole tensor. */
export function errorSummary(analytic: Float64Array, other: Float64Array, entries: Int32Array): ErrorSummary {
  let scale = 0;
  for (let i = 0; i < analytic.length; i++) scale = Math.max(scale, Math.abs(analytic[i]));
  for (const i of entries) scale = Math.max(scale, Math.abs(other[i]));
  let maxRelative = 0;
  let maxAbsolute = 0;
  for (const i of entries) {
    const diff = Math.abs(analytic[i] - other[i]);
    maxAbsolute = Math.max(maxAbsolute, diff);
    maxRelative = Math.max(maxRelative, diff / Math.max(1e-10, Math.abs(analytic[i]) + Math.abs(other[i])));
  }
  // A tensor whose gradients are all 0 on both sides agrees exactly.
  const maxScaled = maxAbsolute === 0 ? 0 : maxAbsolute / scale;
  return { maxRelative, maxAbsolute, maxScaled, checked: entries.length };
}

/** A tensor of a flat parameter vector, under the name its row of the table carries. */
interface Tensor {
  name: string;
  offset: number;
  length: number;
}

/** The rows of the check, in order: a one-layer rnn's as U, W, V, b, c (the same shapes); any other model's as its parameter table. */
export function checkedTensors(shape: ModelShape): Tensor[] {
  const { parameters } = parameterTable(shape);
  if (shape.cell !== 'rnn' || shape.layers !== 1) return parameters;
  const byName = new Map(parameters.map((p) => [p.name, p]));
  return PARAMETER_NAMES.map((name) => ({ ...byName.get(VERSION1_TABLE_NAMES[name])!, name }));
}

function table(tensors: Tensor[], analytic: Float64Array, other: Float64Array, entries: Entries): ErrorTable {
  const part = (flat: Float64Array, t: Tensor) => flat.subarray(t.offset, t.offset + t.length);
  return Object.fromEntries(tensors.map((t) => [t.name, errorSummary(part(analytic, t), part(other, t), entries[t.name])]));
}

/** Indices within each tensor, by the tensor's row name. */
export type Entries = Record<string, Int32Array>;

/** Every index of each tensor. */
function allEntries(tensors: Tensor[]): Entries {
  return Object.fromEntries(tensors.map((t) => [t.name, Int32Array.from({ length: t.length }, (_, i) => i)]));
}

/** Indices (within each tensor) to check: all, or `count` distinct ones of a larger tensor by a partial Fisher–Yates shuffle. */
function chooseEntries(tensors: Tensor[], count: number | undefined, rng: Rng): Entries {
  const entries = allEntries(tensors);
  if (count === undefined) return entries;
  for (const { name } of tensors) {
    const all = entries[name];
    if (count >= all.length) continue;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rng.uniform() * (all.length - i));
      [all[i], all[j]] = [all[j], all[i]];
    }
    entries[name] = all.slice(0, count).sort();
  }
  return entries;
}

/** The function differentiated: a block of B streams ([t][stream]) read from zero states with fixed dropout masks. */
export interface CheckedBlock {
  x: number[][];
  y: number[][];
  dropout?: Dropout;
}

/** The block checked: B streams at the starts of B equal slices of the text, as train's first update; [t][stream]. */
export function firstBlock(corpus: Corpus, streams: number, seqLength: number): { x: number[][]; y: number[][] } {
  const slice = streams === 1 ? 0 : sliceLength(corpus.length, streams, seqLength);
  const at = (shift: number) => Array.from({ length: seqLength }, (_, t) => Array.from({ length: streams }, (_, b) => corpus.indices[b * slice + t + shift]));
  return { x: at(0), y: at(1) };
}

/**
 * Whether the loss reads parameter entry j: a column of layer 0's Wx (U) for a symbol absent from
 * the block is never read, so its derivative is exactly 0 and so would be any difference quotient
 * (skipping it saves most of its forward passes when K is large).
 */
function readByLoss(shape: ModelShape, x: number[][]): (j: number) => boolean {
  const wx = parameterTable(shape).parameters[0]; // layers.0.Wx
  const seen = new Set(x.flat());
  return (j) => j < wx.offset || j >= wx.offset + wx.length || seen.has((j - wx.offset) % shape.vocab);
}

/** Richardson's extrapolation (4·D(h) − D(2h)) / 3 of centered differences D of L − T·ln K over the block, at the given entries. */
export function numericGradient(
  shape: ModelShape,
  params: Float64Array,
  block: CheckedBlock,
  step: number,
  entries: Entries,
  onProgress?: (done: number, total: number) => void
): Float64Array {
  const { x, y, dropout } = block;
  const loss = (probe: Float64Array) => excessLoss(shape, probe, zeroState(shape, x[0].length), x, y, dropout);
  return richardson(checkedTensors(shape), params, loss, step, entries, readByLoss(shape, x), onProgress);
}

type Resolved = GradcheckOptions & typeof GRADCHECK_MODEL_DEFAULTS & { hidden: number; seqLength: number; step: number; seed: number; sigma: number };

const MODEL_SPECS = trainingSpecs();

/**
 * The check's options, by library name (`rnn-native gradcheck` takes them as --hidden,
 * --seq-length, --step, --seed, --entries, --cell, --layers, --batch, --dropout); `onProgress`
 * is a function and checked apart.
 */
export const GRADCHECK_OPTIONS = {
  hidden: { kind: 'integer', min: 1, max: 1024, help: `hidden units m (default ${GRADCHECK_DEFAULTS.hidden})` },
  seqLength: { kind: 'integer', min: 1, max: 10000, help: `sequence length (default ${GRADCHECK_DEFAULTS.seqLength})` },
  step: { kind: 'number', min: 0, max: 1, exclusiveMin: true, help: `finite-difference step h (default ${GRADCHECK_DEFAULTS.step})` },
  seed: { ...SEED_SPEC, help: `seed of the weights and of the entries drawn (default ${GRADCHECK_DEFAULTS.seed})` },
  sigma: { kind: 'number', min: 0, max: 1e3, help: `std. dev. of the initial weights (default ${GRADCHECK_DEFAULTS.sigma})` },
  entries: { kind: 'integer', min: 1, max: 1e9, help: 'check N random entries of each larger tensor (default: all)' },
  cell: MODEL_SPECS.cell,
  layers: MODEL_SPECS.layers,
  batch: { ...MODEL_SPECS.batch, help: `B streams, from B equal slices of the text (default ${MODEL_DEFAULTS.batch})` },
  dropout: { ...MODEL_SPECS.dropout, help: `dropout p, masks of update 1 and the seed (default ${MODEL_DEFAULTS.dropout})` },
} satisfies OptionSpecs;

function resolve(options: GradcheckOptions): Resolved {
  return { ...GRADCHECK_DEFAULTS, ...GRADCHECK_MODEL_DEFAULTS, ...definedOnly(options) } as Resolved;
}

function validate(corpus: Corpus, o: Resolved): void {
  const { onProgress, ...values } = o;
  checkOptions(values, GRADCHECK_OPTIONS, 'gradcheck');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new UserError('gradcheck: onProgress must be a function');
  if (o.batch > 1) sliceLength(corpus.length, o.batch, o.seqLength);
  else if (corpus.length < o.seqLength + 1) {
    throw new UserError(`the text has ${corpus.length} characters; the check needs seq-length + 1 = ${o.seqLength + 1}`);
  }
}

/** Refuses a check of more than MAX_GRADCHECK_FLOPS: four forward passes of the block per entry estimated. */
function checkCost(shape: ModelShape, o: Resolved, entries: Entries, block: CheckedBlock): void {
  const isRead = readByLoss(shape, block.x);
  const estimated = checkedTensors(shape).reduce((sum, t) => sum + entries[t.name].filter((i) => isRead(t.offset + i)).length, 0);
  const flops = 4 * estimated * forwardFlops(shape, o.batch, o.seqLength);
  if (flops > MAX_GRADCHECK_FLOPS) {
    throw new UserError(
      `a check of ${estimated} entries of ${modelName(o)}, K=${shape.vocab}, seq-length ${o.seqLength} needs ~${flops.toExponential(1)} flops ` +
        `(at most ${MAX_GRADCHECK_FLOPS.toExponential(0)}, a few minutes); use a smaller --hidden, --seq-length or --entries`
    );
  }
}

/**
 * Checks `analytic` (default: the float64 reference) against finite differences of
 * excessLoss, and the native float32 gradients against it, on the first block (firstBlock)
 * from zero states with the masks of update 1. Tests pass a wrong gradient function to see the
 * check fail.
 */
export function gradcheck(corpus: Corpus, options: GradcheckOptions = {}, analytic: GradientFunction = lossAndGradients): GradcheckResult {
  if (typeof analytic !== 'function') throw new UserError('gradcheck: analytic must be a gradient function (see GradientFunction)');
  const o = resolve(options);
  validate(corpus, o);
  const shape: ModelShape = { cell: o.cell, vocab: corpus.vocabSize, hidden: o.hidden, layers: o.layers };
  const rng = Rng.fromSeed(o.seed);
  const params = initialParams(shape, o.sigma, rng);
  const tensors = checkedTensors(shape);
  const entries = chooseEntries(tensors, o.entries, rng); // drawn after the weights, which do not depend on it
  const dropout: Dropout | undefined = o.dropout > 0 ? { p: o.dropout, seed: o.seed, update: 1 } : undefined;
  const block: CheckedBlock = { ...firstBlock(corpus, o.batch, o.seqLength), dropout };
  checkCost(shape, o, entries, block);

  const grads = new Float64Array(params.length);
  analytic(shape, Float64Array.from(params), grads, zeroState(shape, o.batch), block.x, block.y, dropout);
  const numeric = numericGradient(shape, params, block, o.step, entries, o.onProgress);
  const result: GradcheckResult = { tensors: tensors.map((t) => t.name), numeric: table(tensors, grads, numeric, entries) };
  const native = loadNative();
  if (native.addon) result.native = table(tensors, grads, nativeGradients(shape, params, block), allEntries(tensors));
  else result.nativeError = native.error;
  return result;
}

/** The native float32 gradients of the block, in float64. */
function nativeGradients(shape: ModelShape, params: Float64Array, { x, y, dropout }: CheckedBlock): Float64Array {
  const model = createModelBackend('native', shape, x[0].length, x.length, params, false);
  model.lossAndGradients(Int32Array.from(x.flat()), Int32Array.from(y.flat()), dropout);
  return Float64Array.from(model.grads);
}

/** @deprecated The same function as gradcheck, which checks every model. */
export const generalGradcheck = gradcheck;

/** "lstm, 2 layers of m=5, B=3, dropout 0.3": the model a check ran on. */
export function modelName(o: { cell: string; layers: number; hidden: number; batch: number; dropout: number }): string {
  const layers = `${o.layers} layer${o.layers === 1 ? '' : 's'} of m=${o.hidden}`;
  return `${o.cell}, ${layers}, B=${o.batch}${o.dropout > 0 ? `, dropout ${o.dropout}` : ''}`;
}

/** Flops of one forward pass of a block: the cells' products (layer 0's input is one-hot) and the output layer. */
export function forwardFlops(shape: ModelShape, streams: number, seqLength: number): number {
  const Gm = GATES[shape.cell] * shape.hidden;
  const perStep = Gm * shape.hidden * (2 * shape.layers - 1) + Gm + shape.vocab * shape.hidden;
  return 2 * seqLength * streams * perStep;
}

/** Richardson's extrapolation (4·D(h) − D(2h)) / 3 of centered differences D of `loss`, at the given entries. */
function richardson(
  tensors: Tensor[],
  params: Float64Array,
  loss: (probe: Float64Array) => number,
  step: number,
  entries: Entries,
  isRead: (j: number) => boolean,
  onProgress?: (done: number, total: number) => void
): Float64Array {
  const probe = Float64Array.from(params);
  const centered = (j: number, h: number) => {
    probe[j] = params[j] + h;
    const plus = loss(probe);
    probe[j] = params[j] - h;
    const minus = loss(probe);
    probe[j] = params[j];
    return (plus - minus) / (2 * h);
  };
  const numeric = new Float64Array(params.length);
  const total = tensors.reduce((sum, t) => sum + entries[t.name].length, 0);
  let done = 0;
  for (const t of tensors) {
    for (const i of entries[t.name]) {
      const j = t.offset + i;
      if (isRead(j)) numeric[j] = (4 * centered(j, step) - centered(j, 2 * step)) / 3;
      onProgress?.(++done, total);
    }
  }
  return numeric;
}

/**
 * One row per parameter: name, numeric relative and absolute errors, native relative and absolute,
 * then the scaled errors the verdict uses, numeric and native.
 */
export function gradcheckRows(result: GradcheckResult, missing = '-'): string[][] {
  const e = (x: number | undefined) => (x === undefined ? missing : x.toExponential(2));
  return result.tensors.map((name) => [
    name,
    e(result.numeric[name].maxRelative),
    e(result.numeric[name].maxAbsolute),
    e(result.native?.[name].maxRelative),
    e(result.native?.[name].maxAbsolute),
    e(result.numeric[name].maxScaled),
    e(result.native?.[name].maxScaled),
  ]);
}

export function gradcheckPasses(result: GradcheckResult): boolean {
  return result.tensors.every(
    (name) =>
      result.numeric[name].maxScaled <= GRADCHECK_TARGETS.numeric &&
      (!result.native || result.native[name].maxScaled <= GRADCHECK_TARGETS.native)
  );
}
