// The initial parameters of the model, drawn in TypeScript from the run's generator and rounded to
// float32 (so the reference, the addon and wasm start from the same numbers), and the default
// scheme of a new run: DD2424's N(0, σ²) for its configuration (one rnn layer), PyTorch's
// U(±1/√m) of nn.LSTM / nn.GRU / nn.RNN for lstm, gru and stacked layers.
import { Rng } from '../util/random';
import { CellKind, ModelShape, parameterTable } from './reference';

/** normal: N(0, σ²); uniform: U(−1/√m, 1/√m), m the hidden units. */
export type InitScheme = 'normal' | 'uniform';

/** How far the Box–Muller draws on 24-bit uniforms reach: |N(0,1)| ≤ √(−2 ln 2⁻²⁴) < 5.8. */
const NORMAL_REACH = 5.8;

/** The bound of the uniform scheme: 1/√m. */
export const uniformBound = (hidden: number): number => 1 / Math.sqrt(hidden);

/**
 * The scheme of a new run whose options do not name one: normal when σ is given (a flag or a
 * preset), and for DD2424's cell rnn with one layer; uniform otherwise (lstm, gru, more layers), which
 * trains such models faster than σ = 0.01 (docs/training.md).
 */
export function defaultInit(options: { cell?: string; layers?: number; sigma?: number }): InitScheme {
  if (options.sigma !== undefined) return 'normal';
  return (options.cell ?? 'rnn') === 'rnn' && (options.layers ?? 1) === 1 ? 'normal' : 'uniform';
}

/** The options with `init` resolved by defaultInit when they do not give it. */
export function withInitDefault<T extends { cell?: string; layers?: number; sigma?: number; init?: string }>(options: T): T {
  if (typeof options !== 'object' || options === null || options.init !== undefined) return options;
  return { ...options, init: defaultInit(options) };
}

/** The largest |value| the scheme draws (the checkpoint reader's bound starts from it). */
export function initialReach(init: InitScheme, sigma: number, hidden: number): number {
  return init === 'uniform' ? uniformBound(hidden) : NORMAL_REACH * sigma;
}

/**
 * Initial parameters: the weight matrices (every Wx, Wh and V, in table order) drawn by the scheme,
 * N(0, σ²) by Box–Muller or (2u − 1)/√m, each rounded to float32 so that every backend starts from
 * the same weights; the biases 0, except lstm's forget gates (the second m of each layer's b, gates
 * i f o g), which start at forgetBias (char-rnn's train.lua sets 1 "to encourage remembering in the
 * beginning"). For the DD2424 configuration this draws U, W, V in the order of min-char-rnn.
 */
export function initialParams(s: ModelShape, sigma: number, rng: Rng, forgetBias = 0, init: InitScheme = 'normal'): Float64Array {
  const { parameters, total } = parameterTable(s);
  const params = new Float64Array(total);
  const bound = uniformBound(s.hidden);
  const draw = init === 'uniform' ? () => bound * (2 * rng.uniform() - 1) : () => sigma * rng.normal();
  for (const p of parameters) {
    if (p.shape.length !== 2) continue; // a bias
    for (let i = p.offset; i < p.offset + p.length; i++) params[i] = Math.fround(draw());
  }
  if ((s.cell as CellKind) === 'lstm') {
    for (const p of parameters) {
      if (p.name.endsWith('.b')) params.fill(Math.fround(forgetBias), p.offset + s.hidden, p.offset + 2 * s.hidden);
    }
  }
  return params;
}
