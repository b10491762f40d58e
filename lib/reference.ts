// The reference backend: the vanilla char-RNN in plain float64 loops, readable before clever.
// It is the truth that the native addon is checked against (parity tests) and that is itself
// checked against finite differences (gradient check). native/rnn.cc mirrors every function.
//
// Shape legend: m hidden units, K vocabulary size, T sequence length.
// Parameters: U (m×K), W (m×m), V (K×m), b (m), c (K), row-major in one flat array (lib/layout.ts).
import { Layout, ParameterName } from './layout';

function views(layout: Layout, flat: Float64Array): Record<ParameterName, Float64Array> {
  return Object.fromEntries(layout.parameters.map((p) => [p.name, flat.subarray(p.offset, p.offset + p.length)])) as Record<ParameterName, Float64Array>;
}
import { Rng } from './random';

export interface Hyper {
  seqLength: number;
  eta: number;
  epsilon: number;
  clip: number;
}

type Views = Record<ParameterName, Float64Array>;

/** hNext (m) = tanh(W hPrev + U[:, x] + b) */
function step(layout: Layout, p: Views, hPrev: Float64Array, x: number, hNext: Float64Array): void {
  const { hidden: m, vocab: K } = layout;
  for (let i = 0; i < m; i++) {
    let a = p.b[i] + p.U[i * K + x];
    for (let j = 0; j < m; j++) a += p.W[i * m + j] * hPrev[j];
    hNext[i] = Math.tanh(a);
  }
}

/** o (K) = V h + c */
function output(layout: Layout, p: Views, h: Float64Array, o: Float64Array): void {
  const { hidden: m, vocab: K } = layout;
  for (let k = 0; k < K; k++) {
    let sum = p.c[k];
    for (let j = 0; j < m; j++) sum += p.V[k * m + j] * h[j];
    o[k] = sum;
  }
}

/** Turns logits into probabilities in place; returns log p[target], through log-sum-exp. */
export function softmaxInPlace(o: Float64Array, target: number): number {
  let max = -Infinity;
  for (const v of o) max = Math.max(max, v);
  let sum = 0;
  for (const v of o) sum += Math.exp(v - max);
  const logSum = Math.log(sum);
  const logPTarget = o[target] - max - logSum;
  for (let k = 0; k < o.length; k++) o[k] = Math.exp(o[k] - max - logSum);
  return logPTarget;
}

/**
 * L − T·ln K for one sequence from h0 (forward only; h0 is not changed): the loss above that of
 * a uniform prediction. For the gradient check: it differs from L by a constant, so it has the
 * same gradient, and computing each term as max + log1p(Σ expm1(o − max) / K) − o[y] keeps the
 * tiny changes a finite difference looks at from being lost to rounding next to ln K.
 */
export function excessLoss(
  layout: Layout,
  params: Float64Array,
  h0: ArrayLike<number>,
  x: ArrayLike<number>,
  y: ArrayLike<number>
): number {
  const K = layout.vocab;
  const p = views(layout, params);
  let h = Float64Array.from(h0);
  let next = new Float64Array(layout.hidden);
  const o = new Float64Array(K);
  let total = 0;
  for (let t = 0; t < x.length; t++) {
    step(layout, p, h, x[t], next);
    [h, next] = [next, h];
    output(layout, p, h, o);
    let max = -Infinity;
    for (const v of o) max = Math.max(max, v);
    let excess = 0; // Σ_k exp(o_k − max) − K, without forming the sum next to K
    for (const v of o) excess += Math.expm1(v - max);
    total += max + Math.log1p(excess / K) - o[y[t]];
  }
  return total;
}

/**
 * Loss L = −Σ_t log p_t[y_t] over one sequence and its unclipped gradients, by full BPTT.
 * grads (same layout as params) is overwritten; h holds h_0 on entry and h_T on return.
 */
