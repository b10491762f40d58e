// The WebAssembly backend: wasm/rnn_native.wasm (scripts/build-wasm.sh: the addon's engine,
// native/rnn.cc and native/stacked.cc, with portable SIMD standing in for OpenBLAS) behind the
// same NativeAddon interface as the addon, so lib/engine/backend.ts and lib/engine/model-backend.ts use it
// unchanged. It needs nothing but Node: the module imports nothing (no WASI functions are
// reached: it never prints, reads a clock or exits), so no node:wasi (experimental, and it warns).
//
// The module sees only its own memory: each call checks its arguments as native/addon.cc does
// (same order, same errors and messages: the boundary fuzz holds both to them), copies the typed
// arrays in, calls native/wasm.cc, and copies what the engine wrote back out. Sizes the checks need
// (parameter counts, scratch floats, layout tables) are the engine's own, asked from the module.
// One thread: the module is single-threaded, so StackedModel.setThreads checks its argument
// (1 to 16, as the addon) and otherwise does nothing; results never depend on it.
import { existsSync, readFileSync, statSync } from 'fs';
import path from 'path';
import { types } from 'util';
import limits from '../model-limits.json';
import type { NativeAddon, NativeHyper, NativeLoad, NativeModel, StackedNativeModel, StackedNativeSpec, StackedOptimizerSettings } from './native';
import type { CellKind } from '../model/reference';

/** Where the build puts the module (shipped in the package: it is the same on every platform). */
export const WASM_FILE = path.join(__dirname, '..', '..', 'wasm', 'rnn_native.wasm');

/**
 * The little of the WebAssembly API used here (@types/node 20.9 has no WebAssembly types, and
 * lib "dom" would bring in the whole browser).
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  RuntimeError: new () => Error;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  malloc(bytes: number): number;
  free(pointer: number): void;
  rnn_parameter_count(hidden: number, vocab: number): number;
  rnn_parameter_layout(hidden: number, vocab: number): number;
  rnn_loss_and_gradients(hidden: number, vocab: number, params: number, grads: number, state: number, x: number, y: number, T: number): number;
  rnn_train(
    hidden: number, vocab: number, params: number, grads: number, accum: number, state: number, corpus: number, length: number,
    elementSize: number, walk: number, seqLength: number, eta: number, epsilon: number, clip: number, n: number, losses: number
  ): number;
  rnn_advance(hidden: number, vocab: number, params: number, state: number, x: number, n: number): void;
  rnn_sample(hidden: number, vocab: number, params: number, state: number, first: number, temperature: number, rng: number, out: number, n: number): void;
  stacked_parameter_count(cell: number, vocab: number, hidden: number, layers: number): number;
  stacked_scratch_floats(cell: number, vocab: number, hidden: number, layers: number, streams: number, T: number): number;
  stacked_layout_json(cell: number, vocab: number, hidden: number, layers: number): number;
  stacked_new(cell: number, vocab: number, hidden: number, layers: number, streams: number, T: number): number;
  stacked_delete(model: number): void;
  stacked_forward_backward(
    model: number, params: number, grads: number, h: number, c: number, x: number, y: number, T: number,
    gradients: number, dropout: number, seed: number, update: number
  ): number;
  stacked_optimize(
    kind: number, eta: number, epsilon: number, clip: number, decay: number, beta1: number, beta2: number, n: number,
    params: number, grads: number, second: number, first: number, step: number
  ): void;
  stacked_advance(model: number, params: number, grads: number, h: number, c: number, x: number, n: number): void;
  stacked_sample(model: number, params: number, grads: number, h: number, c: number, first: number, temperature: number, rng: number, out: number, n: number): void;
}

/** Every export used here: a module without one is another module (or an older build), refused when loaded. */
const EXPORTS: readonly (keyof Exports)[] = [
  'memory', '_initialize', 'malloc', 'free', 'rnn_parameter_count', 'rnn_parameter_layout', 'rnn_loss_and_gradients', 'rnn_train',
  'rnn_advance', 'rnn_sample', 'stacked_parameter_count', 'stacked_scratch_floats', 'stacked_layout_json', 'stacked_new',
  'stacked_delete', 'stacked_forward_backward', 'stacked_optimize', 'stacked_advance', 'stacked_sample',
];

