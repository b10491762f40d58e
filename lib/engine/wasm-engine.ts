// The WebAssembly engine: wasm/rnn_native.wasm (scripts/build-wasm.sh: the addon's kernels,
// native/kernels/, with portable SIMD standing in for OpenBLAS, and its argument checks,
// native/checks.cc) behind the same NativeAddon interface as the addon, so lib/engine/backend.ts and
// lib/engine/model-backend.ts use it unchanged. It needs no WASI: the module imports nothing (no
// WASI function is reached: it never prints, reads a clock or exits). No Node APIs either: the
// browser module (lib/browser.ts) runs it as it is; lib/engine/wasm.ts loads it in Node.
//
// The module sees only its own memory. A call here reads the JavaScript values the addon reads,
// in the same order (the object arguments' property names come from the module), and writes each
// as a record (native/wasm.cc WasmValue), copying typed arrays in; the module checks them with the
// addon's C++ and runs the kernel. Its refusal is thrown as the addon throws it, and what the
// kernel wrote is copied back out. Nothing is checked here. One thread: Model.setThreads checks
// its argument and otherwise does nothing; results never depend on it.
import type { NativeAddon, CompiledModel, CompiledModelSpec, CompiledOptimizerSettings } from './native-api';
import type { CellKind } from '../model/reference';

/** A trap of the module (@types/node 20.9 has no WebAssembly types, and lib "dom" would bring in the whole browser). */
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly;

/** native/wasm.cc's exports. A call taking `values` reads records written by Heap.values. */
interface Exports {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  malloc(bytes: number): number;
  free(pointer: number): void;
  refusal_message(): number;
  property_names(which: number): number;
  limits_json(): number;
  model_new(values: number, kept: number): number;
  model_forward_backward(kept: number, values: number, loss: number): number;
  model_optimize(kept: number, values: number): number;
  model_train(kept: number, values: number): number;
  model_advance(kept: number, values: number): number;
  model_sample(kept: number, values: number): number;
  model_log_probs(kept: number, values: number): number;
  model_set_threads(values: number): number;
  model_layout(values: number, json: number): number;
}

/** Every export used here: a module without one is another module (or an older build), refused when loaded. */
const EXPORTS: readonly (keyof Exports)[] = [
  'memory', '_initialize', 'malloc', 'free', 'refusal_message', 'property_names', 'limits_json', 'model_new',
  'model_forward_backward', 'model_optimize', 'model_train', 'model_log_probs', 'model_advance', 'model_sample', 'model_set_threads', 'model_layout',
];

// ---- what the module's checks see of a value (native/checks.h Type) ----

const TYPE = { other: 0, undefined: 1, number: 2, boolean: 3, string: 4, object: 5, float32Array: 6, otherTypedArray: 12 } as const;
const TYPED_ARRAY_TYPE: Readonly<Record<string, number>> = { Float32Array: 6, Float64Array: 7, Int32Array: 8, Uint32Array: 9, Uint8Array: 10, Uint16Array: 11 };

/** %TypedArray%.prototype's own getters: a subclass overriding them runs no code here, as in the addon. */
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayPrototype, key)!.get!;
const GETTERS = { buffer: intrinsic('buffer'), byteOffset: intrinsic('byteOffset'), byteLength: intrinsic('byteLength'), length: intrinsic('length'), tag: intrinsic(Symbol.toStringTag) };
const get = <T>(getter: () => unknown, a: unknown) => Reflect.apply(getter, a, []) as T;

/** A typed array's bytes as a Uint8Array (empty when detached or out of bounds). */
function bytesOf(a: unknown): Uint8Array {
  const byteLength = get<number>(GETTERS.byteLength, a);
  return byteLength === 0 ? new Uint8Array(0) : new Uint8Array(get<ArrayBuffer>(GETTERS.buffer, a), get<number>(GETTERS.byteOffset, a), byteLength);
}

function typeOf(v: unknown): number {
  // The tag getter answers undefined for anything but a typed array.
  const tag = get<string | undefined>(GETTERS.tag, v);
  if (tag !== undefined) return TYPED_ARRAY_TYPE[tag] ?? TYPE.otherTypedArray;
  if (typeof v === 'object') return v === null || Array.isArray(v) ? TYPE.other : TYPE.object;
  return (TYPE as Record<string, number>)[typeof v] ?? TYPE.other;
}

