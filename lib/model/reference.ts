// The float64 reference of the model: stacked layers of rnn, lstm or gru cells over a (T, B) block
// of B parallel streams, inverted dropout on each layer's output, and full BPTT. Plain loops,
// readable before clever: the truth the native and wasm kernels are held to. The DD2424 model is
// its configuration cell rnn, one layer, one stream, no dropout.
//
// Shapes: K vocabulary size, m hidden units, L layers, G gates per cell (rnn 1, lstm 4, gru 3),
// T steps, B streams. Per layer l: Wx (G·m × I_l, I_0 = K, else m), Wh (G·m × m), b (G·m);
// then V (K × m) and c (K). Gate blocks, in order: lstm i, f, o, g; gru r, z, n.
//   rnn:  h = tanh(a)
//   lstm: c = σ(a_f)⊙c' + σ(a_i)⊙tanh(a_g), h = σ(a_o)⊙tanh(c)
//   gru:  r = σ(a_r), z = σ(a_z), n = tanh(Wx_n x + b_n + r⊙(Wh_n h')), h = (1 − z)⊙n + z⊙h'
// (the reset gate multiplies Wh_n h', as in PyTorch and cuDNN, so that a step's hidden-state
// products of all gates are one multiply; there is one bias per gate).
// The loss of a block is Σ_t Σ_b −log p_t,b[y_t,b] / B: the DD2424 loss of a sequence, averaged
// over the streams.

import { Rng } from '../util/random';
import { drawByRules, RecentSymbols, SamplingRules } from './sampling-rules';

export type CellKind = 'rnn' | 'lstm' | 'gru';

export const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };

export interface ModelShape {
  cell: CellKind;
  vocab: number;
  hidden: number;
  layers: number;
}