/** native/wasm.cc's numbering of the cells and optimizers (the order of stacked::Cell, OptimizerKind). */
const CELLS: readonly CellKind[] = ['rnn', 'lstm', 'gru'];
const OPTIMIZERS = ['adagrad', 'rmsprop', 'adam'] as const;

// The addon's limits (native/addon.cc, from the same lib/model-limits.json).
const MAX_THREADS = 16;
const FLT_MIN = 1.1754943508222875e-38;
const FLT_MAX = 3.4028234663852886e38;
const MAX_SAFE = 9007199254740991;

// ---- checks: native/addon.cc's, in its order, with its messages ----

const typeError = (message: string): never => {
  throw new TypeError(message);
};
const rangeError = (message: string): never => {
  throw new RangeError(message);
};

function numberArg(v: unknown, name: string): number {
  return typeof v === 'number' ? v : typeError(`${name} must be a number`);
}

function intInRange(v: unknown, name: string, lo: number, hi: number): number {
  const x = numberArg(v, name);
  if (!(x >= lo && x <= hi) || Math.floor(x) !== x) rangeError(`${name} must be an integer from ${lo} to ${hi}`);
  return x;
}

function positiveFloat(v: unknown, name: string): number {
  const x = numberArg(v, name);
  if (!(x >= FLT_MIN && x <= FLT_MAX)) rangeError(`${name} must be a positive float32 number (1.2e-38 to 3.4e38)`);
  return x;
}

function safeInteger(v: unknown, name: string, lo: number): number {
  const x = numberArg(v, name);
  if (!(x >= lo && Math.abs(x) <= MAX_SAFE) || Math.floor(x) !== x) rangeError(`${name} must be a safe integer${lo > -MAX_SAFE ? ` ≥ ${lo}` : ''}`);
  return x;
}

function unitInterval(v: unknown, name: string): number {
  const x = numberArg(v, name);
  if (!(x >= 0 && x < 1)) rangeError(`${name} must be a number in [0, 1)`);
  return x;
}

function temperatureArg(v: unknown): number {
  const t = numberArg(v, 'temperature');
  if (!(t >= 0 && Number.isFinite(t))) rangeError('temperature must be a finite number ≥ 0');
  return t;
}

