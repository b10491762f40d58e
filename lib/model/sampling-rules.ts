// How a symbol is drawn from the logits, in this order (native/kernels/model.h SamplingRules, the
// same): each distinct symbol of the last repetitionWindow divided (a positive logit) or multiplied
// (a negative one) by repetitionPenalty (CTRL's rule); the softmax at `temperature` (0 = argmax);
// the topK most likely (0 = all); the smallest most-likely set of probability ≥ topP; those of
// probability ≥ minP × the most likely's. Ties go to the lowest symbol id.

export interface SamplingRules {
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repetitionWindow?: number;
}

/** The logit of symbol k after the repetition penalty (seen: counts in the window, or undefined). */
function penalized(o: Float64Array, k: number, penalty: number, seen: Int32Array | undefined): number {
  const v = o[k];
  if (seen === undefined || seen[k] === 0) return v;
  return v > 0 ? v / penalty : v * penalty;
}

/** Keeps the weights of topK, then topP, then minP: the others become 0. */
function filter(w: Float64Array, r: SamplingRules): void {
  const K = w.length;
  const topK = r.topK !== undefined && r.topK > 0 && r.topK < K;
  const topP = r.topP !== undefined && r.topP < 1;
  if (topK || topP) {
    // A stable sort by weight, heaviest first: ties keep the lower symbol id first.
    const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => (w[b] > w[a] ? 1 : w[b] < w[a] ? -1 : a - b));
    let keep = topK ? r.topK! : K;
    if (topP) {
      let [total, cumulative, i] = [0, 0, 0];
      for (let j = 0; j < keep; j++) total += w[order[j]];
      while (i < keep && cumulative < r.topP! * total) cumulative += w[order[i++]];
      keep = Math.max(i, 1);
    }
    for (let i = keep; i < K; i++) w[order[i]] = 0;
  }
  if (r.minP !== undefined && r.minP > 0) {
    let most = 0;
    for (const v of w) most = Math.max(most, v);
    for (let k = 0; k < K; k++) if (w[k] < r.minP * most) w[k] = 0;
  }
}

/**
 * One symbol from logits o by the rules: the first k whose cumulative weight exceeds u · Σ weights
 * (u from `uniform`, called once unless the temperature is 0, which takes the argmax).
 */
export function drawByRules(o: Float64Array, r: SamplingRules, seen: Int32Array | undefined, uniform: () => number, weights: Float64Array): number {
  const K = o.length;
  const penalty = r.repetitionPenalty ?? 1;
  const apply = seen !== undefined && penalty !== 1 ? seen : undefined;
  let best = 0;
  for (let k = 1; k < K; k++) if (penalized(o, k, penalty, apply) > penalized(o, best, penalty, apply)) best = k;
  if (r.temperature === 0) return best;
  const max = penalized(o, best, penalty, apply);
  for (let k = 0; k < K; k++) weights[k] = Math.exp((penalized(o, k, penalty, apply) - max) / r.temperature);
  filter(weights, r);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += weights[k];
  const threshold = uniform() * sum;
  let cumulative = 0;
  for (let k = 0; k < K; k++) {
    cumulative += weights[k];
    if (threshold < cumulative) return k;
  }
  return K - 1;
}

/** The repetition window over the text: counts of each symbol among its last `window`. */
export class RecentSymbols {
  private readonly text: number[] = [];
  private oldest = 0;
  readonly seen: Int32Array;

  constructor(vocab: number, readonly window: number, recent: ArrayLike<number>) {
    this.seen = new Int32Array(vocab);
    for (let i = Math.max(0, recent.length - window); i < recent.length; i++) this.push(recent[i]);
  }

  push(symbol: number): void {
    this.text.push(symbol);
    this.seen[symbol]++;
    if (this.text.length - this.oldest > this.window) this.seen[this.text[this.oldest++]]--;
    // Old symbols are dropped now and then, so that memory stays within twice the window.
    if (this.oldest > this.window) this.text.splice(0, this.oldest), (this.oldest = 0);
  }

  /** The window's symbols, oldest first. */
  symbols(): Int32Array {
    return Int32Array.from(this.text.slice(this.oldest));
  }
}
