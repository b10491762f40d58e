// Training orchestration: options, initial weights, the data walk, the smooth loss, sampling.
import { Backend, BackendChoice, BackendName, createBackend, selectBackend } from './backend';
import { Corpus } from './corpus';
import { UserError } from './errors';
import { Layout, makeLayout, PARAMETER_NAMES, view } from './layout';
import { Rng } from './random';
import { sampleText } from './sampling';

export interface TrainerOptions {
  /** m, hidden units (default 100). */
  hidden?: number;
  /** T, characters per update (default 25). */
  seqLength?: number;
  /** AdaGrad learning rate η (default 0.1). */
  eta?: number;
  /** Standard deviation of the initial U, W, V (default 0.01). */
  sigma?: number;
  /** AdaGrad ε (default 1e-8). */
  epsilon?: number;
  /** Gradients are clipped to [−clip, clip] (default 5). */
  clip?: number;
  /** Seed of the initial weights and of sampling (default 42). */
  seed?: number;
  /** 'auto' (default): native when the addon loads, else ts; or the environment's RNN_NATIVE_BACKEND. */
  backend?: BackendChoice;
}

export type TrainerConfig = Required<Omit<TrainerOptions, 'backend'>> & { backend: BackendName };

export const DEFAULTS = {
  hidden: 100,
  seqLength: 25,
  eta: 0.1,
  sigma: 0.01,
  epsilon: 1e-8,
  clip: 5,
  seed: 42,
} as const;

export const MAX_HIDDEN = 8192;
/** Largest model: U, W, V, b and c together. */
export const MAX_PARAMETERS = 50_000_000;
/** Largest scratch space of one sequence, seqLength × (2·hidden + vocab) values (as in native/addon.cc). */
export const MAX_WORKSPACE = 2 ** 28;
/** Most updates in one call of Trainer.train (each loss is returned). */
export const MAX_UPDATES_PER_CALL = 10_000_000;
/** Smallest positive normal float32: eta, epsilon and clip must stay positive in float32. */
const FLOAT32_MIN = 1.1754943508222875e-38;
const FLOAT32_MAX = 3.4028234663852886e38;

/** Smooth loss: the first loss, then s ← 0.999·s + 0.001·L. */
export function smoothLossUpdate(previous: number | undefined, loss: number): number {
  return previous === undefined ? loss : 0.999 * previous + 0.001 * loss;
}

/**
 * Initial parameters: U, W, V ~ N(0, σ²), b = c = 0, drawn in layout order from rng. Each value
 * is rounded to float32 so that both backends start from bit-identical weights.
 */
export function initialParams(layout: Layout, sigma: number, rng: Rng): Float64Array {
  const params = new Float64Array(layout.total);
  for (const name of ['U', 'W', 'V'] as const) {
    const part = view(layout, params, name);
    for (let i = 0; i < part.length; i++) part[i] = Math.fround(sigma * rng.normal());
  }
  return params;
}

export interface SampleOptions {
  /** Softmax temperature τ; 0 takes the argmax (default 1). */
  temperature?: number;
  /** Text that warms up the hidden state; its last character is the first input. */
  prime?: string;
}

/** Everything a run needs to continue exactly where it stopped (lib/checkpoint.ts stores it). */
export interface TrainingState {
  config: Omit<TrainerConfig, 'backend'>;
  vocabulary: readonly string[];
  step: number;
  epoch: number;
  position: number;
  smoothLoss: number | undefined;
  lastLoss: number | undefined;
  rngState: Uint32Array;
  /** U | W | V | b | c, the AdaGrad accumulators and the hidden state, in the backend's precision. */
  params: Float32Array | Float64Array;
  accum: Float32Array | Float64Array;
  state: Float32Array | Float64Array;
}

export class Trainer {
  readonly config: TrainerConfig;
  readonly layout: Layout;
  readonly backend: Backend;
  /** Why the native backend fell back to ts, if it did. */
  readonly backendWarning?: string;
  /** Updates done. */
  step = 0;
  smoothLoss: number | undefined;
  lastLoss: number | undefined;
  /** [position, epoch] of the data walk, shared with the backend. */
  private readonly walk = Float64Array.of(0, 1);
  private readonly rng: Rng;

  constructor(readonly corpus: Corpus, options: TrainerOptions = {}) {
    const { backend: choice, ...rest } = options;
    const selection = selectBackend(choice ?? 'auto');
    this.config = { ...validateOptions({ ...DEFAULTS, ...stripUndefined(rest) }, corpus), backend: selection.name };
    this.backendWarning = selection.warning;
    this.layout = makeLayout(this.config.hidden, corpus.vocabSize);
    this.rng = Rng.fromSeed(this.config.seed);
    const initial = initialParams(this.layout, this.config.sigma, this.rng);
    this.backend = createBackend(selection.name, this.layout, initial);
  }

