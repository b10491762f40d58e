// The model's backends behind one interface: the float64 reference
// (lib/model/reference.ts, the truth) and the float32 Model of the C++ engine (the addon,
// or the same engine compiled to WebAssembly: lib/engine/wasm.ts). All hold
// the parameters, the gradients, the optimizer state and the B streams' carried states as flat
// arrays, so that the engine (lib/engine/engine.ts), the checkpoint and the parity tests see the
// same things whichever backend runs.
import type { CompiledBackend, NativeAddon, CompiledModel } from './native';
import { OptimizerSettings, optimizerStep } from '../model/optimizers';
import { Rng } from '../util/random';
import { RecentSymbols, SamplingRules } from '../model/sampling-rules';
import { validationSlices } from '../model/stream-walk';
import { Dropout, advanceSymbols, nextLogProbs, parameterTable, lossAndGradients, sampleSymbols, ModelShape, ModelState, zeroState } from '../model/reference';

/** Which engine computes: the float64 reference, or the C++ engine as the addon or as WebAssembly. */
export type BackendName = 'native' | 'wasm' | 'ts';

export type Flat = Float32Array | Float64Array;

export interface ModelBackend {
  readonly name: BackendName;
  readonly shape: ModelShape;
  /** B, the streams of a block. */
  readonly streams: number;
  readonly params: Flat;
  /** The last block's unclipped gradients. */
  readonly grads: Flat;
  /** The carried states, [layer][stream][unit]: h, and c (lstm; zeros otherwise). */
  readonly h: Flat;
  readonly c: Flat;
  /** The optimizer's state: Σg² (adagrad), the mean of g² (rmsprop) or v (adam); and adam's m (else empty). */
  readonly second: Flat;
  readonly first: Flat;
  /** Loss of a block of x, y ([t][stream] row-major, steps × streams symbols); fills grads, moves h and c on. */
  lossAndGradients(x: Int32Array, y: Int32Array, dropout?: Dropout): number;
  /**
   * Threads of the native backend's blocks, its streams split among them (the float64 reference
   * runs one). The same run, bit for bit, needs the same threads: gradients summed in other
   * groups round otherwise.
   */
  setThreads(threads: number): void;
  /** One optimizer step from grads; `step` counts updates from 1. */
  optimize(settings: OptimizerSettings, step: number): void;
  /**
   * losses.length updates, each lossAndGradients on the next block of x and y (steps × streams
   * symbols each) then optimize, update k numbered firstUpdate + k (its dropout masks and its
   * step); h and c zeroed first when `reset`. The same numbers as those calls made in turn.
   */
  train(blocks: UpdateBlocks, settings: OptimizerSettings): void;
  /**
   * Nats per character of a held-out text: read forward from zero states, without dropout, in
   * windows of `window` steps that carry the states (so any window gives the same loss, up to
   * rounding); the model is not changed. With `streams` > 1 the text is cut into that many slices
   * (lib/model/stream-walk.ts validationSlices) read side by side, each its own stream: the loss is
   * the mean over every slice's predictions.
   */
  validationLoss(symbols: ArrayLike<number>, window?: number, streams?: number): number;
  /** The same loss, one window per step of the generator, which yields the fraction read (so that a long pass can be stopped between windows, and shown). */
  validationPass(symbols: ArrayLike<number>, window?: number, streams?: number): Generator<number, number>;
  /**
   * The same reading of a text given in pieces, in constant memory: each symbol predicted from those
   * before it. One scorer at a time (it uses the backend's one-stream state).
   */
  scorer(window?: number): TextScorer;
  /** The next symbol's log-probabilities from states of one stream (beam search: lib/engine/beam.ts). */
  nextSymbols(): NextSymbolModel;
  /** Draws from a state of one stream (h, c: layers × hidden), which is copied, never changed, by the rules. */
  sampler(from: { h: ArrayLike<number>; c: ArrayLike<number> }, prime: Int32Array, rules: SamplingRules, rng: Rng): (count: number) => Int32Array;
}

/** One stream's states (h and c, layers × hidden), in the backend's precision. */
export interface StreamState {
  h: Flat;
  c: Flat;
}