export interface ParameterSpec {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/** The parameter table of a stacked model: layers.l.Wx, layers.l.Wh, layers.l.b for each layer, then V and c. */
export function parameterTable(s: ModelShape): { parameters: ParameterSpec[]; total: number } {
  const G = GATES[s.cell];
  const m = s.hidden;
  const shapes: [string, number[]][] = [];
  for (let l = 0; l < s.layers; l++) {
    shapes.push([`layers.${l}.Wx`, [G * m, l === 0 ? s.vocab : m]], [`layers.${l}.Wh`, [G * m, m]], [`layers.${l}.b`, [G * m]]);
  }
  shapes.push(['V', [s.vocab, m]], ['c', [s.vocab]]);
  let offset = 0;
  const parameters = shapes.map(([name, shape]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    const entry = { name, shape, offset, length };
    offset += length;
    return entry;
  });
  return { parameters, total: offset };
}

// ---------------------------------------------------------------------------------------------
// Dropout masks: a counter-based hash of (seed, update, layer, t, stream, unit), so that any
// backend draws the same mask for the same unit and a resumed run needs no generator state.

/** A 32-bit mix (the finaliser of MurmurHash3). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A uniform in [0, 1) with 24 bits for one unit of one dropout mask. */
export function dropoutUniform(seed: number, update: number, layer: number, t: number, stream: number, unit: number): number {
  let h = mix32(seed | 0);
  for (const word of [Math.floor(seed / 2 ** 32), update % 2 ** 32, Math.floor(update / 2 ** 32), layer, t, stream, unit]) {
    h = mix32((h ^ (word >>> 0)) + 0x9e3779b9);
  }
  return (h >>> 8) / 16777216;
}

export interface Dropout {
  /** Probability of dropping a unit; 0 turns dropout off. */
  p: number;
  seed: number;
  /** The update the masks belong to. */
  update: number;
}

/** The inverted-dropout factor of a unit: 0 (dropped) or 1/(1 − p) (kept). */
function keep(d: Dropout | undefined, layer: number, t: number, stream: number, unit: number): number {
  if (!d || d.p === 0) return 1;
  return dropoutUniform(d.seed, d.update, layer, t, stream, unit) < d.p ? 0 : 1 / (1 - d.p);
}

// ---------------------------------------------------------------------------------------------
// Forward and backward over a block

/** Per stream: the hidden state h of each layer (and the cell state c for lstm), carried across blocks. */
export interface ModelState {
  /** [layer][stream] → m values */
  h: Float64Array[][];
  /** lstm only, same shape as h */
  c: Float64Array[][];
}

export function zeroState(s: ModelShape, streams: number): ModelState {
  const make = () => Array.from({ length: s.layers }, () => Array.from({ length: streams }, () => new Float64Array(s.hidden)));
  return { h: make(), c: make() };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

type View = Record<string, Float64Array>;

function views(s: ModelShape, flat: Float64Array): View {
  const out: View = {};
  for (const p of parameterTable(s).parameters) out[p.name] = flat.subarray(p.offset, p.offset + p.length);
  return out;
}

/** What the forward pass keeps for the backward one, for one layer, step and stream. */
interface StepCache {
  input: Float64Array; // the layer's input after dropout (a one-hot row index for layer 0: see symbol)
  symbol: number; // layer 0's input symbol, else −1
  hPrev: Float64Array;
  cPrev: Float64Array;
  gates: Float64Array; // after their nonlinearity (gru n: tanh), G·m
  hhN: Float64Array; // gru: Wh_n h' (before the reset gate), m
  c: Float64Array; // lstm cell state
  h: Float64Array;
}

/**
 * Loss of one block and, when grads is given, its gradients (overwritten; unclipped). x and y are
 * [t][stream] symbols. state holds the states before the block and is left holding those after.
 */
export function lossAndGradients(
  s: ModelShape,
  params: Float64Array,
  grads: Float64Array | undefined,
  state: ModelState,
  x: number[][],
  y: number[][],
  dropout?: Dropout
): number {
  const { cell, vocab: K, hidden: m, layers: L } = s;
  const G = GATES[cell];
  const T = x.length;
  const B = x[0].length;
  const p = views(s, params);
  const caches: StepCache[][][] = []; // [t][l][b]
  const tops: { dropped: Float64Array; probs: Float64Array }[][] = []; // [t][b]
  let loss = 0;

  for (let t = 0; t < T; t++) {
    caches.push([]);
    tops.push([]);
    for (let l = 0; l < L; l++) {
      caches[t].push([]);
      for (let b = 0; b < B; b++) {
        const symbol = l === 0 ? x[t][b] : -1;
        const input = l === 0 ? new Float64Array(0) : dropped(caches[t][l - 1][b].h, dropout, l - 1, t, b);
        caches[t][l].push(layerStep(s, p, l, symbol, input, state, b));
      }
    }
    for (let b = 0; b < B; b++) {
      const top = dropped(caches[t][L - 1][b].h, dropout, L - 1, t, b);
      const probs = new Float64Array(K);
      for (let k = 0; k < K; k++) probs[k] = p.c[k] + dot(p.V, k * m, top);
      loss -= softmaxInPlace(probs, y[t][b]);
      tops[t].push({ dropped: top, probs });
    }
  }
  loss /= B;
  if (!grads) return loss;

  grads.fill(0);
  const g = views(s, grads);
  // dh[l][b], dc[l][b]: gradient carried from step t + 1 into the states of step t.
  const dh = Array.from({ length: L }, () => Array.from({ length: B }, () => new Float64Array(m)));
  const dc = Array.from({ length: L }, () => Array.from({ length: B }, () => new Float64Array(m)));
  for (let t = T - 1; t >= 0; t--) {
    // Output layer: dL/do = (p − onehot(y)) / B.
    const dTop = Array.from({ length: B }, () => new Float64Array(m));
    for (let b = 0; b < B; b++) {
      const { dropped: top, probs } = tops[t][b];
      for (let k = 0; k < K; k++) {
        const dO = (probs[k] - (k === y[t][b] ? 1 : 0)) / B;
        g.c[k] += dO;
        for (let j = 0; j < m; j++) {
          g.V[k * m + j] += dO * top[j];
          dTop[b][j] += p.V[k * m + j] * dO;
        }
      }
      undrop(dTop[b], dropout, L - 1, t, b);
    }
    let fromAbove = dTop; // dL/dh of layer l at step t, from the layer above (or the output)
    for (let l = L - 1; l >= 0; l--) {
      const I = l === 0 ? K : m;
      const Wx = p[`layers.${l}.Wx`];
      const Wh = p[`layers.${l}.Wh`];
      const gWx = g[`layers.${l}.Wx`];
      const gWh = g[`layers.${l}.Wh`];
      const gB = g[`layers.${l}.b`];
      const toBelow = Array.from({ length: B }, () => new Float64Array(l === 0 ? 0 : m));
      for (let b = 0; b < B; b++) {
        const cache = caches[t][l][b];
        const dhT = new Float64Array(m);
        for (let j = 0; j < m; j++) dhT[j] = fromAbove[b][j] + dh[l][b][j];
        const { dPre, dhPrev, dcPrev, dhhN } = cellBackward(cell, m, cache, dhT, dc[l][b]);
        for (let r = 0; r < G * m; r++) {
          gB[r] += dPre[r];
          if (l === 0) gWx[r * I + cache.symbol] += dPre[r];
          else for (let j = 0; j < I; j++) gWx[r * I + j] += dPre[r] * cache.input[j];
          // The gradient of the hidden-side product: for gru's n block it is dhhN.
          const dHidden = cell === 'gru' && r >= 2 * m ? dhhN[r - 2 * m] : dPre[r];
          for (let j = 0; j < m; j++) {
            gWh[r * m + j] += dHidden * cache.hPrev[j];
            dhPrev[j] += Wh[r * m + j] * dHidden;
          }
          if (l > 0) for (let j = 0; j < I; j++) toBelow[b][j] += Wx[r * I + j] * dPre[r];
        }
        dh[l][b] = dhPrev;
        dc[l][b] = dcPrev;
        if (l > 0) undrop(toBelow[b], dropout, l - 1, t, b);
      }
      fromAbove = toBelow;
    }
  }
  return loss;
}

/**
 * L − T·ln K of one block (forward only; state is not changed): the loss above that of a uniform
 * prediction, for the gradient check: the same gradient as the loss, each term computed as
 * max + log1p(Σ expm1(o − max) / K) − o[y] so that the tiny changes a finite difference looks at
 * are not lost to rounding next to ln K.
 */
export function excessLoss(s: ModelShape, params: Float64Array, state: ModelState, x: number[][], y: number[][], dropout?: Dropout): number {
  const { vocab: K, hidden: m, layers: L } = s;
  const B = x[0].length;
  const p = views(s, params);
  const moving: ModelState = { h: state.h.map((layer) => layer.slice()), c: state.c.map((layer) => layer.slice()) };
  const o = new Float64Array(K);
  let total = 0;
  for (let t = 0; t < x.length; t++) {
    for (let b = 0; b < B; b++) {
      let input: Float64Array = new Float64Array(0);
      for (let l = 0; l < L; l++) input = dropped(layerStep(s, p, l, l === 0 ? x[t][b] : -1, input, moving, b).h, dropout, l, t, b);
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, (o[k] = p.c[k] + dot(p.V, k * m, input)));
      let excess = 0; // Σ_k exp(o_k − max) − K, without forming the sum next to K
      for (const v of o) excess += Math.expm1(v - max);
      total += max + Math.log1p(excess / K) - o[y[t][b]];
    }
  }
  return total / B;
}

/**
 * One step of layer l for stream b: from its input (layer 0: the symbol; else the layer below's
 * output after dropout) and the stream's states, which it moves on. Returns what backward needs.
 */
function layerStep(s: ModelShape, p: View, l: number, symbol: number, input: Float64Array, state: ModelState, b: number): StepCache {
  const { cell, hidden: m } = s;
  const G = GATES[cell];
  const I = l === 0 ? s.vocab : m;
  const Wx = p[`layers.${l}.Wx`];
  const Wh = p[`layers.${l}.Wh`];
  const bias = p[`layers.${l}.b`];
  const hPrev = state.h[l][b];
  const cPrev = state.c[l][b];
  const pre = new Float64Array(G * m);
  const hhN = new Float64Array(cell === 'gru' ? m : 0);
  for (let r = 0; r < G * m; r++) {
    const fromInput = bias[r] + (l === 0 ? Wx[r * I + symbol] : dot(Wx, r * I, input));
    const fromHidden = dot(Wh, r * m, hPrev);
    // gru's n block: Wh_n h' is added after the reset gate (cellForward).
    if (cell === 'gru' && r >= 2 * m) hhN[r - 2 * m] = fromHidden;
    pre[r] = fromInput + (cell === 'gru' && r >= 2 * m ? 0 : fromHidden);
  }
  const { gates, c, h } = cellForward(cell, m, pre, hhN, hPrev, cPrev);
  state.h[l][b] = h;
  state.c[l][b] = c;
  return { input, symbol, hPrev, cPrev, gates, hhN, c, h };
}

function dot(matrix: Float64Array, offset: number, v: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < v.length; j++) sum += matrix[offset + j] * v[j];
  return sum;
}

