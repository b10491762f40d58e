// Training of the general model on the float64 reference (issue 10): the stacked cells of
// lib/stacked-reference.ts, B streams walking their slices (lib/stream-walk.ts), dropout masks of
// each update, and an optimizer of lib/optimizers.ts. Slow, and the truth: a native trainer will be
// held to it. Not yet reachable from the CLI or the Trainer.
import { Corpus } from './corpus';
import { OptimizerSettings, optimizerState, OptimizerState, optimizerStep } from './optimizers';
import { Rng } from './random';
import { stackedLayout, stackedLossAndGradients, StackedShape, StackedState, zeroState } from './stacked-reference';
import { nextWindows, sliceLength, StreamWalk } from './stream-walk';

export interface StackedSettings extends StackedShape {
  streams: number;
  seqLength: number;
  /** Probability of dropping a unit of each layer's output (0: none). */
  dropout: number;
  sigma: number;
  seed: number;
  optimizer: OptimizerSettings;
}

/**
 * Initial parameters: the weight matrices (every Wx, Wh and V, in table order) from N(0, σ²),
 * rounded to float32 as the vanilla model's; the biases 0. For rnn, one layer, this draws U, W, V
 * in the vanilla model's order, so both start from the same weights.
 */
export function stackedInitialParams(s: StackedShape, sigma: number, rng: Rng): Float64Array {
  const { parameters, total } = stackedLayout(s);
  const params = new Float64Array(total);
  for (const p of parameters) {
    if (p.shape.length !== 2) continue; // a bias
    for (let i = p.offset; i < p.offset + p.length; i++) params[i] = Math.fround(sigma * rng.normal());
  }
  return params;
}

export class StackedTrainer {
  readonly params: Float64Array;
  readonly walk: StreamWalk = { position: 0, epoch: 1 };
  state: StackedState;
  optimizer: OptimizerState;
  /** Updates done. */
  step = 0;
  private readonly grads: Float64Array;

  constructor(readonly corpus: Corpus, readonly settings: StackedSettings) {
    sliceLength(corpus.length, settings.streams, settings.seqLength); // refuses a text too short for the streams
    this.params = stackedInitialParams(settings, settings.sigma, Rng.fromSeed(settings.seed));
    this.grads = new Float64Array(this.params.length);
    this.state = zeroState(settings, settings.streams);
    this.optimizer = optimizerState(settings.optimizer.kind, this.params.length);
  }

  /** Runs n updates; returns their losses (Σ over the window, mean over the streams). */
  train(n: number): Float64Array {
    const { streams, seqLength: T, dropout } = this.settings;
    const text = this.corpus.indices;
    const losses = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const { starts, newEpoch } = nextWindows(text.length, streams, T, this.walk);
      if (newEpoch) this.state = zeroState(this.settings, streams);
      const x = Array.from({ length: T }, (_, t) => starts.map((start) => text[start + t]));
      const y = Array.from({ length: T }, (_, t) => starts.map((start) => text[start + t + 1]));
      const masks = dropout > 0 ? { p: dropout, seed: this.settings.seed, update: this.step + 1 } : undefined;
      losses[i] = stackedLossAndGradients(this.settings, this.params, this.grads, this.state, x, y, masks);
      optimizerStep(this.settings.optimizer, this.params, this.grads, this.optimizer);
      this.step += 1;
    }
    return losses;
  }
}

/**
 * The validation loss in nats per character: the model read forward over the whole held-out text
 * (symbols, at least two) as one stream from a zero state, without dropout, predicting each symbol
 * from those before it. Windows of `window` characters carry the state, so the result is the same
 * for any window; nothing of the model changes.
 */
export function validationLoss(s: StackedShape, params: Float64Array, symbols: ArrayLike<number>, window = 100): number {
  if (symbols.length < 2) throw new RangeError('the held-out text needs at least two symbols');
  const state = zeroState(s, 1);
  let total = 0;
  for (let start = 0; start + 1 < symbols.length; start += window) {
    const end = Math.min(start + window, symbols.length - 1);
    const x = Array.from({ length: end - start }, (_, t) => [symbols[start + t]]);
    const y = Array.from({ length: end - start }, (_, t) => [symbols[start + t + 1]]);
    total += stackedLossAndGradients(s, params, undefined, state, x, y);
  }
  return total / (symbols.length - 1);
}