/** The next symbol's log-probabilities from any state, which is never changed (a new one is returned). */
export interface NextSymbolModel {
  /** The state `from` moved on by the prime but its last symbol (the first input). */
  start(from: { h: ArrayLike<number>; c: ArrayLike<number> }, prime: Int32Array): StreamState;
  /** Feeds `input` to the state: the next symbol's log-probabilities, and the state after `input`. */
  next(state: StreamState, input: number): { logProbs: Float64Array; state: StreamState };
}

/** The blocks of consecutive updates (ModelBackend.train). */
export interface UpdateBlocks {
  x: Int32Array;
  y: Int32Array;
  /** One per update, written. */
  losses: Float64Array;
  reset: boolean;
  firstUpdate: number;
  /** Dropout's probability and seed (the update numbers the masks). */
  dropout?: { p: number; seed: number };
}

/** The repetition window over the prime, when the rules penalize repetitions. */
function recentSymbols(vocab: number, rules: SamplingRules, prime: Int32Array): RecentSymbols | undefined {
  const window = rules.repetitionWindow ?? 0;
  return (rules.repetitionPenalty ?? 1) !== 1 && window > 0 ? new RecentSymbols(vocab, window, prime) : undefined;
}

/** Window of the validation pass: the state is carried, so the result does not depend on it. */
export const VALIDATION_WINDOW = 100;

/** A text read forward from a zero state, fed in pieces (ModelBackend.scorer). */
export interface TextScorer {
  /** The text's next symbols. */
  feed(symbols: ArrayLike<number>): void;
  /** Scores what is left; Σ −log p over the predictions (symbols fed − 1), and their count. */
  finish(): { nats: number; predictions: number };
}

/**
 * A scorer over a backend's loss of one window (x, y, the state carried between calls): the
 * predictions are cut into windows of `window` in order, whatever pieces the text comes in.
 */
function windowScorer(window: number, windowLoss: (x: Int32Array, y: Int32Array) => number): TextScorer {
  const x = new Int32Array(window);
  const y = new Int32Array(window);
  let [pending, last, nats, predictions] = [0, -1, 0, 0];
  const flush = () => {
    if (pending === 0) return;
    nats += windowLoss(x.subarray(0, pending), y.subarray(0, pending));
    predictions += pending;
    pending = 0;
  };
  return {
    feed(symbols) {
      for (let i = 0; i < symbols.length; i++) {
        if (last >= 0) {
          x[pending] = last;
          y[pending++] = symbols[i];
          if (pending === window) flush();
        }
        last = symbols[i];
      }
    },
    finish() {
      flush();
      return { nats, predictions };
    },
  };
}

/** The validation pass over a scorer: a window's worth of text per step of the generator. */
function* scoredPass(scorer: TextScorer, symbols: ArrayLike<number>, window: number): Generator<number, number> {
  if (symbols.length < 2) throw new RangeError('the held-out text needs at least two symbols');
  for (let start = 0; start < symbols.length; start += window) {
    scorer.feed(Array.prototype.slice.call(symbols, start, start + window) as number[]);
    yield Math.min(1, (start + window) / symbols.length);
  }
  const { nats, predictions } = scorer.finish();
  return nats / predictions;
}

/**
 * The validation pass of `streams` streams (validationSlices's, at least 2): block k holds steps
 * kW … kW + W − 1 of every slice, [t][stream] row-major, and `blockLoss` returns its loss as a
 * training block's (summed over the steps, averaged over the streams), the states carried between
 * blocks. Yields the fraction read after each block; returns nats per prediction.
 */
function* streamsPass(symbols: ArrayLike<number>, streams: number, window: number, blockLoss: (x: Int32Array, y: Int32Array) => number): Generator<number, number> {
  const { streams: S, slice } = validationSlices(symbols.length, streams);
  const predictions = slice - 1;
  const x = new Int32Array(window * S);
  const y = new Int32Array(window * S);
  let nats = 0;
  for (let from = 0; from < predictions; from += window) {
    const steps = Math.min(window, predictions - from);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < S; b++) {
        x[t * S + b] = symbols[b * slice + from + t];
        y[t * S + b] = symbols[b * slice + from + t + 1];
      }
    }
    nats += blockLoss(x.subarray(0, steps * S), y.subarray(0, steps * S)) * S;
    yield (from + steps) / predictions;
  }
  return nats / (S * predictions);
}