/** An object argument and its properties in `names`' order: none read when it is no object (the checks refuse it first). */
function objectValues(v: unknown, names: readonly string[]): unknown[] {
  const o = typeOf(v) === TYPE.object ? (v as Record<string, unknown>) : undefined;
  return [v, ...names.map((name) => (o ? o[name] : undefined))];
}

// ---- the module's memory ----

/** native/wasm.cc WasmValue: type (i32), data (u32), number, length, address (f64): 32 bytes. */
const RECORD_BYTES = 32;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** The fields of a call's records before they are written, in arrays reused from call to call. */
interface Fields {
  type: Int32Array;
  number: Float64Array;
  length: Float64Array;
  address: Float64Array;
  bytes: Float64Array;
  offset: Float64Array;
  source: (Uint8Array | undefined)[];
}
let fields: Fields | undefined;

/** Views of the module's memory, made again when it grows (its buffer is then another). */
let views: { memory: ArrayBuffer; words: Uint32Array; floats: Float64Array; bytes: Uint8Array } | undefined;

function viewsOf(memory: ArrayBuffer) {
  if (views?.memory !== memory) views = { memory, words: new Uint32Array(memory), floats: new Float64Array(memory), bytes: new Uint8Array(memory) };
  return views;
}

function fieldsFor(n: number): Fields {
  if (!fields || fields.type.length < n) {
    const size = Math.max(n, 32);
    fields = { type: new Int32Array(size), number: new Float64Array(size), length: new Float64Array(size), address: new Float64Array(size), bytes: new Float64Array(size), offset: new Float64Array(size), source: new Array(size) };
  }
  return fields;
}

/** The module's memory, one call at a time: buffers allocated, filled, read back, freed. */
class Heap {
  private readonly blocks: number[] = [];
  /** The JavaScript buffers of this call, numbered: a typed array's address is its buffer's number · 2^40 + its offset. */
  private readonly buffers = new Map<unknown, number>();

  constructor(private readonly m: Exports) {}

  /** Allocates room for `bytes` (at least 1), copying `from` in when given. */
  alloc(bytes: number, from?: Uint8Array): number {
    // The module's addresses are 32 bits: a larger size would wrap around to a small block.
    if (bytes >= 2 ** 32) throw new Error('rnn-native: out of memory');
    const pointer = this.m.malloc(Math.max(bytes, 1));
    if (pointer === 0) throw new Error('rnn-native: out of memory');
    this.blocks.push(pointer);
    if (from && from.byteLength > 0) new Uint8Array(this.m.memory.buffer, pointer, from.byteLength).set(from);
    return pointer;
  }

  /**
   * The records of `values` for a call, in one block with the bytes they point to: each typed
   * array's copy ('copy', the default), or room for one the kernel only writes ('room'), or
   * nothing for one the call does not touch ('none': described only); each string's UTF-8
   * bytes. Returns where the records are, and each value's bytes in the module (0 when none).
   * (Per-call fields go through reused arrays: this runs twice an update.)
   */
  values(values: readonly unknown[], uses: Readonly<Record<number, 'room' | 'none'>> = {}): { at: number; copies: number[] } {
    const n = values.length;
    const f = fieldsFor(n);
    let size = align16(n * RECORD_BYTES);
    for (let i = 0; i < n; i++) {
      this.describe(values[i], uses[i], f, i);
      f.offset[i] = size;
      size += align16(f.bytes[i]);
    }
    const at = this.alloc(size);
    const { words, floats, bytes } = viewsOf(this.m.memory.buffer);
    const copies = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      copies[i] = f.bytes[i] > 0 ? at + f.offset[i] : 0;
      const source = f.source[i];
      if (source) bytes.set(source, copies[i]);
      f.source[i] = undefined;
      const word = (at + i * RECORD_BYTES) / 4;
      words[word] = f.type[i];
      words[word + 1] = copies[i];
      floats[word / 2 + 1] = f.number[i];
      floats[word / 2 + 2] = f.length[i];
      floats[word / 2 + 3] = f.address[i];
    }
    return { at, copies };
  }

  /** Value i's fields in f, and the bytes it needs in the module (and those to copy there). */
  private describe(v: unknown, use: 'room' | 'none' | undefined, f: Fields, i: number): void {
    const type = typeOf(v);
    f.type[i] = type;
    f.number[i] = type === TYPE.number ? (v as number) : type === TYPE.boolean && v ? 1 : 0;
    f.length[i] = f.address[i] = f.bytes[i] = 0;
    f.source[i] = undefined;
    if (type === TYPE.string) {
      const utf8 = new TextEncoder().encode(v as string);
      f.source[i] = utf8;
      f.bytes[i] = f.length[i] = utf8.length;
    } else if (type >= TYPE.float32Array) {
      const byteLength = get<number>(GETTERS.byteLength, v);
      if (use !== 'none') f.bytes[i] = byteLength;
      if (use === undefined && byteLength > 0) f.source[i] = bytesOf(v);
      f.length[i] = get<number>(GETTERS.length, v);
      const buffer = get<unknown>(GETTERS.buffer, v);
      if (!this.buffers.has(buffer)) this.buffers.set(buffer, this.buffers.size + 1);
      f.address[i] = this.buffers.get(buffer)! * 2 ** 40 + get<number>(GETTERS.byteOffset, v);
    }
  }

  /** Copies the module's memory at `pointer` back into the typed array `to` (as bytes). */
  read(pointer: number, to: unknown): void {
    const bytes = bytesOf(to);
    if (bytes.byteLength > 0) bytes.set(new Uint8Array(this.m.memory.buffer, pointer, bytes.byteLength));
  }

  /** A copy of `numbers` in the module. */
  int32(numbers: Int32Array): number {
    return this.alloc(numbers.byteLength, new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength));
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
    if (error instanceof RuntimeError) throw new Error('rnn-native: out of memory');
    throw error;
  } finally {
    heap.freeAll();
  }
}