  /** Continues a saved run on the same text; the backend may differ from the one that saved it. */
  static restore(corpus: Corpus, saved: TrainingState, backend?: BackendChoice): Trainer {
    if (saved.vocabulary.length !== corpus.vocabSize || saved.vocabulary.some((s, i) => s !== corpus.vocabulary[i])) {
      throw new UserError('the text has a different vocabulary from the saved run');
    }
    if (!(saved.position >= 0 && saved.position <= corpus.length)) {
      throw new UserError(`the saved data position ${saved.position} is outside the text (${corpus.length} characters)`);
    }
    const trainer = new Trainer(corpus, { ...saved.config, backend });
    trainer.backend.params.set(saved.params);
    trainer.backend.accum.set(saved.accum);
    trainer.backend.state.set(saved.state);
    trainer.walk[0] = saved.position;
    trainer.walk[1] = saved.epoch;
    trainer.rng.state.set(saved.rngState);
    trainer.step = saved.step;
    trainer.smoothLoss = saved.smoothLoss;
    trainer.lastLoss = saved.lastLoss;
    return trainer;
  }

  /** A copy of the whole training state. */
  snapshot(): TrainingState {
    const { backend: _backend, ...config } = this.config;
    return {
      config,
      vocabulary: this.corpus.vocabulary,
      step: this.step,
      epoch: this.epoch,
      position: this.position,
      smoothLoss: this.smoothLoss,
      lastLoss: this.lastLoss,
      rngState: Uint32Array.from(this.rng.state),
      params: this.backend.params.slice(),
      accum: this.backend.accum.slice(),
      state: this.backend.state.slice(),
    };
  }

  get epoch(): number {
    return this.walk[1];
  }

  /** Where the next update's window starts in the corpus. */
  get position(): number {
    return this.walk[0];
  }

  /** Runs n updates and returns their losses. */
  train(n: number): Float64Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_UPDATES_PER_CALL) {
      throw new RangeError(`n must be an integer from 0 to ${MAX_UPDATES_PER_CALL} (call train again for more), got ${n}`);
    }
    const losses = new Float64Array(n);
    const { seqLength, eta, epsilon, clip } = this.config;
    this.backend.train(this.corpus.indices, this.walk, { seqLength, eta, epsilon, clip }, losses);
    for (const loss of losses) this.smoothLoss = smoothLossUpdate(this.smoothLoss, loss);
    if (n > 0) this.lastLoss = losses[n - 1];
    this.step += n;
    return losses;
  }

  /**
   * Synthesizes `length` characters from the current hidden state (which is not changed). The
   * first input is the last character of `prime`, or else the character at the data position.
   */
  sample(length: number, options: SampleOptions = {}): string {
    const prime =
      options.prime !== undefined && options.prime !== ''
        ? this.corpus.encode(options.prime)
        : Int32Array.of(this.corpus.indices[Math.min(this.position, this.corpus.length - 1)]);
    return sampleText(this.backend, this.corpus.vocab, {
      state: this.backend.state,
      prime,
      length,
      temperature: options.temperature ?? 1,
      rng: this.rng,
    });
  }

  /** The parameters by name, as float64 copies. */
  parameters(): Record<(typeof PARAMETER_NAMES)[number], Float64Array> {
    const flat = Float64Array.from(this.backend.params);
    return Object.fromEntries(PARAMETER_NAMES.map((name) => [name, view(this.layout, flat, name)])) as Record<
      (typeof PARAMETER_NAMES)[number],
      Float64Array
    >;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type NumericOptions = Omit<TrainerConfig, 'backend'>;

/** Checks each option; a UserError names the option and its accepted range. */
export function validateOptions(o: NumericOptions, corpus: Corpus): NumericOptions {
  const integer = (name: keyof NumericOptions, lo: number, hi: number) => {
    const v = o[name];
    if (!Number.isSafeInteger(v) || v < lo || v > hi) {
      throw new UserError(`${name} must be an integer from ${lo} to ${hi}, got ${v}`);
    }
  };
  const inRange = (name: keyof NumericOptions, lo: number, hi: number) => {
    const v = o[name];
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) {
      throw new UserError(`${name} must be a number from ${lo} to ${hi}, got ${v}`);
    }
  };
  integer('hidden', 1, MAX_HIDDEN);
  integer('seqLength', 1, 1 << 20);
  inRange('eta', FLOAT32_MIN, FLOAT32_MAX);
  inRange('sigma', 0, 1000);
  inRange('epsilon', FLOAT32_MIN, FLOAT32_MAX);
  inRange('clip', FLOAT32_MIN, FLOAT32_MAX);
  if (!Number.isSafeInteger(o.seed)) throw new UserError(`seed must be an integer, got ${o.seed}`);
  const { hidden: m, seqLength: T } = o;
  const K = corpus.vocabSize;
  const parameters = makeLayout(m, K).total;
  if (parameters > MAX_PARAMETERS) {
    throw new UserError(
      `hidden ${m} with a vocabulary of ${K} makes ${parameters} parameters; at most ${MAX_PARAMETERS} are supported`
    );
  }
  if (T * (2 * m + K) + m > MAX_WORKSPACE) {
    throw new UserError(
      `seqLength ${T} × (2 × hidden ${m} + vocabulary ${K}) is too large for one sequence's scratch space ` +
        `(at most ${MAX_WORKSPACE} values); use a smaller seqLength or hidden`
    );
  }
  if (corpus.length < o.seqLength + 1) {
    throw new UserError(
      `${corpus.source} has ${corpus.length} characters; seqLength (--seq-length) ${o.seqLength} needs at least ${o.seqLength + 1}`
    );
  }
  return o;
}