/** The layer's output after its dropout mask: h itself without dropout (the factors would all be 1). */
function dropped(h: Float64Array, d: Dropout | undefined, layer: number, t: number, stream: number): Float64Array {
  if (!d || d.p === 0) return h;
  return h.map((v, unit) => v * keep(d, layer, t, stream, unit));
}

/** The gradient through a dropout mask, in place (the same factors as forward). */
function undrop(grad: Float64Array, d: Dropout | undefined, layer: number, t: number, stream: number): void {
  for (let unit = 0; unit < grad.length; unit++) grad[unit] *= keep(d, layer, t, stream, unit);
}

function cellForward(cell: CellKind, m: number, pre: Float64Array, hhN: Float64Array, hPrev: Float64Array, cPrev: Float64Array) {
  const gates = new Float64Array(pre.length);
  const c = new Float64Array(m);
  const h = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    if (cell === 'rnn') {
      h[j] = gates[j] = Math.tanh(pre[j]);
    } else if (cell === 'lstm') {
      const [i, f, o, gg] = [sigmoid(pre[j]), sigmoid(pre[m + j]), sigmoid(pre[2 * m + j]), Math.tanh(pre[3 * m + j])];
      [gates[j], gates[m + j], gates[2 * m + j], gates[3 * m + j]] = [i, f, o, gg];
      c[j] = f * cPrev[j] + i * gg;
      h[j] = o * Math.tanh(c[j]);
    } else {
      const r = sigmoid(pre[j]);
      const z = sigmoid(pre[m + j]);
      const n = Math.tanh(pre[2 * m + j] + r * hhN[j]);
      [gates[j], gates[m + j], gates[2 * m + j]] = [r, z, n];
      h[j] = (1 - z) * n + z * hPrev[j];
    }
  }
  return { gates, c, h };
}

