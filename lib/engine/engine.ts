// What the Trainer trains: the one model (lib/model/reference.ts) on a backend of
// lib/engine/model-backend.ts: B streams walking their slices (lib/model/stream-walk.ts), the dropout masks
// of each update, an optimizer of lib/model/optimizers.ts with char-rnn's learning-rate decay per epoch.
// The DD2424 model is its configuration cell rnn, 1 layer, 1 stream, AdaGrad.
import { createModelBackend } from './backend';
import { ModelConfig } from '../model/config';
import { decayedRate, OPTIMIZER_DEFAULTS, OptimizerKind, OptimizerSettings } from '../model/optimizers';
import { SymbolText } from '../text/symbol-text';
import { Rng } from '../util/random';
import { SamplingRules } from '../model/sampling-rules';
import { SamplerSource, zeroStateSampler } from './sampling';
import { BackendName, finish, Flat, ModelBackend, VALIDATION_WINDOW } from './model-backend';
import { LIMITS, scratchFloats } from '../model/limits';
import { CellKind, parameterTable, ModelShape } from '../model/reference';
import { nextWindows, sliceLength, StreamWalk } from '../model/stream-walk';
import { initialParams, InitScheme } from '../model/initialisation';

export { initialParams };

/** The tensors of a training state, in the backend's precision. */
export interface EngineTensors {
  /** The parameters, flat in the model's table order. */
  params: Flat;
  /** The optimizer's second-moment state: Σg² (AdaGrad), the mean of g² (RMSprop), v (Adam). */
  second: Flat;
  /** Adam's first moment (empty otherwise). */
  first: Flat;
  /** The carried states: h then c, each [layer][stream][unit]. */
  state: Flat;
}

/** Why float64 values (a ts run's) cannot go to the native backend. */
export const BEYOND_FLOAT32 = "the saved state holds values beyond float32's range (±3.4e38), which the native and wasm backends cannot hold: use the ts backend (--backend ts)";

export function modelShape(c: ModelConfig, vocab: number): ModelShape {
  return { cell: c.cell as CellKind, vocab, hidden: c.hidden, layers: c.layers };
}

export function optimizerSettings(c: ModelConfig): OptimizerSettings {
  const kind = c.optimizer as OptimizerKind;
  return { ...OPTIMIZER_DEFAULTS[kind], kind, eta: c.eta, epsilon: c.epsilon, clip: c.clip, decay: c.rmsDecay, beta1: c.beta1, beta2: c.beta2 };
}

/**
 * Steps per block of a validation pass of `streams` streams: VALIDATION_WINDOW, or fewer where its
 * scratch space would pass the limit (the Trainer refuses streams of which not one step fits).
 */
export function validationWindow(shape: ModelShape, streams: number): number {
  let window = VALIDATION_WINDOW;
  while (window > 1 && scratchFloats(shape, streams, window).floats > LIMITS.maxWorkspaceFloats) window = Math.floor(window / 2);
  return window;
}

/** Draws text from saved weights from a zero state (the sample command and the report's passage). */
export function savedModelSampler(config: ModelConfig, vocab: number, params: Flat, backend: BackendName): SamplerSource {
  return zeroStateSampler(createModelBackend(backend, modelShape(config, vocab), 1, 1, Float64Array.from(params), false));
}


/** Symbols of training text per call of the backend (bounds its copy of the windows): at least one update. */
const SYMBOLS_PER_CALL = 1 << 16;

export class Engine {
  readonly backend: ModelBackend;
  readonly walk: StreamWalk = { position: 0, epoch: 1 };
  /** Updates done: a restored run sets it (the dropout masks and Adam count on it). */
  step = 0;
  private readonly shape: ModelShape;
  private readonly optimizer: OptimizerSettings;

  /** `text`: the training symbols; `rng` draws the initial weights (and is left where they end). */
  constructor(private readonly config: ModelConfig, vocab: number, private readonly text: SymbolText, backend: BackendName, rng: Rng) {
    sliceLength(text.length, config.batch, config.seqLength); // refuses a text too short for the streams
    this.shape = modelShape(config, vocab);
    this.optimizer = optimizerSettings(config);
    const initial = initialParams(this.shape, config.sigma, rng, config.forgetBias, config.init as InitScheme);
    this.backend = createModelBackend(backend, this.shape, config.batch, config.seqLength, initial, config.optimizer === 'adam');
  }

  get backendName(): BackendName {
    return this.backend.name;
  }

  /** losses.length updates of the data walk, writing their losses (Σ over the window, mean over the streams). */
  train(losses: Float64Array): void {
    const { batch: streams, seqLength: T } = this.config;
    const perCall = Math.max(1, Math.floor(SYMBOLS_PER_CALL / (T * streams)));
    let done = 0;
    while (done < losses.length) done += this.trainUpdates(losses.subarray(done, done + perCall));
  }