/** The streams a validation pass of `symbols` reads (1: the one-stream reading). */
const streamsOf = (symbols: ArrayLike<number>, streams: number) => (streams > 1 && symbols.length >= 2 ? validationSlices(symbols.length, streams).streams : 1);

class ReferenceBackend implements ModelBackend {
  readonly name = 'ts';
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly h: Float64Array;
  readonly c: Float64Array;
  readonly second: Float64Array;
  readonly first: Float64Array;

  constructor(readonly shape: ModelShape, readonly streams: number, initial: Float64Array, adam: boolean) {
    this.params = Float64Array.from(initial);
    this.grads = new Float64Array(initial.length);
    const states = shape.layers * streams * shape.hidden;
    this.h = new Float64Array(states);
    this.c = new Float64Array(states);
    this.second = new Float64Array(initial.length);
    this.first = new Float64Array(adam ? initial.length : 0);
  }

  lossAndGradients(x: Int32Array, y: Int32Array, dropout?: Dropout): number {
    const state = unflatten(this.shape, this.streams, this.h, this.c);
    const loss = lossAndGradients(this.shape, this.params, this.grads, state, blocks(x, this.streams), blocks(y, this.streams), dropout);
    flatten(state, this.h, this.c);
    return loss;
  }

  optimize(settings: OptimizerSettings, step: number): void {
    optimizerStep(settings, this.params, this.grads, { steps: step - 1, second: this.second, first: this.first });
  }

  train(blocks: UpdateBlocks, settings: OptimizerSettings): void {
    const { x, y, losses, reset, firstUpdate, dropout } = blocks;
    if (reset) {
      this.h.fill(0);
      this.c.fill(0);
    }
    const size = x.length / losses.length;
    for (let k = 0; k < losses.length; k++) {
      const update = firstUpdate + k;
      const [from, to] = [k * size, (k + 1) * size];
      losses[k] = this.lossAndGradients(x.subarray(from, to), y.subarray(from, to), dropout && { ...dropout, update });
      this.optimize(settings, update);
    }
  }

  setThreads(): void {}

  validationLoss(symbols: ArrayLike<number>, window = VALIDATION_WINDOW, streams = 1): number {
    return finish(this.validationPass(symbols, window, streams));
  }

  validationPass(symbols: ArrayLike<number>, window = VALIDATION_WINDOW, streams = 1): Generator<number, number> {
    const S = streamsOf(symbols, streams);
    if (S === 1) return scoredPass(this.scorer(window), symbols, window);
    const state = zeroState(this.shape, S);
    return streamsPass(symbols, S, window, (x, y) => lossAndGradients(this.shape, this.params, undefined, state, blocks(x, S), blocks(y, S)));
  }

  scorer(window = VALIDATION_WINDOW): TextScorer {
    const state = zeroState(this.shape, 1);
    return windowScorer(window, (x, y) => lossAndGradients(this.shape, this.params, undefined, state, blocks(x, 1), blocks(y, 1)));
  }

  nextSymbols(): NextSymbolModel {
    const flat = (state: ModelState) => {
      const [h, c] = [new Float64Array(this.shape.layers * this.shape.hidden), new Float64Array(this.shape.layers * this.shape.hidden)];
      flatten(state, h, c);
      return { h, c };
    };
    const nested = (state: StreamState) => unflatten(this.shape, 1, Float64Array.from(state.h), Float64Array.from(state.c));
    return {
      start: (from, prime) => {
        const state = unflatten(this.shape, 1, Float64Array.from(from.h), Float64Array.from(from.c));
        advanceSymbols(this.shape, this.params, state, prime.subarray(0, prime.length - 1));
        return flat(state);
      },
      next: (at, input) => {
        const state = nested(at);
        const logProbs = nextLogProbs(this.shape, this.params, state, input);
        return { logProbs, state: flat(state) };
      },
    };
  }