/** A NUL-terminated string of the module's memory. */
function stringAt(m: Exports, pointer: number): string {
  const bytes = new Uint8Array(m.memory.buffer, pointer);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
}

/** A string the module allocated, read and freed. */
function takeString(m: Exports, pointer: number): string {
  if (pointer === 0) throw new Error('rnn-native: out of memory');
  const text = stringAt(m, pointer);
  m.free(pointer);
  return text;
}

/** Throws a call's refusal as the addon does: 1 TypeError, 2 RangeError. */
function throwRefusal(m: Exports, status: number): void {
  if (status === 0) return;
  const message = stringAt(m, m.refusal_message());
  throw status === 1 ? new TypeError(message) : new RangeError(message);
}

/** JSON the module wrote at *pointer (model_layout). */
function takeJson(m: Exports, pointer: number) {
  return JSON.parse(takeString(m, new Uint32Array(m.memory.buffer, pointer, 1)[0]));
}

// ---- the model object ----

/** The property names of the module's object arguments (native/checks.h), asked once. */
interface Names {
  spec: readonly string[];
  settings: readonly string[];
}

function namesOf(m: Exports): Names {
  const names = (which: number) => takeString(m, m.property_names(which)).split(',');
  return { spec: names(0), settings: names(1) };
}

function modelClass(m: Exports, names: Names) {
  /** Where the spec's arrays are among its values, in the records' order: params, grads, h, c. */
  const ARRAYS = ['params', 'grads', 'h', 'c'].map((name) => 1 + names.spec.indexOf(name));
  // forwardBackward writes every gradient and reads none; advance and sample, and optimize's h
  // and c, are not touched at all.
  const WRITES_GRADS = { 1: 'room' } as const;
  const NO_GRADS = { 1: 'none' } as const;

  return class Model implements CompiledModel {
    /** The checked spec as the module keeps it: cell, vocab, hidden, layers, streams, seqLength. */
    readonly #kept = new Int32Array(6);
    /** The spec's arrays as given, checked again at each call (one may be detached or resized since). */
    readonly #arrays: unknown[];

    constructor(spec: CompiledModelSpec) {
      const values = objectValues(spec, names.spec);
      withHeap(m, (heap) => {
        const kept = heap.alloc(this.#kept.byteLength);
        throwRefusal(m, m.model_new(heap.values(values).at, kept));
        this.#kept.set(new Int32Array(m.memory.buffer, kept, 6));
      });
      this.#arrays = ARRAYS.map((i) => values[i]);
    }

    forwardBackward(x: Int32Array, y: Int32Array, gradients: boolean, dropout: number, seed: number, update: number): number {
      const [kept, arrays] = [this.#kept, this.#arrays];
      return withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, x, y, gradients, dropout, seed, update], WRITES_GRADS);
        const loss = heap.alloc(8);
        throwRefusal(m, m.model_forward_backward(heap.int32(kept), at, loss));
        if (gradients) heap.read(copies[1], arrays[1]);
        heap.read(copies[2], arrays[2]);
        heap.read(copies[3], arrays[3]);
        return new Float64Array(m.memory.buffer, loss, 1)[0];
      });
    }

    optimize(settings: CompiledOptimizerSettings, second: Float32Array, first: Float32Array, step: number): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      const settingsValues = objectValues(settings, names.settings);
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, ...settingsValues, second, first, step], { 2: 'none', 3: 'none' });
        throwRefusal(m, m.model_optimize(heap.int32(kept), at));
        const secondAt = arrays.length + settingsValues.length;
        heap.read(copies[0], arrays[0]);
        heap.read(copies[secondAt], second);
        heap.read(copies[secondAt + 1], first);
      });
    }

    train(x: Int32Array, y: Int32Array, losses: Float64Array, reset: boolean, dropout: number, seed: number, firstUpdate: number, settings: CompiledOptimizerSettings, second: Float32Array, first: Float32Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      const settingsValues = objectValues(settings, names.settings);
      withHeap(m, (heap) => {
        const values = [...arrays, x, y, losses, reset, dropout, seed, firstUpdate, ...settingsValues, second, first];
        const { at, copies } = heap.values(values, { 1: 'room', 6: 'room' });
        throwRefusal(m, m.model_train(heap.int32(kept), at));
        const secondAt = values.length - 2;
        for (const i of [0, 1, 2, 3]) heap.read(copies[i], arrays[i]);
        heap.read(copies[6], losses);
        heap.read(copies[secondAt], second);
        heap.read(copies[secondAt + 1], first);
      });
    }

    advance(symbols: Int32Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, symbols], NO_GRADS);
        throwRefusal(m, m.model_advance(heap.int32(kept), at));
        heap.read(copies[2], arrays[2]);
        heap.read(copies[3], arrays[3]);
      });
    }

    sample(first: number, temperature: number, rng: Uint32Array, out: Int32Array, topK?: number, topP?: number, minP?: number, repetitionPenalty?: number, repetitionWindow?: number, recent?: Int32Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      withHeap(m, (heap) => {
        const values = [...arrays, first, temperature, rng, out, topK, topP, minP, repetitionPenalty, repetitionWindow, recent];
        const { at, copies } = heap.values(values, { ...NO_GRADS, 7: 'room' });
        throwRefusal(m, m.model_sample(heap.int32(kept), at));
        for (const i of [2, 3]) heap.read(copies[i], arrays[i]);
        heap.read(copies[6], rng);
        heap.read(copies[7], out);
      });
    }

    logProbs(input: number, out: Float64Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, input, out], { ...NO_GRADS, 5: 'room' });
        throwRefusal(m, m.model_log_probs(heap.int32(kept), at));
        heap.read(copies[2], arrays[2]);
        heap.read(copies[3], arrays[3]);
        heap.read(copies[5], out);
      });
    }

    /** One thread only: checked as the addon checks it, then nothing to set (see the file's head). */
    setThreads(threads: number): void {
      void this.#kept;
      withHeap(m, (heap) => throwRefusal(m, m.model_set_threads(heap.values([threads]).at)));
    }
  };
}