/**
 * One cell's step backward: from dL/dh_t (dh) and dL/dc_t (dc, lstm), the gradients of the
 * pre-activations (dPre), of the previous states, and (gru) of Wh_n h' (dhhN). dhPrev holds only
 * the direct terms; the caller adds the Wh products.
 */
function cellBackward(cell: CellKind, m: number, k: StepCache, dh: Float64Array, dc: Float64Array) {
  const G = GATES[cell];
  const dPre = new Float64Array(G * m);
  const dhPrev = new Float64Array(m);
  const dcPrev = new Float64Array(m);
  const dhhN = new Float64Array(cell === 'gru' ? m : 0);
  for (let j = 0; j < m; j++) {
    if (cell === 'rnn') {
      dPre[j] = dh[j] * (1 - k.h[j] * k.h[j]);
    } else if (cell === 'lstm') {
      const [i, f, o, gg] = [k.gates[j], k.gates[m + j], k.gates[2 * m + j], k.gates[3 * m + j]];
      const tc = Math.tanh(k.c[j]);
      const dC = dc[j] + dh[j] * o * (1 - tc * tc);
      dPre[j] = dC * gg * i * (1 - i);
      dPre[m + j] = dC * k.cPrev[j] * f * (1 - f);
      dPre[2 * m + j] = dh[j] * tc * o * (1 - o);
      dPre[3 * m + j] = dC * i * (1 - gg * gg);
      dcPrev[j] = dC * f;
    } else {
      const [r, z, n] = [k.gates[j], k.gates[m + j], k.gates[2 * m + j]];
      const dn = dh[j] * (1 - z);
      const dA = dn * (1 - n * n); // the gradient of n's pre-activation
      dPre[2 * m + j] = dA;
      dhhN[j] = dA * r;
      dPre[j] = dA * k.hhN[j] * r * (1 - r);
      dPre[m + j] = dh[j] * (k.hPrev[j] - n) * z * (1 - z);
      dhPrev[j] = dh[j] * z;
    }
  }
  return { dPre, dhPrev, dcPrev, dhhN };
}

