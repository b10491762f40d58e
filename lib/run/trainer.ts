// Training orchestration: options, initial weights, the data walk, the smooth loss, sampling.
import { BackendChoice, selectBackend } from '../engine/backend';
import { BackendName } from '../engine/model-backend';
import { Corpus } from '../text/corpus';
import { SymbolText } from '../text/symbol-text';
import { UserError } from '../util/errors';
import { hasVersion1Names, Layout, version1Layout } from '../model/version1-names';
import { BEYOND_FLOAT32, Engine, EngineTensors, modelShape } from '../engine/engine';
import { DrawRequest } from '../engine/sampling';
import { finish } from '../engine/model-backend';
import { OPTIMIZER_DEFAULTS } from '../model/optimizers';
import { checkOptions, cliSpec, MODEL_DEFAULTS, ModelConfig, resolveOptions, rowsOf, SEED_SPEC, TRAINING_OPTIONS } from '../model/config';
import { checkValue, OptionSpecs } from '../util/option-values';
import { LIMITS, splitScratchFloats, scratchFloats } from '../model/limits';
import { parameterTable } from '../model/reference';
import { withInitDefault } from '../model/initialisation';
import { sliceLength, validationSlices } from '../model/stream-walk';
import { Rng } from '../util/random';
import { RULE_SPECS, sampleText } from '../engine/sampling';
import { SavedState, secondMoment, TrainingState } from './training-state';
import { checkedVersion } from './checkpoint';

export { TrainingState };

/** The model options of lib/model/config.ts (each optional, default MODEL_DEFAULTS) and the backend. */
export type TrainerOptions = Partial<ModelConfig> & {
  /** 'auto' (default): native when the addon loads, else wasm, else ts; or the environment's RNN_NATIVE_BACKEND. */
  backend?: BackendChoice;
};

export type TrainerConfig = ModelConfig & { backend: BackendName };

/** The DD2424 model: m = 100, T = 25, η = 0.1, σ = 0.01, ε = 1e-8, clip 5, seed 42. */
export const DEFAULTS = MODEL_DEFAULTS;

/**
 * The options a trained model's weights fix: their shape (cell, hidden, layers; the vocabulary is
 * the model's too) and how they began (sigma, forgetBias, init). A run started from the weights takes
 * them from the model (Trainer.fromWeights).
 */
export const WEIGHT_OPTIONS = ['cell', 'hidden', 'layers', 'sigma', 'forgetBias', 'init'] as const;

/** Most updates in one call of Trainer.train (each loss is returned). */
export const MAX_UPDATES_PER_CALL = 10_000_000;

/** The range of the one symbol at `at`. */
const oneAt = (at: number): [number, number] => [at, at + 1];

/** Smooth loss: the first loss, then s ← 0.999·s + 0.001·L. */
export function smoothLossUpdate(previous: number | undefined, loss: number): number {
  return previous === undefined ? loss : 0.999 * previous + 0.001 * loss;
}

const THREADS_SPEC = cliSpec(TRAINING_OPTIONS.find((row) => row.key === 'threads')!);

/** Trainer.sample's options, checked as `rnn-native sample` checks --temperature and --prime. */
const SAMPLE_OPTIONS = {
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax' },
  prime: { kind: 'string', allowEmpty: true, help: 'text that warms up the hidden state ("" primes nothing)' },
  seed: { ...SEED_SPEC, help: 'the draws\' own generator from this seed' },
  includePrime: { kind: 'flag', help: 'the prime, then the sample, as rnn-native sample prints them' },
  ...RULE_SPECS,
} satisfies OptionSpecs;

export interface SampleOptions {
  /** Softmax temperature τ; 0 takes the argmax (default 1). */
  temperature?: number;
  /** Text that warms up the hidden state; its last character is the first input. */
  prime?: string;
  /** The draws' own generator from this seed (the same text for the same seed and state); else the trainer's sampling generator. */
  seed?: number;
  /** Returns the prime followed by the sample, as `rnn-native sample` prints them (default: the sample only). */
  includePrime?: boolean;
  /** The rules beyond the temperature (lib/model/sampling-rules.ts): topK, topP, minP, repetitionPenalty, repetitionWindow. */
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repetitionWindow?: number;
}