function objectArg(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || types.isTypedArray(v) || Array.isArray(v)) typeError(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function cellArg(v: unknown, name: string): number {
  if (typeof v !== 'string') typeError(`${name} must be a string`);
  const cell = CELLS.indexOf(v as CellKind);
  return cell >= 0 ? cell : rangeError(`${name} must be 'rnn', 'lstm' or 'gru'`);
}

type Typed = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;
type TypedKind = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint32Array' | 'Uint8Array' | 'Uint16Array';

/** The typed array's kind as Node-API sees it (a subclass counts as its base). */
function kindOf(v: unknown): string | undefined {
  return types.isTypedArray(v) ? (v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
}

function typedArray<T extends Typed>(v: unknown, kinds: TypedKind[], typeNames: string, name: string): T {
  if (!kinds.includes(kindOf(v) as TypedKind)) typeError(`${name} must be ${typeNames}`);
  return v as T;
}

function typedOfLength<T extends Typed>(v: unknown, kind: TypedKind, typeName: string, name: string, length: number): T {
  const a = typedArray<T>(v, [kind], typeName, name);
  if (a.length !== length) rangeError(`${name} must have length ${length}, got ${a.length}`);
  return a;
}

const float32 = (v: unknown, name: string, length: number) => typedOfLength<Float32Array>(v, 'Float32Array', 'a Float32Array', name, length);

/** The byte ranges of two views must not overlap (the addon compares their memory). */
function checkApart(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined, what: string): void {
  if (!a || !b || a.byteLength === 0 || b.byteLength === 0 || a.buffer !== b.buffer) return;
  if (a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) rangeError(`${what} must not overlap`);
}

/** A copy (the addon copies the vanilla model's symbols before the kernel writes anything). */
function copied(a: Int32Array): Int32Array {
  return a.length === 0 ? new Int32Array(0) : a.slice();
}

/** The symbols, each in [0, K). */
function symbolsArg(v: unknown, name: string, K: number): Int32Array {
  const x = typedArray<Int32Array>(v, ['Int32Array'], 'an Int32Array', name);
  for (let i = 0; i < x.length; i++) {
    if (x[i] < 0 || x[i] >= K) rangeError(`${name}[${i}] = ${x[i]} is outside the vocabulary [0, ${K})`);
  }
  return x;
}

// ---- the module ----

/** The module's memory, one call at a time: buffers allocated, filled, read back, freed. */
class Heap {
  private readonly blocks: number[] = [];

  constructor(private readonly m: Exports) {}

  /** Allocates room for `bytes` (at least 1), copying `from` in when given. */
  alloc(bytes: number, from?: ArrayBufferView): number {
    // The module's addresses are 32 bits: a larger size would wrap around to a small block.
    if (bytes >= 2 ** 32) throw new Error('rnn-native: out of memory');
    const pointer = this.m.malloc(Math.max(bytes, 1));
    if (pointer === 0) throw new Error('rnn-native: out of memory');
    this.blocks.push(pointer);
    // A detached or out-of-bounds view has length 0, and set/from would throw on it.
    if (from && from.byteLength > 0) new Uint8Array(this.m.memory.buffer, pointer, from.byteLength).set(new Uint8Array(from.buffer, from.byteOffset, from.byteLength));
    return pointer;
  }

  /** A copy of the typed array in the module's memory. */
  copy(a: Typed): number {
    return this.alloc(a.byteLength, a);
  }

  /** Copies the module's memory at `pointer` back into `to` (as bytes: no subclass code runs). */
  read(pointer: number, to: Typed): void {
    if (to.byteLength > 0) new Uint8Array(to.buffer, to.byteOffset, to.byteLength).set(new Uint8Array(this.m.memory.buffer, pointer, to.byteLength));
  }

  freeAll(): void {
    for (const pointer of this.blocks.splice(0)) this.m.free(pointer);
  }
}

/**
 * Runs `body` with a fresh heap, freed afterwards. A trap inside the module is an allocation
 * failure (the engine is built without exceptions: operator new traps when malloc fails).
 */
function withHeap<T>(m: Exports, body: (heap: Heap) => T): T {
  const heap = new Heap(m);
  try {
    return body(heap);
  } catch (error) {
    if (error instanceof wasmApi.RuntimeError) throw new Error('rnn-native: out of memory');
    throw error;
  } finally {
    heap.freeAll();
  }
}

/** A NUL-terminated string the module allocated, read and freed. */
function takeString(m: Exports, pointer: number): string {
  if (pointer === 0) throw new Error('rnn-native: out of memory');
  const bytes = new Uint8Array(m.memory.buffer, pointer);
  const text = Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString('utf8');
  m.free(pointer);
  return text;
}

// ---- the vanilla model: lossAndGradients, train, advance, sample ----

interface ModelValues {
  hidden: number;
  vocab: number;
  total: number;
  params: unknown;
  state: unknown;
  grads: unknown;
  accum: unknown;
}

function readModel(m: Exports, v: unknown): ModelValues {
  const o = objectArg(v, 'model');
  const { hidden, vocab, params, state, grads, accum } = { hidden: o.hidden, vocab: o.vocab, params: o.params, state: o.state, grads: o.grads, accum: o.accum };
  // vocab is checked before hidden, as in the addon (GCC evaluates make_dims's arguments right to left).
  const K = intInRange(vocab, 'model.vocab', 1, limits.maxVocabulary);
  const values = { hidden: intInRange(hidden, 'model.hidden', 1, limits.maxHidden), vocab: K, total: 0, params, state, grads, accum };
  values.total = m.rnn_parameter_count(values.hidden, values.vocab);
  if (values.total > limits.maxParameters) rangeError(`model has ${values.total} parameters; at most ${limits.maxParameters}`);
  return values;
}

function readHyper(v: unknown): NativeHyper {
  const o = objectArg(v, 'options');
  const { seqLength, eta, epsilon, clip } = { seqLength: o.seqLength, eta: o.eta, epsilon: o.epsilon, clip: o.clip };
  return {
    seqLength: intInRange(seqLength, 'options.seqLength', 1, limits.maxSeqLength),
    eta: positiveFloat(eta, 'options.eta'),
    epsilon: positiveFloat(epsilon, 'options.epsilon'),
    clip: positiveFloat(clip, 'options.clip'),
  };
}

interface Resolved {
  params: Float32Array;
  state: Float32Array;
  grads?: Float32Array;
  accum?: Float32Array;
}

function resolveModel(values: ModelValues, withGrads: boolean, withAccum: boolean): Resolved {
  const P = values.total;
  const r: Resolved = { params: float32(values.params, 'model.params', P), state: float32(values.state, 'model.state', values.hidden) };
  checkApart(r.params, r.state, 'model.params and model.state');
  if (withGrads) {
    r.grads = float32(values.grads, 'model.grads', P);
    checkApart(r.grads, r.params, 'model.grads and model.params');
    checkApart(r.grads, r.state, 'model.grads and model.state');
  }
  if (withAccum) {
    r.accum = float32(values.accum, 'model.accum', P);
    checkApart(r.accum, r.params, 'model.accum and model.params');
    checkApart(r.accum, r.grads, 'model.accum and model.grads');
    checkApart(r.accum, r.state, 'model.accum and model.state');
  }
  return r;
}

function checkWorkspace(values: ModelValues, T: number): void {
  const floats = (T + 1) * values.hidden + T * values.hidden + T * values.vocab;
  if (floats > limits.maxWorkspaceFloats) rangeError(`seqLength × (2·hidden + vocab) = ${floats} scratch floats; at most ${limits.maxWorkspaceFloats}`);
}

function vanilla(m: Exports) {
  return {
    lossAndGradients(model: NativeModel, inputs: Int32Array, targets: Int32Array): number {
      const values = readModel(m, model);
      const r = resolveModel(values, true, false);
      const x = copied(symbolsArg(inputs, 'inputs', values.vocab));
      const y = copied(symbolsArg(targets, 'targets', values.vocab));
      const T = x.length;
      if (T === 0 || T > limits.maxSeqLength) rangeError(`inputs must hold 1 to ${limits.maxSeqLength} symbols`);
      if (y.length !== T) rangeError('targets must have the same length as inputs');
      checkWorkspace(values, T);
      return withHeap(m, (heap) => {
        const [params, grads, state] = [heap.copy(r.params), heap.alloc(r.grads!.byteLength), heap.copy(r.state)];
        const loss = m.rnn_loss_and_gradients(values.hidden, values.vocab, params, grads, state, heap.copy(x), heap.copy(y), T);
        heap.read(grads, r.grads!);
        heap.read(state, r.state);
        return loss;
      });
    },

    train(model: NativeModel, corpusArg: Uint8Array | Uint16Array, walkArg: Float64Array, options: NativeHyper, lossesArg: Float64Array): void {
      const values = readModel(m, model);
      const hp = readHyper(options);
      const r = resolveModel(values, true, true);
      const corpus = typedArray<Uint8Array | Uint16Array>(corpusArg, ['Uint8Array', 'Uint16Array'], 'a Uint8Array or Uint16Array', 'corpus');
      const walk = typedOfLength<Float64Array>(walkArg, 'Float64Array', 'a Float64Array', 'walk', 2);
      const losses = typedArray<Float64Array>(lossesArg, ['Float64Array'], 'a Float64Array', 'losses');
      if (corpus.length < hp.seqLength + 1) rangeError('corpus must hold at least options.seqLength + 1 symbols');
      if (!(walk[0] >= 0 && walk[0] <= corpus.length) || Math.floor(walk[0]) !== walk[0]) rangeError('walk[0] (position) must be an integer from 0 to the corpus length');
      if (!Number.isFinite(walk[1])) rangeError('walk[1] (epoch) must be finite');
      checkWorkspace(values, hp.seqLength);
      const failed = withHeap(m, (heap) => {
        // The engine writes these; the inputs may share memory with them, so all go in first.
        const buffers = [r.params, r.grads!, r.accum!, r.state, walk, losses].map((a) => heap.copy(a));
        const [params, grads, accum, state, walkAt, lossesAt] = buffers;
        const status = m.rnn_train(
          values.hidden, values.vocab, params, grads, accum, state, heap.copy(corpus), corpus.length, corpus.BYTES_PER_ELEMENT,
          walkAt, hp.seqLength, hp.eta, hp.epsilon, hp.clip, losses.length, lossesAt
        );
        [r.params, r.grads!, r.accum!, r.state, walk, losses].forEach((a, i) => heap.read(buffers[i], a));
        return status !== 0;
      });
      if (failed) rangeError('corpus holds a symbol outside the vocabulary [0, model.vocab)');
    },

    advance(model: NativeModel, inputs: Int32Array): void {
      const values = readModel(m, model);
      const r = resolveModel(values, false, false);
      const x = copied(symbolsArg(inputs, 'inputs', values.vocab));
      withHeap(m, (heap) => {
        const state = heap.copy(r.state);
        m.rnn_advance(values.hidden, values.vocab, heap.copy(r.params), state, heap.copy(x), x.length);
        heap.read(state, r.state);
      });
    },

    sample(model: NativeModel, firstArg: number, temperatureValue: number, rngArg: Uint32Array, outArg: Int32Array): void {
      const values = readModel(m, model);
      const first = intInRange(firstArg, 'first', 0, values.vocab - 1);
      const temperature = temperatureArg(temperatureValue);
      const r = resolveModel(values, false, false);
      const rng = typedOfLength<Uint32Array>(rngArg, 'Uint32Array', 'a Uint32Array', 'rng', 4);
      const out = typedArray<Int32Array>(outArg, ['Int32Array'], 'an Int32Array', 'out');
      if ((rng[0] | rng[1] | rng[2] | rng[3]) === 0) rangeError('rng state must not be all zero');
      withHeap(m, (heap) => {
        const [state, rngAt, outAt] = [heap.copy(r.state), heap.copy(rng), heap.alloc(out.byteLength)];
        m.rnn_sample(values.hidden, values.vocab, heap.copy(r.params), state, first, temperature, rngAt, outAt, out.length);
        heap.read(state, r.state);
        heap.read(rngAt, rng);
        heap.read(outAt, out);
      });
    },

    parameterLayout(hidden: number, vocab: number) {
      const k = intInRange(vocab, 'vocab', 1, limits.maxVocabulary);  // first, as in the addon (readModel)
      const h = intInRange(hidden, 'hidden', 1, limits.maxHidden);
      return JSON.parse(takeString(m, m.rnn_parameter_layout(h, k)));
    },
  };
}

// ---- the general model: StackedModel, stackedLayout ----

interface Shape {
  cell: number;
  vocab: number;
  hidden: number;
  layers: number;
}

function stackedShape(m: Exports, cell: unknown, vocab: unknown, hidden: unknown, layers: unknown, prefix: string): Shape {
  const s: Shape = {
    cell: cellArg(cell, `${prefix}cell`),
    vocab: intInRange(vocab, `${prefix}vocab`, 1, limits.maxVocabulary),
    hidden: intInRange(hidden, `${prefix}hidden`, 1, limits.maxHidden),
    layers: intInRange(layers, `${prefix}layers`, 1, limits.maxLayers),
  };
  const count = m.stacked_parameter_count(s.cell, s.vocab, s.hidden, s.layers);
  if (count > limits.maxParameters) rangeError(`the model has ${count} parameters; at most ${limits.maxParameters}`);
  return s;
}

function checkedScratch(m: Exports, s: Shape, B: number, T: number): void {
  const scratch = m.stacked_scratch_floats(s.cell, s.vocab, s.hidden, s.layers, B, T);
  if (scratch > limits.maxWorkspaceFloats) {
    rangeError(`the model needs ${scratch} scratch floats (streams × seqLength × layers × hidden …); at most ${limits.maxWorkspaceFloats}`);
  }
}

/** What a StackedModel holds: its checked spec and the spec's arrays. */
interface Inner {
  shape: Shape;
  streams: number;
  seqLength: number;
  parameters: number;
  stateLength: number;
  arrays: { params: unknown; grads: unknown; h: unknown; c: unknown };
}

interface Bound {
  params: Float32Array;
  grads: Float32Array;
  h: Float32Array;
  c: Float32Array;
}

function stackedClass(m: Exports) {
  /** Refuses an array the kernel reads while writing b's grads, h or c (or params, when written). */
  const checkApartFromWritten = (b: Bound, a: ArrayBufferView, name: string, paramsWritten: boolean) => {
    checkApart(a, b.grads, `${name} and spec.grads`);
    checkApart(a, b.h, `${name} and spec.h`);
    checkApart(a, b.c, `${name} and spec.c`);
    if (paramsWritten) checkApart(a, b.params, `${name} and spec.params`);
  };

  return class StackedModel implements StackedNativeModel {
    readonly #inner: Inner;

    constructor(specArg: StackedNativeSpec) {
      const spec = objectArg(specArg, 'spec');
      const [cell, vocab, hidden, layers, streams, seq] = [spec.cell, spec.vocab, spec.hidden, spec.layers, spec.streams, spec.seqLength];
      const arrays = { params: spec.params, grads: spec.grads, h: spec.h, c: spec.c };
      const shape = stackedShape(m, cell, vocab, hidden, layers, 'spec.');
      const B = intInRange(streams, 'spec.streams', 1, limits.maxStreams);
      const T = intInRange(seq, 'spec.seqLength', 1, limits.maxSeqLength);
      checkedScratch(m, shape, B, T);
      const parameters = m.stacked_parameter_count(shape.cell, shape.vocab, shape.hidden, shape.layers);
      const inner: Inner = { shape, streams: B, seqLength: T, parameters, stateLength: shape.layers * B * shape.hidden, arrays };
      const b = StackedModel.bindOf(inner);
      checkApart(b.params, b.grads, 'spec.params and spec.grads');
      checkApart(b.params, b.h, 'spec.params and spec.h');
      checkApart(b.params, b.c, 'spec.params and spec.c');
      checkApart(b.grads, b.h, 'spec.grads and spec.h');
      checkApart(b.grads, b.c, 'spec.grads and spec.c');
      checkApart(b.h, b.c, 'spec.h and spec.c');
      this.#inner = inner;
    }

    /** The kept arrays, checked again (one may have been detached or resized since). */
    private static bindOf(inner: Inner): Bound {
      const { parameters: P, stateLength: S, arrays } = inner;
      return { params: float32(arrays.params, 'spec.params', P), grads: float32(arrays.grads, 'spec.grads', P), h: float32(arrays.h, 'spec.h', S), c: float32(arrays.c, 'spec.c', S) };
    }

    /**
     * Runs an engine call on a model made for it (model: its pointer) and on copies of the bound
     * arrays (at: params, grads, h, c in the module), then copies back h, c, and grads when
     * `gradients`; the call copies in its own arguments. The engine's model (its scratch) lives
     * for one call only: the module's memory is outside V8's heap, so a model kept alive until
     * its StackedModel is collected would hold its scratch for as long as V8 sees no reason to
     * collect (the addon tells V8 of its scratch; nothing can for the module's). Making one costs
     * an allocation and a fill of its scratch: about 3 % of an lstm 2×128 update (B = 50, T = 50).
     */
    private static run<T>(inner: Inner, b: Bound, gradients: boolean, call: (heap: Heap, model: number, at: number[]) => T): T {
      return withHeap(m, (heap) => {
        const at = [b.params, b.grads, b.h, b.c].map((a) => heap.copy(a));
        const { cell, vocab, hidden, layers } = inner.shape;
        const model = m.stacked_new(cell, vocab, hidden, layers, inner.streams, inner.seqLength);
        const result = call(heap, model, at);
        m.stacked_delete(model);
        if (gradients) heap.read(at[1], b.grads);
        heap.read(at[2], b.h);
        heap.read(at[3], b.c);
        return result;
      });
    }

    forwardBackward(xArg: Int32Array, yArg: Int32Array, gradientsArg: boolean, dropoutArg: number, seedArg: number, updateArg: number): number {
      const inner = this.#inner;
      if (typeof gradientsArg !== 'boolean') typeError('gradients must be a boolean');
      const gradients = gradientsArg;
      const dropout = unitInterval(dropoutArg, 'dropout');
      const seed = safeInteger(seedArg, 'seed', -MAX_SAFE);
      const update = safeInteger(updateArg, 'update', 0);
      const b = StackedModel.bindOf(inner);
      const K = inner.shape.vocab;
      const B = inner.streams;
      const x = symbolsArg(xArg, 'x', K);
      const y = symbolsArg(yArg, 'y', K);
      if (y.length !== x.length) rangeError('y must have the same length as x');
      const n = x.length;
      if (n === 0 || n % B !== 0 || n / B > inner.seqLength) {
        rangeError(`x must hold steps × streams symbols (streams = ${B}, 1 ≤ steps ≤ seqLength = ${inner.seqLength}), got ${n}`);
      }
      checkApartFromWritten(b, x, 'x', false);
      checkApartFromWritten(b, y, 'y', false);
      return StackedModel.run(inner, b, gradients, (heap, model, [params, grads, h, c]) =>
        m.stacked_forward_backward(model, params, grads, h, c, heap.copy(x), heap.copy(y), n / B, gradients ? 1 : 0, dropout, seed, update)
      );
    }

    /** One thread only: checked as the addon checks it, then nothing to set (see the file's head). */
    setThreads(threads: number): void {
      void this.#inner;
      intInRange(threads, 'threads', 1, MAX_THREADS);
    }

    optimize(settingsArg: StackedOptimizerSettings, secondArg: Float32Array, firstArg: Float32Array, stepArg: number): void {
      const inner = this.#inner;
      const o = objectArg(settingsArg, 'settings');
      const [kind, eta, epsilon, clip, decay, beta1, beta2] = [o.kind, o.eta, o.epsilon, o.clip, o.decay, o.beta1, o.beta2];
      if (typeof kind !== 'string') typeError('settings.kind must be a string');
      const kindIndex = OPTIMIZERS.indexOf(kind as (typeof OPTIMIZERS)[number]);
      if (kindIndex < 0) rangeError("settings.kind must be 'adagrad', 'rmsprop' or 'adam'");
      const s = {
        eta: positiveFloat(eta, 'settings.eta'),
        epsilon: positiveFloat(epsilon, 'settings.epsilon'),
        clip: positiveFloat(clip, 'settings.clip'),
        decay: unitInterval(decay, 'settings.decay'),
        beta1: unitInterval(beta1, 'settings.beta1'),
        beta2: unitInterval(beta2, 'settings.beta2'),
      };
      const step = safeInteger(stepArg, 'step', 1);
      const b = StackedModel.bindOf(inner);
      const P = inner.parameters;
      const second = float32(secondArg, 'second', P);
      const adam = kind === 'adam';
      const first = typedArray<Float32Array>(firstArg, ['Float32Array'], 'a Float32Array', 'first');
      if (first.length !== (adam ? P : 0) && first.length !== P) rangeError(`first must have length ${P}${adam ? '' : ' or 0'}, got ${first.length}`);
      checkApartFromWritten(b, second, 'second', true);
      checkApartFromWritten(b, first, 'first', true);
      checkApart(second, first, 'second and first');
      withHeap(m, (heap) => {
        const [params, grads, secondAt, firstAt] = [heap.copy(b.params), heap.copy(b.grads), heap.copy(second), heap.copy(first)];
        m.stacked_optimize(kindIndex, s.eta, s.epsilon, s.clip, s.decay, s.beta1, s.beta2, P, params, grads, secondAt, first.length > 0 ? firstAt : 0, step);
        heap.read(params, b.params);
        heap.read(secondAt, second);
        heap.read(firstAt, first);
      });
    }

    advance(symbols: Int32Array): void {
      const inner = this.#inner;
      StackedModel.requireOneStream(inner, 'advance');
      const b = StackedModel.bindOf(inner);
      const x = symbolsArg(symbols, 'symbols', inner.shape.vocab);
      checkApartFromWritten(b, x, 'symbols', false);
      StackedModel.run(inner, b, false, (heap, model, [params, grads, h, c]) => m.stacked_advance(model, params, grads, h, c, heap.copy(x), x.length));
    }

    sample(firstArg: number, temperatureValue: number, rngArg: Uint32Array, outArg: Int32Array): void {
      const inner = this.#inner;
      StackedModel.requireOneStream(inner, 'sample');
      const first = intInRange(firstArg, 'first', 0, inner.shape.vocab - 1);
      const temperature = temperatureArg(temperatureValue);
      const b = StackedModel.bindOf(inner);
      const rng = typedOfLength<Uint32Array>(rngArg, 'Uint32Array', 'a Uint32Array', 'rng', 4);
      const out = typedArray<Int32Array>(outArg, ['Int32Array'], 'an Int32Array', 'out');
      if ((rng[0] | rng[1] | rng[2] | rng[3]) === 0) rangeError('rng state must not be all zero');
      checkApartFromWritten(b, rng, 'rng', true);
      checkApartFromWritten(b, out, 'out', true);
      checkApart(rng, out, 'rng and out');
      StackedModel.run(inner, b, false, (heap, model, [params, grads, h, c]) => {
        const [rngAt, outAt] = [heap.copy(rng), heap.alloc(out.byteLength)];
        m.stacked_sample(model, params, grads, h, c, first, temperature, rngAt, outAt, out.length);
        heap.read(rngAt, rng);
        heap.read(outAt, out);
      });
    }

    private static requireOneStream(inner: Inner, what: string): void {
      if (inner.streams !== 1) rangeError(`${what} needs a model of one stream (this one has ${inner.streams})`);
    }
  };
}

function stackedLayoutOf(m: Exports) {
  return (cell: CellKind, vocab: number, hidden: number, layers: number) => {
    const s = stackedShape(m, cell, vocab, hidden, layers, '');
    return JSON.parse(takeString(m, m.stacked_layout_json(s.cell, s.vocab, s.hidden, s.layers)));
  };
}

/** The addon's interface over an instantiated module. */
function wasmAddon(m: Exports): NativeAddon {
  const notHere = (what: string) => () => {
    throw new Error(`${what} measures OpenBLAS: the native backend only`);
  };
  return {
    ...vanilla(m),
    blasInfo: () => 'portable 128-bit SIMD (WebAssembly, one thread)',
    limits: () => ({ ...limits }),
    StackedModel: stackedClass(m),
    stackedLayout: stackedLayoutOf(m),
    stackedMatmulPlan: notHere('stackedMatmulPlan'),
    stackedMatmulSeconds: notHere('stackedMatmulSeconds'),
  };
}

let loaded: NativeLoad | undefined;

/**
 * Instantiates wasm/rnn_native.wasm once (RNN_WASM_FILE=path loads another build). Never throws:
 * on failure it returns the reason. RNN_WASM_DISABLE=1 makes it report the module as absent.
 */
export function loadWasm(): NativeLoad {
  if (loaded) return loaded;
  if (process.env.RNN_WASM_DISABLE === '1') return (loaded = { error: 'disabled by RNN_WASM_DISABLE=1' });
  const file = process.env.RNN_WASM_FILE ? path.resolve(process.env.RNN_WASM_FILE) : WASM_FILE;
  if (!existsSync(file)) return (loaded = { error: `${file} is missing (npm run build:wasm builds it)` });
  // Reading would wait for ever on a FIFO: only a regular file (or a link to one) is read.
  if (!statSync(file).isFile()) return (loaded = { error: `${file} is not a regular file` });
  try {
    const instance = new wasmApi.Instance(new wasmApi.Module(readFileSync(file)), {});
    const m = instance.exports as unknown as Exports;
    const missing = EXPORTS.filter((name) => !(name in m));
    if (missing.length > 0) return (loaded = { error: `${file} is not rnn-native's WebAssembly module (it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})` });
    m._initialize();
    loaded = { addon: wasmAddon(m) };
  } catch (error) {
    loaded = { error: `${file} does not load (${(error as Error).message.split('\n')[0]})` };
  }
  return loaded;
}