// ---------------------------------------------------------------------------------------------
// One stream, no dropout: advancing the states and sampling (native/kernels/model.cc mirrors them).

/** Feeds one symbol through the layers of stream 0; returns the top layer's output. */
function stepOneStream(s: ModelShape, p: View, state: ModelState, symbol: number): Float64Array {
  let input: Float64Array = new Float64Array(0);
  for (let l = 0; l < s.layers; l++) input = layerStep(s, p, l, symbol, input, state, 0).h;
  return input;
}

/** Feeds the symbols through the layers of a one-stream state, moving it on. */
export function advanceSymbols(s: ModelShape, params: Float64Array, state: ModelState, symbols: ArrayLike<number>): void {
  const p = views(s, params);
  for (let i = 0; i < symbols.length; i++) stepOneStream(s, p, state, symbols[i]);
}

/** Feeds `symbol` to a one-stream state, moving it on: the next symbol's logits o = V h + c (what exports are held to). */
export function nextLogits(s: ModelShape, params: Float64Array, state: ModelState, symbol: number): Float64Array {
  const p = views(s, params);
  const top = stepOneStream(s, p, state, symbol);
  return Float64Array.from({ length: s.vocab }, (_, k) => p.c[k] + dot(p.V, k * s.hidden, top));
}

/** Feeds `symbol` to a one-stream state, moving it on: the next symbol's log-probabilities (log-softmax of the logits). */
export function nextLogProbs(s: ModelShape, params: Float64Array, state: ModelState, symbol: number): Float64Array {
  const o = nextLogits(s, params, state, symbol);
  let max = -Infinity;
  for (const v of o) max = Math.max(max, v);
  let sum = 0;
  for (const v of o) sum += Math.exp(v - max);
  const logSum = Math.log(sum);
  return o.map((v) => v - max - logSum);
}

/**
 * Fills out with drawn symbols: each step feeds the previous symbol (first: `first`) and draws the
 * next from softmax(o / temperature); temperature 0 takes the argmax.
 * The one-stream state is moved on.
 */
export function sampleSymbols(
  s: ModelShape,
  params: Float64Array,
  state: ModelState,
  first: number,
  rules: SamplingRules | number,
  rng: Rng,
  out: Int32Array,
  recent?: RecentSymbols
): void {
  const { vocab: K, hidden: m } = s;
  const r = typeof rules === 'number' ? { temperature: rules } : rules;
  const p = views(s, params);
  const o = new Float64Array(K);
  const weights = new Float64Array(K);
  const uniform = () => rng.uniform();
  let x = first;
  for (let i = 0; i < out.length; i++) {
    const top = stepOneStream(s, p, state, x);
    for (let k = 0; k < K; k++) o[k] = p.c[k] + dot(p.V, k * m, top);
    x = drawByRules(o, r, recent?.seen, uniform, weights);
    out[i] = x;
    recent?.push(x);
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