export function lossAndGradients(
  layout: Layout,
  params: Float64Array,
  grads: Float64Array,
  h: Float64Array,
  x: ArrayLike<number>,
  y: ArrayLike<number>
): number {
  const { hidden: m, vocab: K } = layout;
  const T = x.length;
  const p = views(layout, params);
  const g = views(layout, grads);
  grads.fill(0);

  // Forward: hs[t + 1] = h_t, probs[t] = p_t.
  const hs = [Float64Array.from(h)];
  const probs: Float64Array[] = [];
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const ht = new Float64Array(m);
    step(layout, p, hs[t], x[t], ht);
    hs.push(ht);
    const o = new Float64Array(K);
    output(layout, p, ht, o);
    loss -= softmaxInPlace(o, y[t]);
    probs.push(o);
  }

  // Backward through time; dhNext = Wᵀ da_{t+1} carries the gradient into step t.
  let dhNext = new Float64Array(m);
  for (let t = T - 1; t >= 0; t--) {
    const dO = probs[t];
    dO[y[t]] -= 1;
    const ht = hs[t + 1];
    const hPrev = hs[t];
    const dh = Float64Array.from(dhNext);
    for (let k = 0; k < K; k++) {
      g.c[k] += dO[k];
      for (let j = 0; j < m; j++) {
        g.V[k * m + j] += dO[k] * ht[j];
        dh[j] += p.V[k * m + j] * dO[k];
      }
    }
    const da = dh.map((v, i) => v * (1 - ht[i] * ht[i]));
    dhNext = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      g.b[i] += da[i];
      g.U[i * K + x[t]] += da[i];
      for (let j = 0; j < m; j++) {
        g.W[i * m + j] += da[i] * hPrev[j];
        dhNext[j] += p.W[i * m + j] * da[i];
      }
    }
  }

  h.set(hs[T]);
  return loss;
}

/** Clips every gradient to [−clip, clip], then one AdaGrad step: G += g², θ −= η g / √(G + ε). */
export function adagradUpdate(params: Float64Array, grads: Float64Array, accum: Float64Array, hyper: Hyper): void {
  for (let j = 0; j < params.length; j++) {
    const g = Math.min(hyper.clip, Math.max(-hyper.clip, grads[j]));
    accum[j] += g * g;
    params[j] -= (hyper.eta * g) / Math.sqrt(accum[j] + hyper.epsilon);
  }
}

/**
 * Runs losses.length updates of the data walk. walk = [position, epoch]: each update trains on
 * corpus[position .. position + T] and moves position by T; when fewer than T + 1 symbols
 * remain, a new epoch starts at position 0 with h = 0.
 */
export function train(
  layout: Layout,
  params: Float64Array,
  grads: Float64Array,
  accum: Float64Array,
  h: Float64Array,
  corpus: Uint8Array | Uint16Array,
  walk: Float64Array,
  hyper: Hyper,
  losses: Float64Array
): void {
  const T = hyper.seqLength;
  for (let i = 0; i < losses.length; i++) {
    if (corpus.length - walk[0] < T + 1) {
      walk[0] = 0;
      walk[1] += 1;
      h.fill(0);
    }
    const start = walk[0];
    const x = corpus.subarray(start, start + T);
    const y = corpus.subarray(start + 1, start + T + 1);
    losses[i] = lossAndGradients(layout, params, grads, h, x, y);
    adagradUpdate(params, grads, accum, hyper);
    walk[0] = start + T;
  }
}

/** Feeds symbols through the recurrence, updating h. */
export function advance(layout: Layout, params: Float64Array, h: Float64Array, x: ArrayLike<number>): void {
  const p = views(layout, params);
  const next = new Float64Array(layout.hidden);
  for (let t = 0; t < x.length; t++) {
    step(layout, p, h, x[t], next);
    h.set(next);
  }
}

/**
 * Fills out with drawn symbols: each step feeds the previous symbol (first: `first`) and draws
 * the next from softmax(o / temperature); temperature 0 takes the argmax. h is updated.
 * The draw is the same arithmetic as native/rnn.cc so both backends pick the same symbols.
 */
export function sample(
  layout: Layout,
  params: Float64Array,
  h: Float64Array,
  first: number,
  temperature: number,
  rng: Rng,
  out: Int32Array
): void {
  const K = layout.vocab;
  const p = views(layout, params);
  const next = new Float64Array(layout.hidden);
  const o = new Float64Array(K);
  const weights = new Float64Array(K);
  let x = first;
  for (let i = 0; i < out.length; i++) {
    step(layout, p, h, x, next);
    h.set(next);
    output(layout, p, h, o);
    x = temperature === 0 ? argmax(o) : draw(o, temperature, rng.uniform(), weights);
    out[i] = x;
  }
}

export function argmax(o: Float64Array): number {
  let best = 0;
  for (let k = 1; k < o.length; k++) if (o[k] > o[best]) best = k;
  return best;
}

/** The first k whose cumulative weight exceeds u · Σ weights, with weights = exp((o − max) / τ). */
export function draw(o: Float64Array, temperature: number, u: number, weights: Float64Array): number {
  let max = -Infinity;
  for (const v of o) max = Math.max(max, v);
  let sum = 0;
  for (let k = 0; k < o.length; k++) sum += weights[k] = Math.exp((o[k] - max) / temperature);
  const threshold = u * sum;
  let cumulative = 0;
  for (let k = 0; k < o.length; k++) {
    cumulative += weights[k];
    if (threshold < cumulative) return k;
  }
  return o.length - 1;
}