function parameterTableOf(m: Exports) {
  return (cell: CellKind, vocab: number, hidden: number, layers: number) =>
    withHeap(m, (heap) => {
      const json = heap.alloc(4);
      throwRefusal(m, m.model_layout(heap.values([cell, vocab, hidden, layers]).at, json));
      return takeJson(m, json);
    });
}

/** The addon's interface over an instantiated module. */
function wasmAddon(m: Exports): NativeAddon {
  const notHere = (what: string) => () => {
    throw new Error(`${what} measures OpenBLAS: the native backend only`);
  };
  const names = namesOf(m);
  const limits = JSON.parse(takeString(m, m.limits_json())) as Record<string, number>;
  return {
    blasInfo: () => 'portable 128-bit SIMD (WebAssembly, one thread)',
    limits: () => ({ ...limits }),
    Model: modelClass(m, names),
    parameterTable: parameterTableOf(m),
    matmulPlan: notHere('matmulPlan'),
    matmulSeconds: notHere('matmulSeconds'),
  };
}

/**
 * The engine of an instance of the module (its exports), initialized; throws an Error naming what
 * is missing when the instance is of another module (or an older build).
 */
export function wasmEngine(exports: object): NativeAddon {
  const m = exports as Exports;
  const missing = EXPORTS.filter((name) => !(name in m));
  if (missing.length > 0) throw new Error(`not rnn-native's WebAssembly module (it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  m._initialize();
  return wasmAddon(m);
}
