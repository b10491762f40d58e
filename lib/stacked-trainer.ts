// Training of the general model (issue 10): the stacked cells on a backend of
// lib/stacked-backend.ts, B streams walking their slices (lib/stream-walk.ts), the dropout masks of
// each update, an optimizer of lib/optimizers.ts with char-rnn's learning-rate decay per epoch.
import { BackendName } from './backend';
import { decayedRate, OptimizerSettings } from './optimizers';
import { Rng } from './random';
import { createStackedBackend, StackedBackend } from './stacked-backend';
import { stackedLayout, StackedShape } from './stacked-reference';
import { nextWindows, sliceLength, StreamWalk } from './stream-walk';

export interface StackedSettings extends StackedShape {
  streams: number;
  seqLength: number;
  /** Probability of dropping a unit of each layer's output (0: none). */
  dropout: number;
  sigma: number;
  /** The initial bias of the lstm forget gates (default 0; char-rnn sets 1; unused by rnn and gru). */
  forgetBias?: number;
  seed: number;
  optimizer: OptimizerSettings;
  /** The learning rate is multiplied by lrDecay once per epoch after epoch lrDecayAfter (1: never). */
  lrDecay: number;
  lrDecayAfter: number;
}

/**
 * Initial parameters: the weight matrices (every Wx, Wh and V, in table order) from N(0, σ²),
 * rounded to float32 as the vanilla model's; the biases 0, except lstm's forget gates (the second
 * m of each layer's b, gates i f o g), which start at forgetBias (char-rnn's train.lua sets 1 "to
 * encourage remembering in the beginning"). For rnn, one layer, this draws U, W, V in the vanilla
 * model's order, so both start from the same weights.
 */
export function stackedInitialParams(s: StackedShape, sigma: number, rng: Rng, forgetBias = 0): Float64Array {
  const { parameters, total } = stackedLayout(s);
  const params = new Float64Array(total);
  for (const p of parameters) {
    if (p.shape.length !== 2) continue; // a bias
    for (let i = p.offset; i < p.offset + p.length; i++) params[i] = Math.fround(sigma * rng.normal());
  }
  if (s.cell === 'lstm') {
    for (const p of parameters) {
      if (p.name.endsWith('.b')) params.fill(Math.fround(forgetBias), p.offset + s.hidden, p.offset + 2 * s.hidden);
    }
  }
  return params;
}

export class StackedTrainer {
  readonly backend: StackedBackend;
  readonly walk: StreamWalk = { position: 0, epoch: 1 };
  /** Updates done. */
  step = 0;

  /** `text`: the training symbols; `rng` draws the initial weights (and is left where they end). */
  constructor(readonly text: Uint8Array | Uint16Array, readonly settings: StackedSettings, backend: BackendName, rng: Rng = Rng.fromSeed(settings.seed)) {
    sliceLength(text.length, settings.streams, settings.seqLength); // refuses a text too short for the streams
    const initial = stackedInitialParams(settings, settings.sigma, rng, settings.forgetBias);
    this.backend = createStackedBackend(backend, settings, settings.streams, settings.seqLength, initial, settings.optimizer.kind === 'adam');
  }

  get params() {
    return this.backend.params;
  }

  /** Runs losses.length updates, writing their losses (Σ over the window, mean over the streams). */
  train(losses: Float64Array): void {
    const { streams, seqLength: T, dropout, seed, optimizer } = this.settings;
    const x = new Int32Array(T * streams);
    const y = new Int32Array(T * streams);
    for (let i = 0; i < losses.length; i++) {
      const { starts, newEpoch } = nextWindows(this.text.length, streams, T, this.walk);
      if (newEpoch) this.resetStates();
      for (let t = 0; t < T; t++) {
        starts.forEach((start, b) => {
          x[t * streams + b] = this.text[start + t];
          y[t * streams + b] = this.text[start + t + 1];
        });
      }
      const update = this.step + 1;
      losses[i] = this.backend.lossAndGradients(x, y, dropout > 0 ? { p: dropout, seed, update } : undefined);
      this.backend.optimize({ ...optimizer, eta: this.learningRate() }, update);
      this.step = update;
    }
  }

  /** The learning rate of the current epoch. */
  learningRate(): number {
    const { optimizer, lrDecay, lrDecayAfter } = this.settings;
    return decayedRate(optimizer.eta, lrDecay, lrDecayAfter, this.walk.epoch);
  }

  resetStates(): void {
    this.backend.h.fill(0);
    this.backend.c.fill(0);
  }
}