export class Trainer {
  readonly config: TrainerConfig;
  /** Why the native backend fell back to ts, if it did. */
  readonly backendWarning?: string;
  /** Updates done. */
  step = 0;
  smoothLoss: number | undefined;
  lastLoss: number | undefined;
  /** The symbols trained on: the corpus without its held-out part. */
  readonly trainingText: SymbolText;
  /** The held-out last part of the corpus (--val-fraction; empty without validation). */
  readonly heldOutText: Uint8Array | Uint16Array;
  private readonly engine: Engine;
  private readonly rng: Rng;
  /** The library's samples without a seed: their own generator, so that sampling never moves the training state. */
  private samplingRng?: Rng;
  private checkpointVersion?: 1 | 2;
  /** A run started from trained weights: their largest |value| (checkpoints record it). */
  private initialMaxWeight?: number;

  constructor(readonly corpus: Corpus, options: TrainerOptions = {}) {
    if (!(corpus instanceof Corpus)) throw new UserError('Trainer: the corpus must be a Corpus (loadCorpus, demoCorpus or Corpus.fromText)');
    const rows = [...rowsOf('model'), ...rowsOf('backend')];
    const { backend: choice, ...model } = resolveOptions(withDerivedDefaults(options), rows, { ...MODEL_DEFAULTS, backend: 'auto' as BackendChoice }, 'Trainer');
    const { training, heldOut } = corpus.split(model.valFraction);
    this.trainingText = training;
    this.heldOutText = heldOut;
    checkModelFits(model, corpus, this.trainingText.length);
    const selection = selectBackend(choice);
    this.config = { ...model, backend: selection.name };
    this.backendWarning = selection.warning;
    this.rng = Rng.fromSeed(this.config.seed);
    this.engine = new Engine(model, corpus.vocabSize, this.trainingText, selection.name, this.rng);
  }

  /** Continues a saved run on the same text; the backend may differ from the one that saved it. */
  static restore(corpus: Corpus, saved: SavedState, backend?: BackendChoice): Trainer {
    if (typeof saved !== 'object' || saved === null || typeof saved.config !== 'object' || !Array.isArray(saved.vocabulary)) {
      throw new UserError('Trainer.restore: the state must be one that snapshot() or readCheckpoint(file).training returned');
    }
    if (saved.vocabulary.length !== corpus.vocabSize || saved.vocabulary.some((s, i) => s !== corpus.vocabulary[i])) {
      throw new UserError('the text has a different vocabulary from the saved run');
    }
    if (!(saved.position >= 0 && saved.position <= corpus.length)) {
      throw new UserError(`the saved data position ${saved.position} is outside the text (${corpus.length} characters)`);
    }
    const version = checkedVersion(saved, 'Trainer.restore');
    const trainer = new Trainer(corpus, { ...saved.config, backend });
    const second = secondMoment(saved, 'Trainer.restore');
    const tensors = { ...saved, second: second.values, first: saved.first ?? saved.params.subarray(0, 0) };
    checkSavedState(tensors, trainer.engine.tensorSizes(), second.name);
    trainer.engine.loadTensors(tensors);
    // float64 values (a ts run's) beyond float32's range turn infinite on the native backend.
    if (!trainer.engine.allFinite()) throw new UserError(`Trainer.restore: ${BEYOND_FLOAT32}`);
    trainer.engine.walk.position = saved.position;
    trainer.engine.walk.epoch = saved.epoch;
    if (version === 1) trainer.checkpointVersion = 1;
    if (saved.initialMaxWeight !== undefined) {
      if (!(typeof saved.initialMaxWeight === 'number' && saved.initialMaxWeight >= 0 && Number.isFinite(saved.initialMaxWeight))) {
        throw new UserError(`Trainer.restore: initialMaxWeight must be a finite number ≥ 0 or undefined, got ${String(saved.initialMaxWeight)}`);
      }
      trainer.initialMaxWeight = saved.initialMaxWeight;
    }
    trainer.rng.state.set(saved.rngState);
    trainer.step = trainer.engine.step = saved.step;
    trainer.smoothLoss = saved.smoothLoss;
    trainer.lastLoss = saved.lastLoss;
    return trainer;
  }