  sampler(from: { h: ArrayLike<number>; c: ArrayLike<number> }, prime: Int32Array, rules: SamplingRules, rng: Rng): (count: number) => Int32Array {
    const state = unflatten(this.shape, 1, Float64Array.from(from.h), Float64Array.from(from.c));
    advanceSymbols(this.shape, this.params, state, prime.subarray(0, prime.length - 1));
    let input = prime[prime.length - 1];
    const recent = recentSymbols(this.shape.vocab, rules, prime);
    return (count) => {
      const out = new Int32Array(count);
      sampleSymbols(this.shape, this.params, state, input, rules, rng, out, recent);
      if (count > 0) input = out[count - 1];
      return out;
    };
  }
}

class CompiledModelBackend implements ModelBackend {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly h: Float32Array;
  readonly c: Float32Array;
  readonly second: Float32Array;
  readonly first: Float32Array;
  private readonly model: CompiledModel;
  /** A one-stream model on the same weights, for validation and sampling (its own states). */
  private single?: { model: CompiledModel; h: Float32Array; c: Float32Array; window: number };
  /** A model of several streams on the same weights, for validation (its own states). */
  private many?: { model: CompiledModel; h: Float32Array; c: Float32Array; streams: number; window: number };
  /** Gradients nobody reads (sampling and validation compute none): one unused buffer. */
  private samplerGrads?: Float32Array;

  constructor(private readonly addon: NativeAddon, readonly name: CompiledBackend, readonly shape: ModelShape, readonly streams: number, seqLength: number, initial: Float64Array, adam: boolean) {
    this.params = Float32Array.from(initial);
    this.grads = new Float32Array(initial.length);
    const states = shape.layers * streams * shape.hidden;
    this.h = new Float32Array(states);
    this.c = new Float32Array(states);
    this.second = new Float32Array(initial.length);
    this.first = new Float32Array(adam ? initial.length : 0);
    this.model = this.create(streams, seqLength, this.h, this.c, this.grads);
  }

  private create(streams: number, seqLength: number, h: Float32Array, c: Float32Array, grads: Float32Array): CompiledModel {
    return new this.addon.Model({ ...this.shape, streams, seqLength, params: this.params, grads, h, c });
  }

  /** The one-stream model for blocks of `window` steps, made when first needed. */
  private oneStream(window: number) {
    if (this.single?.window !== window) {
      const states = this.shape.layers * this.shape.hidden;
      const [h, c] = [new Float32Array(states), new Float32Array(states)];
      this.single = { model: this.create(1, window, h, c, new Float32Array(this.params.length)), h, c, window };
    }
    return this.single;
  }

  lossAndGradients(x: Int32Array, y: Int32Array, dropout?: Dropout): number {
    return this.model.forwardBackward(x, y, true, dropout?.p ?? 0, dropout?.seed ?? 0, dropout?.update ?? 0);
  }

  optimize(settings: OptimizerSettings, step: number): void {
    this.model.optimize(settings, this.second, this.first, step);
  }

  train(blocks: UpdateBlocks, settings: OptimizerSettings): void {
    const { x, y, losses, reset, firstUpdate, dropout } = blocks;
    this.model.train(x, y, losses, reset, dropout?.p ?? 0, dropout?.seed ?? 0, firstUpdate, settings, this.second, this.first);
  }

  setThreads(threads: number): void {
    this.model.setThreads(threads);
  }

  validationLoss(symbols: ArrayLike<number>, window = VALIDATION_WINDOW, streams = 1): number {
    return finish(this.validationPass(symbols, window, streams));
  }

  validationPass(symbols: ArrayLike<number>, window = VALIDATION_WINDOW, streams = 1): Generator<number, number> {
    const S = streamsOf(symbols, streams);
    if (S === 1) return scoredPass(this.scorer(window), symbols, window);
    const { model, h, c } = this.manyStreams(S, window);
    h.fill(0);
    c.fill(0);
    return streamsPass(symbols, S, window, (x, y) => model.forwardBackward(x, y, false, 0, 0, 0));
  }

  /** The model of `streams` streams for validation blocks of `window` steps (one thread: the same numbers whatever --threads), made when first needed. */
  private manyStreams(streams: number, window: number) {
    if (this.many?.streams !== streams || this.many.window !== window) {
      const states = this.shape.layers * streams * this.shape.hidden;
      const [h, c] = [new Float32Array(states), new Float32Array(states)];
      this.samplerGrads ??= new Float32Array(this.params.length);
      this.many = { model: this.create(streams, window, h, c, this.samplerGrads), h, c, streams, window };
    }
    return this.many;
  }

