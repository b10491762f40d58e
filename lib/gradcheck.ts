// The gradient check: the float64 reference's analytic gradients against finite differences,
// and the native float32 gradients against the reference, on one sequence (the first seqLength
// characters, h0 = 0, unclipped).
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
// The general model of issue 10 (--cell, --layers, --batch, --dropout) is checked the same way
// on lib/stacked-reference.ts: B streams at the starts of B equal slices of the text (train's
// first update), states 0, dropout masks fixed (those of update 1 with the seed), so that the
// function differentiated is deterministic; the native StackedModel is held to its gradients.
import { createBackend } from './backend';
import { Corpus } from './corpus';
import { checkOptions, MODEL_DEFAULTS, SEED_SPEC, trainingSpecs } from './config';
import { UserError } from './errors';
import { OptionSpecs } from './options';
import { Layout, makeLayout, PARAMETER_NAMES, ParameterName } from './layout';
import { loadNative } from './native';
import * as reference from './reference';
import { Rng } from './random';
import { initialParams } from './engine';
import { createStackedBackend } from './stacked-backend';
import { CellKind, Dropout, GATES, stackedExcessLoss, stackedLayout, stackedLossAndGradients, StackedShape, zeroState } from './stacked-reference';

import { sliceLength } from './stream-walk';

/** Loss and gradients of one sequence, as reference.lossAndGradients: the analytic side of the check. */
export type GradientFunction = typeof reference.lossAndGradients;
/** Loss and gradients of one block of the general model, as stackedLossAndGradients. */
export type StackedGradientFunction = typeof stackedLossAndGradients;

