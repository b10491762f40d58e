// Where each parameter lives in the flat parameter array, shared by both backends, the
// gradients and the AdaGrad accumulators. Shape legend: m hidden units, K vocabulary size.
//   U (m×K) | W (m×m) | V (K×m) | b (m) | c (K), each row-major.

export const PARAMETER_NAMES = ['U', 'W', 'V', 'b', 'c'] as const;
export type ParameterName = (typeof PARAMETER_NAMES)[number];

export interface Layout {
  readonly hidden: number;
  readonly vocab: number;
  readonly total: number;
  /** [offset, length] of each parameter in the flat array. */
  readonly slices: Readonly<Record<ParameterName, readonly [number, number]>>;
}

export function makeLayout(hidden: number, vocab: number): Layout {
  const sizes: Record<ParameterName, number> = {
    U: hidden * vocab,
    W: hidden * hidden,
    V: vocab * hidden,
    b: hidden,
    c: vocab,
  };
  const slices = {} as Record<ParameterName, readonly [number, number]>;
  let offset = 0;
  for (const name of PARAMETER_NAMES) {
    slices[name] = [offset, sizes[name]];
    offset += sizes[name];
  }
  return { hidden, vocab, total: offset, slices };
}

/** The view of one parameter inside a flat array. */
export function view<A extends Float32Array | Float64Array>(layout: Layout, flat: A, name: ParameterName): A {
  const [offset, length] = layout.slices[name];
  return flat.subarray(offset, offset + length) as A;
}