  /**
   * The next updates of the walk in one call of the backend, up to losses.length but never across
   * an epoch's start (the states reset there and the learning rate may change): how many it did.
   */
  private trainUpdates(losses: Float64Array): number {
    const { batch: streams, seqLength: T, dropout, seed } = this.config;
    const block = T * streams;
    const x = new Int32Array(losses.length * block);
    const y = new Int32Array(losses.length * block);
    let reset = false;
    let count = 0;
    let first: number[] = [];
    for (; count < losses.length; count++) {
      // A new epoch starts the next call: this one ends before it, the walk not moved.
      const walk = { ...this.walk };
      const { starts, newEpoch } = nextWindows(this.text.length, streams, T, walk);
      if (newEpoch && count > 0) break;
      Object.assign(this.walk, walk);
      reset ||= newEpoch;
      if (count === 0) first = starts;
    }
    // Each stream's windows follow one another: one read of the text per stream.
    first.forEach((start, b) => {
      const symbols = this.text.read(start, start + count * T + 1);
      for (let u = 0; u < count; u++) {
        for (let t = 0; t < T; t++) {
          x[u * block + t * streams + b] = symbols[u * T + t];
          y[u * block + t * streams + b] = symbols[u * T + t + 1];
        }
      }
    });
    const blocks = { x: x.subarray(0, count * block), y: y.subarray(0, count * block), losses: losses.subarray(0, count), reset, firstUpdate: this.step + 1, dropout: dropout > 0 ? { p: dropout, seed } : undefined };
    this.backend.train(blocks, { ...this.optimizer, eta: this.learningRate() });
    this.step += count;
    return count;
  }

  /** The learning rate of the current epoch. */
  learningRate(): number {
    const { lrDecay, lrDecayAfter } = this.config;
    return decayedRate(this.optimizer.eta, lrDecay, lrDecayAfter, this.walk.epoch);
  }

  /** Threads of the native backend's updates, the streams split among them: one stream runs one (the others always run one). */
  setThreads(threads: number): void {
    this.backend.setThreads(this.config.batch > 1 ? threads : 1);
  }

  /** Copies of the tensors. */
  saveTensors(): EngineTensors {
    const { params, second, first, h, c } = this.backend;
    const state = new (h.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(h.length + c.length);
    state.set(h);
    state.set(c, h.length);
    return { params: params.slice(), second: second.slice(), first: first.slice(), state };
  }

  /** Sets the tensors from copies of the same sizes (the caller checks them against tensorSizes). */
  loadTensors(saved: EngineTensors): void {
    const { params, second, first, h, c } = this.backend;
    params.set(saved.params);
    second.set(saved.second);
    first.set(saved.first);
    h.set(saved.state.subarray(0, h.length));
    c.set(saved.state.subarray(h.length));
  }

  /** Sets the parameters only (a copy of the same size): a run started from trained weights. */
  loadParams(params: Flat): void {
    this.backend.params.set(params);
  }

  /** The largest |parameter|. */
  maxAbsParam(): number {
    let max = 0;
    for (const v of this.backend.params) max = Math.max(max, Math.abs(v));
    return max;
  }

  tensorSizes(): Record<keyof EngineTensors, number> {
    const { params, second, first, h, c } = this.backend;
    return { params: params.length, second: second.length, first: first.length, state: h.length + c.length };
  }

  /** Whether every parameter, optimizer state and carried state is finite. */
  allFinite(): boolean {
    const { params, second, first, h, c } = this.backend;
    return [params, second, first, h, c].every((t) => t.every(Number.isFinite));
  }

  /** Parameters by name (layers.l.Wx, layers.l.Wh, layers.l.b, V, c), as float64 copies. */
  parameters(): Record<string, Float64Array> {
    const flat = Float64Array.from(this.backend.params);
    return Object.fromEntries(parameterTable(this.shape).parameters.map((p) => [p.name, flat.subarray(p.offset, p.offset + p.length)]));
  }

  /** The shapes of the parameters, by name, in table order. */
  shapes(): { name: string; shape: number[] }[] {
    return parameterTable(this.shape).parameters.map(({ name, shape }) => ({ name, shape }));
  }

  /** Draws from stream 0's carried state, which is not changed. */
  sampler(prime: Int32Array, rules: SamplingRules, rng: Rng): (count: number) => Int32Array {
    const { h, c } = this.backend;
    const { layers, hidden: m } = this.shape;
    const B = this.config.batch;
    const pick = (flat: Flat) => Float64Array.from({ length: layers * m }, (_, i) => flat[Math.floor(i / m) * B * m + (i % m)]);
    return this.backend.sampler({ h: pick(h), c: pick(c) }, prime, rules, rng);
  }

  /**
   * Nats per character of a held-out text, read forward from zero states: as one stream, or cut
   * into `streams` slices read side by side (ModelBackend.validationLoss).
   */
  validationLoss(symbols: ArrayLike<number>, streams = 1): number {
    return finish(this.validationPass(symbols, streams));
  }

  /** The same, one window per step of the generator, which yields the fraction read. */
  validationPass(symbols: ArrayLike<number>, streams = 1): Generator<number, number> {
    if (streams === 1) return this.backend.validationPass(symbols);
    return this.backend.validationPass(symbols, validationWindow(this.shape, streams), streams);
  }
}
