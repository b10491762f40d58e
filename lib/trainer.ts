// Training orchestration: options, initial weights, the data walk, the smooth loss, sampling.
import { Backend, BackendChoice, BackendName, createBackend, selectBackend } from './backend';
import { Corpus } from './corpus';
import { UserError } from './errors';
import { Layout, makeLayout, ParameterName, view, views } from './layout';
import { checkOptions, MODEL_DEFAULTS, ModelConfig, resolveOptions, rowsOf } from './config';
import { OptionSpecs } from './options';
import { LIMITS, workspaceFloats } from './limits';
import { Rng } from './random';
import { sampleText } from './sampling';

/** The model options of lib/config.ts (each optional, default MODEL_DEFAULTS) and the backend. */
export type TrainerOptions = Partial<ModelConfig> & {
  /** 'auto' (default): native when the addon loads, else ts; or the environment's RNN_NATIVE_BACKEND. */
  backend?: BackendChoice;
};

export type TrainerConfig = ModelConfig & { backend: BackendName };

/** The DD2424 model: m = 100, T = 25, η = 0.1, σ = 0.01, ε = 1e-8, clip 5, seed 42. */
export const DEFAULTS = MODEL_DEFAULTS;

/** Most updates in one call of Trainer.train (each loss is returned). */
export const MAX_UPDATES_PER_CALL = 10_000_000;

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
  for (const { name, init } of layout.parameters) {
    if (init !== 'normal') continue;
    const part = view(layout, params, name);
    for (let i = 0; i < part.length; i++) part[i] = Math.fround(sigma * rng.normal());
  }
  return params;
}

/** Trainer.sample's options, checked as `rnn-native sample` checks --temperature and --prime. */
const SAMPLE_OPTIONS = {
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax' },
  prime: { kind: 'string', allowEmpty: true, help: 'text that warms up the hidden state ("" primes nothing)' },
} satisfies OptionSpecs;

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
    if (!(corpus instanceof Corpus)) throw new UserError('Trainer: the corpus must be a Corpus (loadCorpus, demoCorpus or Corpus.fromText)');
    const rows = [...rowsOf('model'), ...rowsOf('backend')];
    const { backend: choice, ...model } = resolveOptions(options, rows, { ...MODEL_DEFAULTS, backend: 'auto' as BackendChoice }, 'Trainer');
    checkModelFits(model, corpus);
    const selection = selectBackend(choice);
    this.config = { ...model, backend: selection.name };
    this.backendWarning = selection.warning;
    this.layout = makeLayout(this.config.hidden, corpus.vocabSize);
    this.rng = Rng.fromSeed(this.config.seed);
    const initial = initialParams(this.layout, this.config.sigma, this.rng);
    this.backend = createBackend(selection.name, this.layout, initial);
  }

  /** Continues a saved run on the same text; the backend may differ from the one that saved it. */
  static restore(corpus: Corpus, saved: TrainingState, backend?: BackendChoice): Trainer {
    if (typeof saved !== 'object' || saved === null || typeof saved.config !== 'object' || !Array.isArray(saved.vocabulary)) {
      throw new UserError('Trainer.restore: the state must be one that snapshot() or readCheckpoint(file).training returned');
    }
    if (saved.vocabulary.length !== corpus.vocabSize || saved.vocabulary.some((s, i) => s !== corpus.vocabulary[i])) {
      throw new UserError('the text has a different vocabulary from the saved run');
    }
    if (!(saved.position >= 0 && saved.position <= corpus.length)) {
      throw new UserError(`the saved data position ${saved.position} is outside the text (${corpus.length} characters)`);
    }
    const trainer = new Trainer(corpus, { ...saved.config, backend });
    checkSavedState(saved, trainer.layout);
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
    checkOptions(options, SAMPLE_OPTIONS, 'sample');
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
  parameters(): Record<ParameterName, Float64Array> {
    return views(this.layout, Float64Array.from(this.backend.params));
  }
}

/**
 * The rest of a saved state, by the rules the checkpoint reader applies to a file: counts that are
 * whole numbers, finite losses, a generator state that is not all zero, and tensors of the model's
 * sizes with finite values (accumulators ≥ 0).
 */
function checkSavedState(saved: TrainingState, layout: Layout): void {
  const fail = (what: string): never => {
    throw new UserError(`Trainer.restore: ${what}`);
  };
  const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (!isCount(saved.step, 0)) fail(`step must be an integer ≥ 0, got ${saved.step}`);
  if (!isCount(saved.epoch, 1)) fail(`epoch must be an integer ≥ 1, got ${saved.epoch}`);
  if (!Number.isInteger(saved.position)) fail(`position must be an integer, got ${saved.position}`);
  for (const key of ['smoothLoss', 'lastLoss'] as const) {
    const v = saved[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v))) fail(`${key} must be a finite number or undefined, got ${v}`);
  }
  const rng = saved.rngState;
  if (!(rng instanceof Uint32Array) || rng.length !== 4 || rng.every((w) => w === 0)) fail('rngState must be a Uint32Array of 4 words, not all zero');
  const tensors = [['params', layout.total], ['accum', layout.total], ['state', layout.hidden]] as const;
  for (const [key, length] of tensors) {
    const t = saved[key];
    if (!(t instanceof Float32Array || t instanceof Float64Array) || t.length !== length) fail(`${key} must be a Float32Array or Float64Array of ${length} values`);
    if (!t.every(Number.isFinite)) fail(`${key} holds NaN or infinite values`);
  }
  if (saved.accum.some((v) => v < 0)) fail('accum holds negative values');
}

/** Checks that a model of valid options fits the limits (lib/limits.ts) and the text. */
export function checkModelFits(o: ModelConfig, corpus: Corpus): void {
  const { hidden: m, seqLength: T } = o;
  const K = corpus.vocabSize;
  const parameters = makeLayout(m, K).total;
  if (parameters > LIMITS.maxParameters) {
    throw new UserError(
      `hidden ${m} with a vocabulary of ${K} makes ${parameters} parameters; at most ${LIMITS.maxParameters} are supported`
    );
  }
  if (workspaceFloats(m, K, T) > LIMITS.maxWorkspaceFloats) {
    throw new UserError(
      `seqLength ${T} × (2 × hidden ${m} + vocabulary ${K}) is too large for one sequence's scratch space ` +
        `(at most ${LIMITS.maxWorkspaceFloats} values); use a smaller seqLength or hidden`
    );
  }
  if (corpus.length < T + 1) {
    throw new UserError(`${corpus.source} has ${corpus.length} characters; seqLength (--seq-length) ${T} needs at least ${T + 1}`);
  }
}