  /**
   * A new run from a trained model's weights (fine-tuning; train --init-from): the options of
   * WEIGHT_OPTIONS come from `model` (given ones must agree), the others from `options` as for a new
   * run. The corpus must be indexed in the model's vocabulary (corpus.inVocabulary). Step 0, a
   * fresh optimizer state, zero carried states, no smooth loss; the generator is the one a new run
   * of `options` has after its initial draws, which the weights then replace.
   */
  static fromWeights(corpus: Corpus, model: Pick<TrainingState, 'config' | 'vocabulary' | 'params'>, options: TrainerOptions = {}): Trainer {
    if (typeof model !== 'object' || model === null || typeof model.config !== 'object' || !Array.isArray(model.vocabulary)) {
      throw new UserError('Trainer.fromWeights: the model must be a state that snapshot() or readCheckpoint(file).training returned');
    }
    if (model.vocabulary.length !== corpus.vocabSize || model.vocabulary.some((s, i) => s !== corpus.vocabulary[i])) {
      throw new UserError("Trainer.fromWeights: the corpus must be indexed in the model's vocabulary (corpus.inVocabulary(new Vocabulary(model.vocabulary)))");
    }
    const given = (options ?? {}) as Record<string, unknown>;
    const fixed = model.config as unknown as Record<string, unknown>;
    const differ = WEIGHT_OPTIONS.filter((key) => given[key] !== undefined && given[key] !== fixed[key]);
    if (differ.length > 0) {
      throw new UserError(`Trainer.fromWeights: the weights fix ${differ.map((key) => `${key} (the model has ${fixed[key]}, not ${given[key]})`).join(', ')}`);
    }
    const trainer = new Trainer(corpus, { ...options, ...Object.fromEntries(WEIGHT_OPTIONS.map((key) => [key, fixed[key]])) });
    const size = trainer.engine.tensorSizes().params;
    const params = model.params;
    if (!(params instanceof Float32Array || params instanceof Float64Array) || params.length !== size || !params.every(Number.isFinite)) {
      throw new UserError(`Trainer.fromWeights: params must be a Float32Array or Float64Array of ${size} finite values`);
    }
    trainer.engine.loadParams(params);
    if (!trainer.engine.allFinite()) throw new UserError(`Trainer.fromWeights: ${BEYOND_FLOAT32}`);
    // In the run's precision: what its checkpoints hold and their reader bounds.
    trainer.initialMaxWeight = trainer.engine.maxAbsParam();
    return trainer;
  }

  /** A copy of the whole training state. */
  snapshot(): TrainingState {
    const { backend: _backend, ...config } = this.config;
    const { first, ...tensors } = this.engine.saveTensors();
    return {
      config,
      vocabulary: this.corpus.vocabulary,
      step: this.step,
      epoch: this.epoch,
      position: this.position,
      smoothLoss: this.smoothLoss,
      lastLoss: this.lastLoss,
      rngState: Uint32Array.from(this.rng.state),
      ...tensors,
      accum: tensors.second,
      ...(first.length > 0 ? { first } : {}),
      ...(this.checkpointVersion !== undefined ? { checkpointVersion: this.checkpointVersion } : {}),
      ...(this.initialMaxWeight !== undefined ? { initialMaxWeight: this.initialMaxWeight } : {}),
    };
  }

  /** @deprecated Removed in 0.4.0 with the DD2424 model's own kernels: a UserError. Use parameters(), parameterShapes() or snapshot(). */
  get backend(): never {
    throw new UserError('Trainer.backend was removed in rnn-native 0.4.0 (every model now trains on one engine): use parameters(), parameterShapes() or snapshot()');
  }

  /** @deprecated The version-1 parameter table (U, W, V, b, c) of the DD2424 configuration; parameterShapes() describes every model. */
  get layout(): Layout {
    return version1Layout(this.config, this.corpus.vocabSize);
  }

  /** @deprecated Whether the model is the DD2424 configuration: cell rnn, 1 layer, 1 stream, no dropout, AdaGrad without decay. */
  get isVanilla(): boolean {
    return hasVersion1Names(this.config);
  }

  get epoch(): number {
    return this.engine.walk.epoch;
  }

  /** Where the next update's window starts (in each stream's slice, for B streams). */
  get position(): number {
    return this.engine.walk.position;
  }

