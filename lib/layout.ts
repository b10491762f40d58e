// The parameter table: where each parameter lives in the flat parameter array, shared by both
// backends, the gradients and the AdaGrad accumulators. native/rnn.cc (make_dims) computes the
// same table; a test compares the two entry by entry. Checkpoint shapes, the initial weights,
// the gradient-check rows and the reference's views all come from it.
// Shape legend: m hidden units, K vocabulary size; each tensor row-major, in this order.
import { Rng } from './random';

const PARAMETER_TABLE = [
  { name: 'U', shape: (m: number, K: number) => [m, K], init: 'normal', role: 'input to hidden' },
  { name: 'W', shape: (m: number) => [m, m], init: 'normal', role: 'hidden to hidden' },
  { name: 'V', shape: (m: number, K: number) => [K, m], init: 'normal', role: 'hidden to output' },
  { name: 'b', shape: (m: number) => [m], init: 'zero', role: 'hidden bias' },
  { name: 'c', shape: (_m: number, K: number) => [K], init: 'zero', role: 'output bias' },
] as const;

export type ParameterName = (typeof PARAMETER_TABLE)[number]['name'];
export const PARAMETER_NAMES: readonly ParameterName[] = PARAMETER_TABLE.map((p) => p.name);

export interface ParameterEntry {
  readonly name: ParameterName;
  readonly shape: readonly number[];
  /** 'normal': drawn from N(0, σ²) in table order; 'zero': zeros. */
  readonly init: 'normal' | 'zero';
  readonly offset: number;
  readonly length: number;
}

export interface Layout {
  readonly hidden: number;
  readonly vocab: number;
  readonly total: number;
  /** The parameter table for these sizes, in order. */
  readonly parameters: readonly ParameterEntry[];
  /** [offset, length] of each parameter in the flat array. */
  readonly slices: Readonly<Record<ParameterName, readonly [number, number]>>;
}

export function makeLayout(hidden: number, vocab: number): Layout {
  let offset = 0;
  const parameters = PARAMETER_TABLE.map(({ name, shape, init }): ParameterEntry => {
    const dims = shape(hidden, vocab);
    const length = dims.reduce((a, b) => a * b, 1);
    const entry = { name, shape: dims, init, offset, length };
    offset += length;
    return entry;
  });
  const slices = Object.fromEntries(parameters.map((p) => [p.name, [p.offset, p.length] as const])) as Layout['slices'];
  return { hidden, vocab, total: offset, parameters, slices };
}

/** The view of one parameter inside a flat array. */
export function view<A extends Float32Array | Float64Array>(layout: Layout, flat: A, name: ParameterName): A {
  const [offset, length] = layout.slices[name];
  return flat.subarray(offset, offset + length) as A;
}

/** Every parameter's view inside a flat array, by name. */
export function views<A extends Float32Array | Float64Array>(layout: Layout, flat: A): Record<ParameterName, A> {
  return Object.fromEntries(layout.parameters.map((p) => [p.name, view(layout, flat, p.name)])) as Record<ParameterName, A>;
}

/**
 * Initial parameters: U, W, V ~ N(0, σ²), b = c = 0, drawn in layout order from rng. Each value
 * is rounded to float32 so that both backends start from bit-identical weights.
 */
export function initialParams(layout: Layout, sigma: number, rng: Rng): Float64Array {
  const params = new Float64Array(layout.total);
  for (const { name, init } of layout.parameters) {
    if (init !== 'normal') continue;
    const part = view(layout, params, name);
    for (let i = 0; i < part.length; i++) part[i] = Math.fround(sigma * rng.normal());
  }
  return params;
}