  scorer(window = VALIDATION_WINDOW): TextScorer {
    const { model, h, c } = this.oneStream(window);
    h.fill(0);
    c.fill(0);
    return windowScorer(window, (x, y) => model.forwardBackward(x, y, false, 0, 0, 0));
  }

  nextSymbols(): NextSymbolModel {
    const states = this.shape.layers * this.shape.hidden;
    const [h, c] = [new Float32Array(states), new Float32Array(states)];
    this.samplerGrads ??= new Float32Array(this.params.length);
    const model = this.create(1, 1, h, c, this.samplerGrads);
    const out = new Float64Array(this.shape.vocab);
    return {
      start: (from, prime) => {
        h.set(from.h);
        c.set(from.c);
        model.advance(prime.subarray(0, prime.length - 1));
        return { h: h.slice(), c: c.slice() };
      },
      next: (state, input) => {
        h.set(state.h);
        c.set(state.c);
        model.logProbs(input, out);
        return { logProbs: out.slice(), state: { h: h.slice(), c: c.slice() } };
      },
    };
  }

  sampler(from: { h: ArrayLike<number>; c: ArrayLike<number> }, prime: Int32Array, rules: SamplingRules, rng: Rng): (count: number) => Int32Array {
    // Each sampler has its own states: a second one must not move the first one's.
    const states = this.shape.layers * this.shape.hidden;
    const [h, c] = [Float32Array.from(from.h), Float32Array.from(from.c)];
    if (h.length !== states || c.length !== states) throw new RangeError(`a sampling state has ${states} values per tensor`);
    // Sampling computes no gradients: every sampler shares one unused buffer for them.
    this.samplerGrads ??= new Float32Array(this.params.length);
    const model = this.create(1, 1, h, c, this.samplerGrads);
    model.advance(prime.subarray(0, prime.length - 1));
    let input = prime[prime.length - 1];
    const recent = recentSymbols(this.shape.vocab, rules, prime);
    const { temperature, topK, topP, minP, repetitionPenalty, repetitionWindow } = rules;
    return (count) => {
      const out = new Int32Array(count);
      model.sample(input, temperature, rng.state, out, topK, topP, minP, repetitionPenalty, repetitionWindow, recent?.symbols());
      out.forEach((symbol) => recent?.push(symbol));
      if (count > 0) input = out[count - 1];
      return out;
    };
  }
}

/**
 * A backend on the initial parameters: the float64 reference without `addon`, else the C++ engine
 * it is (lib/engine/backend.ts createModelBackend picks it by name).
 */
export function modelBackend(engine: { name: 'ts' } | { name: CompiledBackend; addon: NativeAddon }, shape: ModelShape, streams: number, seqLength: number, initial: Float64Array, adam: boolean): ModelBackend {
  if (initial.length !== parameterTable(shape).total) throw new RangeError('the initial parameters do not fit the model');
  return engine.name === 'ts' ? new ReferenceBackend(shape, streams, initial, adam) : new CompiledModelBackend(engine.addon, engine.name, shape, streams, seqLength, initial, adam);
}

/** Runs a generator to its end and returns its result. */
export function finish<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** [t][stream] rows of a row-major block. */
function blocks(flat: Int32Array, streams: number): number[][] {
  return Array.from({ length: flat.length / streams }, (_, t) => Array.from(flat.subarray(t * streams, (t + 1) * streams)));
}

/** The reference's nested state over copies of the flat arrays' values. */
function unflatten(s: ModelShape, streams: number, h: Float64Array, c: Float64Array): ModelState {
  const m = s.hidden;
  const part = (flat: Float64Array, l: number, b: number) => flat.slice((l * streams + b) * m, (l * streams + b + 1) * m);
  const make = (flat: Float64Array) => Array.from({ length: s.layers }, (_, l) => Array.from({ length: streams }, (_, b) => part(flat, l, b)));
  return { h: make(h), c: make(c) };
}

function flatten(state: ModelState, h: Float64Array, c: Float64Array): void {
  let offset = 0;
  state.h.forEach((layer, l) =>
    layer.forEach((v, b) => {
      h.set(v, offset);
      c.set(state.c[l][b], offset);
      offset += v.length;
    })
  );
}