  /** Runs n updates and returns their losses. */
  train(n: number): Float64Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_UPDATES_PER_CALL) {
      throw new UserError(`n must be an integer from 0 to ${MAX_UPDATES_PER_CALL} (call train again for more), got ${typeof n === 'string' ? JSON.stringify(n) : String(n)}`);
    }
    const losses = new Float64Array(n);
    this.engine.train(losses);
    for (const loss of losses) this.smoothLoss = smoothLossUpdate(this.smoothLoss, loss);
    if (n > 0) this.lastLoss = losses[n - 1];
    this.step += n;
    return losses;
  }

  /** Whether every weight, optimizer state and carried state is finite. */
  allFinite(): boolean {
    return this.engine.allFinite();
  }

  /**
   * Threads of the native backend, the streams split among them (default 1; one stream, and the
   * wasm and ts backends, always run one). A run is reproduced bit for bit with the same threads.
   */
  setThreads(threads: number): void {
    checkValue('threads', THREADS_SPEC, threads);
    if (this.config.backend === 'native') checkThreadsFit(this.config, this.corpus.vocabSize, threads);
    this.engine.setThreads(threads);
  }

  /**
   * How well the model predicts `text`: read forward as one stream from a zero state, as the
   * validation loss of valStreams 1 reads the held-out part, each character predicted from those before it; nats and bits per
   * character. A character the model does not know is a UserError.
   */
  score(text: string): { characters: number; natsPerCharacter: number; bitsPerCharacter: number } {
    if (typeof text !== 'string') throw new UserError(`score: the text must be a string, got ${typeof text}`);
    const symbols = this.corpus.encode(text);
    if (symbols.length < 2) throw new UserError('score: the text needs at least two characters (each is predicted from those before it)');
    const natsPerCharacter = this.engine.validationLoss(symbols);
    return { characters: symbols.length, natsPerCharacter, bitsPerCharacter: natsPerCharacter / Math.LN2 };
  }

  /**
   * The validation loss in nats per character, without dropout (docs/training.md#validation): the
   * held-out text (its first valMaxChars characters, when not 0) cut into valStreams slices as the
   * training text is cut into streams, each read forward from a zero state with its state carried
   * through its slice, each character predicted from those before it in its slice; the mean over
   * every prediction. valStreams 1 reads it as one stream. Undefined without --val-fraction.
   */
  validationLoss(): number | undefined {
    const pass = this.validationPass();
    return pass && finish(pass);
  }

  /** validationLoss() one block of windows per step of the generator, which yields the fraction read; undefined without validation. */
  validationPass(): Generator<number, number> | undefined {
    return this.heldOutText.length >= 2 ? this.engine.validationPass(validationText(this.heldOutText, this.config.valMaxChars), this.config.valStreams) : undefined;
  }

  /**
   * Synthesizes `length` characters from the current hidden state (stream 0's for B streams). The
   * first input is the last character of `prime`, or else the character at the data position.
   * Nothing of the training state changes: the draws come from `seed`'s generator, or else from
   * the trainer's sampling generator, which starts as a copy of the training generator at the first
   * sample and then goes its own way (successive samples differ; it is not part of the state).
   */
  sample(length: number, options: SampleOptions = {}): string {
    checkOptions(options, SAMPLE_OPTIONS, 'sample');
    this.samplingRng ??= new Rng(Uint32Array.from(this.rng.state));
    const rng = options.seed !== undefined ? Rng.fromSeed(options.seed) : this.samplingRng;
    const { topK, topP, minP, repetitionPenalty, repetitionWindow } = options;
    const rules = { topK, topP, minP, repetitionPenalty, repetitionWindow };
    const text = this.draw(length, options.temperature ?? 1, rng, options.prime, rules);
    return options.includePrime && options.prime !== undefined ? options.prime + text : text;
  }

  /** The periodic sample of a training run: drawn with the training generator, which it advances (checkpoints hold it). */
  trainingSample(length: number, temperature: number): string {
    return this.draw(length, temperature, this.rng);
  }

  private draw(length: number, temperature: number, rng: Rng, primeText?: string, rules?: DrawRequest['rules']): string {
    const prime =
      primeText !== undefined && primeText !== ''
        ? this.corpus.encode(primeText)
        : Int32Array.from(this.trainingText.read(...oneAt(Math.min(this.position, this.trainingText.length - 1))));
    const source = { sampler: (r: DrawRequest) => this.engine.sampler(r.prime, { ...r.rules, temperature: r.temperature }, r.rng) };
    return sampleText(source, this.corpus.vocab, { prime, length, temperature, rng, rules });
  }

  /** The parameters by name (layers.l.Wx, layers.l.Wh, layers.l.b for each layer, then V, c), as float64 copies. */
  parameters(): Record<string, Float64Array> {
    return this.engine.parameters();
  }

  /** The parameters' names and shapes, in table order. */
  parameterShapes(): { name: string; shape: number[] }[] {
    return this.engine.shapes();
  }
}

/**
 * The defaults that depend on other options, applied to options that do not give them: the
 * optimizer's η (withOptimizerDefaults), the initialisation (lib/model/initialisation.ts), and
 * the validation's streams, --batch's.
 */
export function withDerivedDefaults(options: TrainerOptions): TrainerOptions {
  const derived = withInitDefault(withOptimizerDefaults(options));
  if (typeof derived !== 'object' || derived === null || derived.valStreams !== undefined) return derived;
  return { ...derived, valStreams: derived.batch ?? MODEL_DEFAULTS.valStreams };
}

/** The part of the held-out text a validation pass reads: its first `maxChars` characters (0: all). */
export function validationText(heldOut: Uint8Array | Uint16Array, maxChars: number): Uint8Array | Uint16Array {
  return maxChars > 0 && maxChars < heldOut.length ? heldOut.subarray(0, maxChars) : heldOut;
}

