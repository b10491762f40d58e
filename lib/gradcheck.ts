// The gradient check: the float64 reference's analytic gradients against centered finite
// differences, and the native float32 gradients against the reference, on one sequence
// (the first seqLength characters, h0 = 0, unclipped).
import { createBackend } from './backend';
import { Corpus } from './corpus';
import { UserError } from './errors';
import { makeLayout, PARAMETER_NAMES, ParameterName, view } from './layout';
import { loadNative } from './native';
import * as reference from './reference';
import { Rng } from './random';
import { initialParams } from './trainer';

export interface GradcheckOptions {
  hidden?: number;
  seqLength?: number;
  /** Finite-difference step h (default 1e-4). */
  step?: number;
  seed?: number;
  sigma?: number;
}

export interface ErrorSummary {
  /** max over entries of |ga − gn| / max(1e-10, |ga| + |gn|) */
  maxRelative: number;
  /** max over entries of |ga − gn| */
  maxAbsolute: number;
}

export type ErrorTable = Record<ParameterName, ErrorSummary>;

export interface GradcheckResult {
  numeric: ErrorTable;
  /** Native float32 against the reference; absent when the addon cannot load. */
  native?: ErrorTable;
  nativeError?: string;
}

/** Work the check may take: finite differences cost two forward passes per parameter. */
export const MAX_GRADCHECK_FLOPS = 2e11;

/** Targets of the gradient check: max relative error per parameter. */
export const GRADCHECK_TARGETS = { numeric: 1e-6, native: 1e-4 } as const;

export const GRADCHECK_DEFAULTS = { hidden: 5, seqLength: 25, step: 1e-4, seed: 42, sigma: 0.01 } as const;

function compare(analytic: Float64Array, other: Float64Array): ErrorSummary {
  let maxRelative = 0;
  let maxAbsolute = 0;
  for (let i = 0; i < analytic.length; i++) {
    const diff = Math.abs(analytic[i] - other[i]);
    maxAbsolute = Math.max(maxAbsolute, diff);
    maxRelative = Math.max(maxRelative, diff / Math.max(1e-10, Math.abs(analytic[i]) + Math.abs(other[i])));
  }
  return { maxRelative, maxAbsolute };
}

function table(layout: ReturnType<typeof makeLayout>, analytic: Float64Array, other: Float64Array): ErrorTable {
  return Object.fromEntries(
    PARAMETER_NAMES.map((name) => [name, compare(view(layout, analytic, name), view(layout, other, name))])
  ) as ErrorTable;
}

export function gradcheck(corpus: Corpus, options: GradcheckOptions = {}): GradcheckResult {
  const o = { ...GRADCHECK_DEFAULTS, ...options };
  if (!Number.isSafeInteger(o.hidden) || o.hidden < 1 || o.hidden > 1024) {
    throw new UserError(`hidden must be an integer from 1 to 1024, got ${o.hidden}`);
  }
  if (!Number.isSafeInteger(o.seqLength) || o.seqLength < 1 || o.seqLength > 10000) {
    throw new UserError(`seq-length must be an integer from 1 to 10000, got ${o.seqLength}`);
  }
  if (!(o.step > 0 && o.step <= 1)) throw new UserError(`step must be a number in (0, 1], got ${o.step}`);
  if (!Number.isSafeInteger(o.seed)) throw new UserError(`seed must be an integer, got ${o.seed}`);
  if (corpus.length < o.seqLength + 1) {
    throw new UserError(`the text has ${corpus.length} characters; the check needs seq-length + 1 = ${o.seqLength + 1}`);
  }

  const layout = makeLayout(o.hidden, corpus.vocabSize);
  // Two forward passes per parameter, each about 2·T·m·(m + K) flops.
  const flops = 4 * layout.total * o.seqLength * o.hidden * (o.hidden + layout.vocab);
  if (flops > MAX_GRADCHECK_FLOPS) {
    throw new UserError(
      `a check of m=${o.hidden}, K=${layout.vocab}, seq-length ${o.seqLength} needs ~${flops.toExponential(1)} flops ` +
        `(at most ${MAX_GRADCHECK_FLOPS.toExponential(0)}, a few minutes); use a smaller --hidden or --seq-length`
    );
  }
  const params = initialParams(layout, o.sigma, Rng.fromSeed(o.seed));
  const x = Int32Array.from(corpus.indices.subarray(0, o.seqLength));
  const y = Int32Array.from(corpus.indices.subarray(1, o.seqLength + 1));
  const h0 = new Float64Array(layout.hidden);

  const analytic = new Float64Array(layout.total);
  reference.lossAndGradients(layout, Float64Array.from(params), analytic, Float64Array.from(h0), x, y);

  const numeric = new Float64Array(layout.total);
  const probe = Float64Array.from(params);
  for (let j = 0; j < layout.total; j++) {
    probe[j] = params[j] + o.step;
    const plus = reference.excessLoss(layout, probe, h0, x, y);
    probe[j] = params[j] - o.step;
    const minus = reference.excessLoss(layout, probe, h0, x, y);
    probe[j] = params[j];
    numeric[j] = (plus - minus) / (2 * o.step);
  }

  const result: GradcheckResult = { numeric: table(layout, analytic, numeric) };
  const native = loadNative();
  if (native.addon) {
    const { grads } = createBackend('native', layout, params).lossAndGradients(x, y);
    result.native = table(layout, analytic, grads);
  } else {
    result.nativeError = native.error;
  }
  return result;
}

/** One row per parameter: name, numeric relative and absolute errors, native relative and absolute. */
export function gradcheckRows(result: GradcheckResult, missing = '-'): string[][] {
  const e = (x: number | undefined) => (x === undefined ? missing : x.toExponential(2));
  return PARAMETER_NAMES.map((name) => [
    name,
    e(result.numeric[name].maxRelative),
    e(result.numeric[name].maxAbsolute),
    e(result.native?.[name].maxRelative),
    e(result.native?.[name].maxAbsolute),
  ]);
}

export function gradcheckPasses(result: GradcheckResult): boolean {
  return PARAMETER_NAMES.every(
    (name) =>
      result.numeric[name].maxRelative <= GRADCHECK_TARGETS.numeric &&
      (!result.native || result.native[name].maxRelative <= GRADCHECK_TARGETS.native)
  );
}