export interface GradcheckOptions {
  hidden?: number;
  seqLength?: number;
  /** Finite-difference step h (default 1e-4); the estimate extrapolates from h and 2h. */
  step?: number;
  seed?: number;
  sigma?: number;
  /** Check this many entries of each tensor, drawn with the seed (default: all entries). */
  entries?: number;
  /** The general model (defaults: the vanilla DD2424 model, checked on lib/reference.ts). */
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

/** Per tensor: the vanilla model's U, W, V, b, c, or the general model's layers.0.Wx, …, V, c. */
export type ErrorTable = Record<string, ErrorSummary>;

export interface GradcheckResult {
  /** The tensors, in the model's order: the keys of the tables. */
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

/** The model the check runs on by default: the vanilla one (the general model's defaults). */
export const GRADCHECK_MODEL_DEFAULTS = {
  cell: MODEL_DEFAULTS.cell as CellKind,
  layers: MODEL_DEFAULTS.layers,
  batch: MODEL_DEFAULTS.batch,
  dropout: MODEL_DEFAULTS.dropout,
} as const;

/** Whether the options describe the general model rather than the vanilla DD2424 one. */
export function isGeneralCheck(options: GradcheckOptions): boolean {
  const o = { ...GRADCHECK_MODEL_DEFAULTS, ...definedOnly(options) };
  return (Object.keys(GRADCHECK_MODEL_DEFAULTS) as (keyof typeof GRADCHECK_MODEL_DEFAULTS)[]).some((key) => o[key] !== GRADCHECK_MODEL_DEFAULTS[key]);
}

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

/** A tensor of a flat parameter vector. */
interface Tensor {
  name: string;
  offset: number;
  length: number;
}

function vanillaTensors(layout: Layout): Tensor[] {
  return PARAMETER_NAMES.map((name) => ({ name, offset: layout.slices[name][0], length: layout.slices[name][1] }));
}

function table(tensors: Tensor[], analytic: Float64Array, other: Float64Array, entries: Record<string, Int32Array>): ErrorTable {
  const part = (flat: Float64Array, t: Tensor) => flat.subarray(t.offset, t.offset + t.length);
  return Object.fromEntries(tensors.map((t) => [t.name, errorSummary(part(analytic, t), part(other, t), entries[t.name])]));
}

/** Indices within each tensor. */
export type Entries = Record<ParameterName, Int32Array>;

/** Every index of each tensor. */
function allEntries(tensors: Tensor[]): Record<string, Int32Array> {
  return Object.fromEntries(tensors.map((t) => [t.name, Int32Array.from({ length: t.length }, (_, i) => i)]));
}

/** Indices (within each tensor) to check: all, or `count` distinct ones of a larger tensor by a partial Fisher–Yates shuffle. */
function chooseEntries(tensors: Tensor[], count: number | undefined, rng: Rng): Record<string, Int32Array> {
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

/**
 * Whether the loss reads parameter entry j: a column of U for a symbol absent from x is never
 * read, so its derivative is exactly 0 and so would be any difference quotient (skipping it saves
 * most of U's forward passes when K is large).
 */
function readByLoss(layout: Layout, x: Int32Array): (j: number) => boolean {
  const [offset, length] = layout.slices.U;
  const seen = new Set(x);
  return (j) => j < offset || j >= offset + length || seen.has((j - offset) % layout.vocab);
}

/** Richardson's extrapolation (4·D(h) − D(2h)) / 3 of centered differences D of L − T·ln K, at the given entries. */
export function numericGradient(
  layout: Layout,
  params: Float64Array,
  x: Int32Array,
  y: Int32Array,
  step: number,
  entries: Entries,
  onProgress?: (done: number, total: number) => void
): Float64Array {
  const h0 = new Float64Array(layout.hidden);
  const loss = (probe: Float64Array) => reference.excessLoss(layout, probe, h0, x, y);
  return richardson(vanillaTensors(layout), params, loss, step, entries, readByLoss(layout, x), onProgress);
}

type Resolved = GradcheckOptions & typeof GRADCHECK_MODEL_DEFAULTS & { hidden: number; seqLength: number; step: number; seed: number; sigma: number };

const MODEL_SPECS = trainingSpecs();

/**
 * The check's options, by library name (`rnn-native gradcheck` takes them as --hidden,
 * --seq-length, --step, --seed, --entries); `onProgress` is a function and checked apart.
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

function validate(corpus: Corpus, o: Resolved): void {
  const { onProgress, ...values } = o;
  checkOptions(values, GRADCHECK_OPTIONS, 'gradcheck');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new UserError('gradcheck: onProgress must be a function');
  if (o.batch > 1) sliceLength(corpus.length, o.batch, o.seqLength);
  else if (corpus.length < o.seqLength + 1) {
    throw new UserError(`the text has ${corpus.length} characters; the check needs seq-length + 1 = ${o.seqLength + 1}`);
  }
}

function checkFlops(flops: number, what: string): void {
  if (flops > MAX_GRADCHECK_FLOPS) {
    throw new UserError(
      `a check of ${what} needs ~${flops.toExponential(1)} flops ` +
        `(at most ${MAX_GRADCHECK_FLOPS.toExponential(0)}, a few minutes); use a smaller --hidden, --seq-length or --entries`
    );
  }
}

/**
 * Checks `analytic` (default: the float64 reference) against finite differences, and the native
 * float32 gradients against it. Tests pass a wrong gradient function to see the check fail.
 */
export function gradcheck(corpus: Corpus, options: GradcheckOptions = {}, analytic: GradientFunction = reference.lossAndGradients): GradcheckResult {
  if (typeof analytic !== 'function') throw new UserError('gradcheck: analytic must be a gradient function (see GradientFunction)');
  if (isGeneralCheck(options)) {
    if (analytic !== reference.lossAndGradients) throw new UserError('gradcheck: the general model takes a StackedGradientFunction (see generalGradcheck)');
    return generalGradcheck(corpus, options);
  }
  const o = resolve(options);
  validate(corpus, o);
  const layout = makeLayout(o.hidden, corpus.vocabSize);
  const rng = Rng.fromSeed(o.seed);
  const params = initialParams({ cell: 'rnn', vocab: layout.vocab, hidden: layout.hidden, layers: 1 }, o.sigma, rng); // TEMP until the one gradient check
  const tensors = vanillaTensors(layout);
  const entries = chooseEntries(tensors, o.entries, rng) as Entries; // drawn after the weights, which do not depend on it
  const x = Int32Array.from(corpus.indices.subarray(0, o.seqLength));
  const y = Int32Array.from(corpus.indices.subarray(1, o.seqLength + 1));
  const isRead = readByLoss(layout, x);
  const estimated = PARAMETER_NAMES.reduce(
    (sum, name) => sum + entries[name].filter((i) => isRead(layout.slices[name][0] + i)).length,
    0
  );
  // Four forward passes per estimated entry, each about 2·T·m·(m + K) flops.
  const flops = 8 * estimated * o.seqLength * o.hidden * (o.hidden + layout.vocab);
  checkFlops(flops, `${estimated} entries at m=${o.hidden}, K=${layout.vocab}, seq-length ${o.seqLength}`);

  const grads = new Float64Array(layout.total);
  analytic(layout, Float64Array.from(params), grads, new Float64Array(layout.hidden), x, y);
  const numeric = numericGradient(layout, params, x, y, o.step, entries, o.onProgress);

  const result: GradcheckResult = { tensors: PARAMETER_NAMES.slice(), numeric: table(tensors, grads, numeric, entries) };
  const native = loadNative();
  if (native.addon) {
    const nativeGrads = createBackend('native', layout, params).lossAndGradients(x, y).grads;
    result.native = table(tensors, grads, nativeGrads, allEntries(tensors));
  } else {
    result.nativeError = native.error;
  }
  return result;
}

function resolve(options: GradcheckOptions): Resolved {
  return { ...GRADCHECK_DEFAULTS, ...GRADCHECK_MODEL_DEFAULTS, ...definedOnly(options) } as Resolved;
}

/** The block checked: B streams at the starts of B equal slices of the text, as train's first update; [t][stream]. */
export function firstBlock(corpus: Corpus, streams: number, seqLength: number): { x: number[][]; y: number[][] } {
  const slice = streams === 1 ? 0 : sliceLength(corpus.length, streams, seqLength);
  const at = (shift: number) => Array.from({ length: seqLength }, (_, t) => Array.from({ length: streams }, (_, b) => corpus.indices[b * slice + t + shift]));
  return { x: at(0), y: at(1) };
}

/**
 * The check of the general model: `analytic` (default: the float64 stacked reference) against
 * finite differences of stackedExcessLoss, and the native StackedModel's float32 gradients
 * against it, on the first block (firstBlock) from zero states with the masks of update 1.
 */
export function generalGradcheck(corpus: Corpus, options: GradcheckOptions = {}, analytic: StackedGradientFunction = stackedLossAndGradients): GradcheckResult {
  if (typeof analytic !== 'function') throw new UserError('gradcheck: analytic must be a gradient function (see StackedGradientFunction)');
  const o = resolve(options);
  validate(corpus, o);
  const shape: StackedShape = { cell: o.cell, vocab: corpus.vocabSize, hidden: o.hidden, layers: o.layers };
  const { parameters, total } = stackedLayout(shape);
  const rng = Rng.fromSeed(o.seed);
  const params = initialParams(shape, o.sigma, rng);
  const entries = chooseEntries(parameters, o.entries, rng);
  const { x, y } = firstBlock(corpus, o.batch, o.seqLength);
  const dropout: Dropout | undefined = o.dropout > 0 ? { p: o.dropout, seed: o.seed, update: 1 } : undefined;
  const isRead = stackedReadByLoss(parameters, shape.vocab, x);
  const estimated = parameters.reduce((sum, t) => sum + entries[t.name].filter((i) => isRead(t.offset + i)).length, 0);
  checkFlops(4 * estimated * stackedForwardFlops(shape, o.batch, o.seqLength), `${estimated} entries of ${modelName(o)}, K=${shape.vocab}, seq-length ${o.seqLength}`);

  const grads = new Float64Array(total);
  analytic(shape, Float64Array.from(params), grads, zeroState(shape, o.batch), x, y, dropout);
  const loss = (probe: Float64Array) => stackedExcessLoss(shape, probe, zeroState(shape, o.batch), x, y, dropout);
  const numeric = richardson(parameters, params, loss, o.step, entries, isRead, o.onProgress);

  const result: GradcheckResult = { tensors: parameters.map((t) => t.name), numeric: table(parameters, grads, numeric, entries) };
  const native = loadNative();
  if (native.addon) {
    const model = createStackedBackend('native', shape, o.batch, o.seqLength, params, false);
    model.lossAndGradients(Int32Array.from(x.flat()), Int32Array.from(y.flat()), dropout);
    result.native = table(parameters, grads, Float64Array.from(model.grads), allEntries(parameters));
  } else {
    result.nativeError = native.error;
  }
  return result;
}

/** "lstm, 2 layers of m=5, B=3, dropout 0.3": the model a check ran on. */
export function modelName(o: { cell: string; layers: number; hidden: number; batch: number; dropout: number }): string {
  const layers = `${o.layers} layer${o.layers === 1 ? '' : 's'} of m=${o.hidden}`;
  return `${o.cell}, ${layers}, B=${o.batch}${o.dropout > 0 ? `, dropout ${o.dropout}` : ''}`;
}

/** Flops of one forward pass of a block: the cells' products (layer 0's input is one-hot) and the output layer. */
export function stackedForwardFlops(shape: StackedShape, streams: number, seqLength: number): number {
  const Gm = GATES[shape.cell] * shape.hidden;
  const perStep = Gm * shape.hidden * (2 * shape.layers - 1) + Gm + shape.vocab * shape.hidden;
  return 2 * seqLength * streams * perStep;
}

/** As readByLoss: layer 0's Wx columns of symbols absent from the block are never read. */
function stackedReadByLoss(parameters: Tensor[], vocab: number, x: number[][]): (j: number) => boolean {
  const wx = parameters[0]; // layers.0.Wx
  const seen = new Set(x.flat());
  return (j) => j < wx.offset || j >= wx.offset + wx.length || seen.has((j - wx.offset) % vocab);
}

/** Richardson's extrapolation (4·D(h) − D(2h)) / 3 of centered differences D of `loss`, at the given entries. */
function richardson(
  tensors: Tensor[],
  params: Float64Array,
  loss: (probe: Float64Array) => number,
  step: number,
  entries: Record<string, Int32Array>,
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