/** rmsprop and adam take η = 0.002 unless it is given (the table's default is AdaGrad's). */
export function withOptimizerDefaults(options: TrainerOptions): TrainerOptions {
  if (typeof options !== 'object' || options === null) return options;
  const { optimizer, eta } = options;
  if (eta !== undefined || (optimizer !== 'rmsprop' && optimizer !== 'adam')) return options;
  return { ...options, eta: OPTIMIZER_DEFAULTS[optimizer].eta };
}


/**
 * The rest of a saved state, by the rules the checkpoint reader applies to a file: counts that are
 * whole numbers, finite losses, a generator state that is not all zero, and tensors of the model's
 * sizes with finite values (accumulators ≥ 0).
 */
function checkSavedState(saved: SavedState & EngineTensors, sizes: Record<keyof EngineTensors, number>, secondName: 'second' | 'accum'): void {
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
  for (const key of ['params', 'second', 'first', 'state'] as const) {
    const [length, name] = [sizes[key], key === 'second' ? secondName : key];
    const t = saved[key];
    if (!(t instanceof Float32Array || t instanceof Float64Array) || t.length !== length) fail(`${name} must be a Float32Array or Float64Array of ${length} values`);
    if (!t.every(Number.isFinite)) fail(`${name} holds NaN or infinite values`);
  }
  if (saved.second.some((v) => v < 0)) fail(`${secondName} holds negative values`);
}

/** Checks that a model of valid options fits the limits (lib/model/limits.ts) and the training text. */
export function checkModelFits(o: ModelConfig, corpus: Corpus, trainingCharacters = corpus.length): void {
  checkLimits(o, corpus.vocabSize);
  const heldOut = corpus.length - trainingCharacters;
  if (o.batch === 1 && trainingCharacters < o.seqLength + 1) {
    const of = heldOut === 0 ? `${corpus.source} has ${corpus.length} characters` : `the training part of ${corpus.source} has ${trainingCharacters} characters`;
    throw new UserError(`${of}; seqLength (--seq-length) ${o.seqLength} needs at least ${o.seqLength + 1}`);
  }
  sliceLength(trainingCharacters, o.batch, o.seqLength, heldOut > 0 ? `the training part of ${corpus.source}, ${trainingCharacters} characters (${heldOut} are held out),` : undefined);
  if (o.valMaxChars === 1) throw new UserError('valMaxChars (--val-max-chars) 1 leaves no character to predict: give 0 (all the held-out part) or at least 2');
  if (heldOut > 0) {
    const { streams } = validationSlices(Math.min(heldOut, o.valMaxChars || heldOut), o.valStreams);
    const { floats, limit } = scratchFloats(modelShape(o, corpus.vocabSize), streams, 1);
    if (floats > limit) {
      throw new UserError(`valStreams (--val-streams) ${o.valStreams} with ${o.cell} ${o.layers}×${o.hidden} needs ${floats} values of scratch space for one step; at most ${limit} are supported: use fewer`);
    }
  }
}

/** The native model split among `threads` threads (a copy of the gradients each) against the scratch limit. */
function checkThreadsFit(o: ModelConfig, vocab: number, threads: number): void {
  const { floats, limit } = splitScratchFloats(modelShape(o, vocab), o.batch, o.seqLength, threads);
  if (floats > limit) {
    throw new UserError(
      `--threads ${threads} with ${o.cell} ${o.layers}×${o.hidden}, batch ${o.batch} and seq-length ${o.seqLength} needs ${floats} values of ` +
        `scratch space (a copy of the gradients per thread); at most ${limit} are supported: use fewer threads`
    );
  }
}

/** The model's parameters and scratch space against the limits, before anything is allocated. */
function checkLimits(o: ModelConfig, vocab: number): void {
  const shape = modelShape(o, vocab);
  const parameters = parameterTable(shape).total;
  const what = `${o.cell} ${o.layers}×${o.hidden} with a vocabulary of ${vocab}`;
  if (parameters > LIMITS.maxParameters) throw new UserError(`${what} makes ${parameters} parameters; at most ${LIMITS.maxParameters} are supported`);
  const { floats, limit } = scratchFloats(shape, o.batch, o.seqLength);
  if (floats > limit) {
    throw new UserError(
      `${what}, batch ${o.batch} and seq-length ${o.seqLength} need ${floats} values of scratch space ` +
        `(${((floats * 4) / 2 ** 30).toFixed(1)} GiB in float32); at most ${limit} are supported: use a smaller batch, seq-length, hidden or layers`
    );
  }
}
