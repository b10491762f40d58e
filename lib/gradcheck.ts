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
import { createBackend } from './backend';
import { Corpus } from './corpus';
import { checkOptions, SEED_SPEC } from './config';
import { UserError } from './errors';
import { OptionSpecs } from './options';
import { Layout, makeLayout, PARAMETER_NAMES, ParameterName, view } from './layout';
import { loadNative } from './native';
import * as reference from './reference';
import { Rng } from './random';
import { initialParams } from './trainer';

/** Loss and gradients of one sequence, as reference.lossAndGradients: the analytic side of the check. */
export type GradientFunction = typeof reference.lossAndGradients;

export interface GradcheckOptions {
  hidden?: number;
  seqLength?: number;
  /** Finite-difference step h (default 1e-4); the estimate extrapolates from h and 2h. */
  step?: number;
  seed?: number;
  sigma?: number;
  /** Check this many entries of each tensor, drawn with the seed (default: all entries). */
  entries?: number;
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

export type ErrorTable = Record<ParameterName, ErrorSummary>;

export interface GradcheckResult {
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

function table(layout: Layout, analytic: Float64Array, other: Float64Array, entries: Entries): ErrorTable {
  return Object.fromEntries(
    PARAMETER_NAMES.map((name) => [name, errorSummary(view(layout, analytic, name), view(layout, other, name), entries[name])])
  ) as ErrorTable;
}

/** Indices within each tensor. */
export type Entries = Record<ParameterName, Int32Array>;

/** Every index of each tensor. */
function allEntries(layout: Layout): Entries {
  return Object.fromEntries(
    PARAMETER_NAMES.map((name) => [name, Int32Array.from({ length: layout.slices[name][1] }, (_, i) => i)])
  ) as Entries;
}

/** Indices (within each tensor) to check: all, or `count` distinct ones of a larger tensor by a partial Fisher–Yates shuffle. */
function chooseEntries(layout: Layout, count: number | undefined, rng: Rng): Entries {
  const entries = allEntries(layout);
  if (count === undefined) return entries;
  for (const name of PARAMETER_NAMES) {
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
  const probe = Float64Array.from(params);
  const centered = (j: number, h: number) => {
    probe[j] = params[j] + h;
    const plus = reference.excessLoss(layout, probe, h0, x, y);
    probe[j] = params[j] - h;
    const minus = reference.excessLoss(layout, probe, h0, x, y);
    probe[j] = params[j];
    return (plus - minus) / (2 * h);
  };
  const isRead = readByLoss(layout, x);
  const numeric = new Float64Array(layout.total);
  const total = PARAMETER_NAMES.reduce((sum, name) => sum + entries[name].length, 0);
  let done = 0;
  for (const name of PARAMETER_NAMES) {
    const offset = layout.slices[name][0];
    for (const i of entries[name]) {
      const j = offset + i;
      if (isRead(j)) numeric[j] = (4 * centered(j, step) - centered(j, 2 * step)) / 3;
      onProgress?.(++done, total);
    }
  }
  return numeric;
}

type Resolved = GradcheckOptions & { hidden: number; seqLength: number; step: number; seed: number };

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
} satisfies OptionSpecs;

function validate(corpus: Corpus, o: Resolved): void {
  const { onProgress, ...values } = o;
  checkOptions(values, GRADCHECK_OPTIONS, 'gradcheck');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new UserError('gradcheck: onProgress must be a function');
  if (corpus.length < o.seqLength + 1) {
    throw new UserError(`the text has ${corpus.length} characters; the check needs seq-length + 1 = ${o.seqLength + 1}`);
  }
}

/**
 * Checks `analytic` (default: the float64 reference) against finite differences, and the native
 * float32 gradients against it. Tests pass a wrong gradient function to see the check fail.
 */
export function gradcheck(corpus: Corpus, options: GradcheckOptions = {}, analytic: GradientFunction = reference.lossAndGradients): GradcheckResult {
  if (typeof analytic !== 'function') throw new UserError('gradcheck: analytic must be a gradient function (see GradientFunction)');
  const o = { ...GRADCHECK_DEFAULTS, ...options };
  validate(corpus, o);
  const layout = makeLayout(o.hidden, corpus.vocabSize);
  const rng = Rng.fromSeed(o.seed);
  const params = initialParams(layout, o.sigma, rng);
  const entries = chooseEntries(layout, o.entries, rng); // drawn after the weights, which do not depend on it
  const x = Int32Array.from(corpus.indices.subarray(0, o.seqLength));
  const y = Int32Array.from(corpus.indices.subarray(1, o.seqLength + 1));
  const isRead = readByLoss(layout, x);
  const estimated = PARAMETER_NAMES.reduce(
    (sum, name) => sum + entries[name].filter((i) => isRead(layout.slices[name][0] + i)).length,
    0
  );
  // Four forward passes per estimated entry, each about 2·T·m·(m + K) flops.
  const flops = 8 * estimated * o.seqLength * o.hidden * (o.hidden + layout.vocab);
  if (flops > MAX_GRADCHECK_FLOPS) {
    throw new UserError(
      `a check of ${estimated} entries at m=${o.hidden}, K=${layout.vocab}, seq-length ${o.seqLength} needs ~${flops.toExponential(1)} flops ` +
        `(at most ${MAX_GRADCHECK_FLOPS.toExponential(0)}, a few minutes); use a smaller --hidden, --seq-length or --entries`
    );
  }

  const grads = new Float64Array(layout.total);
  analytic(layout, Float64Array.from(params), grads, new Float64Array(layout.hidden), x, y);
  const numeric = numericGradient(layout, params, x, y, o.step, entries, o.onProgress);

  const result: GradcheckResult = { numeric: table(layout, grads, numeric, entries) };
  const native = loadNative();
  if (native.addon) {
    const nativeGrads = createBackend('native', layout, params).lossAndGradients(x, y).grads;
    result.native = table(layout, grads, nativeGrads, allEntries(layout));
  } else {
    result.nativeError = native.error;
  }
  return result;
}

/**
 * One row per parameter: name, numeric relative and absolute errors, native relative and absolute,
 * then the scaled errors the verdict uses, numeric and native.
 */
export function gradcheckRows(result: GradcheckResult, missing = '-'): string[][] {
  const e = (x: number | undefined) => (x === undefined ? missing : x.toExponential(2));
  return PARAMETER_NAMES.map((name) => [
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
  return PARAMETER_NAMES.every(
    (name) =>
      result.numeric[name].maxScaled <= GRADCHECK_TARGETS.numeric &&
      (!result.native || result.native[name].maxScaled <= GRADCHECK_TARGETS.native)
  );
}
