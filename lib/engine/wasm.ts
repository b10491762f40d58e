// The WebAssembly backend: wasm/rnn_native.wasm (scripts/build-wasm.sh: the addon's kernels,
// native/kernels/, with portable SIMD standing in for OpenBLAS, and its argument checks,
// native/checks.cc) behind the same NativeAddon interface as the addon, so lib/engine/backend.ts and
// lib/engine/model-backend.ts use it unchanged. It needs nothing but Node: the module imports nothing
// (no WASI functions are reached: it never prints, reads a clock or exits), so no node:wasi
// (experimental, and it warns).
//
// The module sees only its own memory. A call here reads the JavaScript values the addon reads,
// in the same order (the object arguments' property names come from the module), and writes each
// as a record (native/wasm.cc WasmValue), copying typed arrays in; the module checks them with the
// addon's C++ and runs the kernel. Its refusal is thrown as the addon throws it, and what the
// kernel wrote is copied back out. Nothing is checked here. One thread: Model.setThreads checks
// its argument and otherwise does nothing; results never depend on it.
import { existsSync, readFileSync, statSync } from 'fs';
import path from 'path';
import { types } from 'util';
import type { NativeAddon, NativeHyper, NativeLoad, NativeModel, StackedNativeModel, StackedNativeSpec, StackedOptimizerSettings } from './native';
import type { CellKind } from '../model/reference';
import { PACKAGE_ROOT } from '../util/package';

/** Where the build puts the module (shipped in the package: it is the same on every platform). */
export const WASM_FILE = path.join(PACKAGE_ROOT, 'wasm', 'rnn_native.wasm');

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
  model_advance(kept: number, values: number): number;
  model_sample(kept: number, values: number): number;
  model_set_threads(values: number): number;
  model_layout(values: number, json: number): number;
  vanilla_loss_and_gradients(values: number, loss: number): number;
  vanilla_train(values: number): number;
  vanilla_advance(values: number): number;
  vanilla_sample(values: number): number;
  vanilla_parameter_layout(values: number, json: number): number;
}

/** Every export used here: a module without one is another module (or an older build), refused when loaded. */
const EXPORTS: readonly (keyof Exports)[] = [
  'memory', '_initialize', 'malloc', 'free', 'refusal_message', 'property_names', 'limits_json', 'model_new',
  'model_forward_backward', 'model_optimize', 'model_advance', 'model_sample', 'model_set_threads', 'model_layout',
  'vanilla_loss_and_gradients', 'vanilla_train', 'vanilla_advance', 'vanilla_sample', 'vanilla_parameter_layout',
];

// ---- what the module's checks see of a value (native/checks.h Type) ----

const TYPE = { other: 0, undefined: 1, number: 2, boolean: 3, string: 4, object: 5, otherTypedArray: 12 } as const;
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
  if (types.isTypedArray(v)) return TYPED_ARRAY_TYPE[get<string>(GETTERS.tag, v)] ?? TYPE.otherTypedArray;
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
   * The records of `values` for a call, each typed array's bytes copied in (room only, for
   * those at the indices of `room`: arrays the kernel only writes); returns where the records
   * are, and each value's copy (0 when it has none).
   */
  values(values: readonly unknown[], room: readonly number[] = []): { at: number; copies: number[] } {
    const records = values.map((v, i) => this.record(v, room.includes(i)));
    const at = this.alloc(values.length * RECORD_BYTES);
    const view = new DataView(this.m.memory.buffer);
    records.forEach((r, i) => {
      const base = at + i * RECORD_BYTES;
      view.setInt32(base, r.type, true);
      view.setUint32(base + 4, r.data, true);
      view.setFloat64(base + 8, r.number, true);
      view.setFloat64(base + 16, r.length, true);
      view.setFloat64(base + 24, r.address, true);
    });
    return { at, copies: records.map((r) => (r.type >= 6 ? r.data : 0)) };
  }

  private record(v: unknown, roomOnly: boolean) {
    const type = typeOf(v);
    const r = { type, data: 0, number: 0, length: 0, address: 0 };
    if (type === TYPE.number) r.number = v as number;
    if (type === TYPE.boolean) r.number = v ? 1 : 0;
    if (type === TYPE.string) {
      const utf8 = Buffer.from(v as string, 'utf8');
      [r.data, r.length] = [this.alloc(utf8.length, utf8), utf8.length];
    }
    if (type >= 6) {
      const bytes = bytesOf(v);
      r.data = this.alloc(bytes.byteLength, roomOnly ? undefined : bytes);
      r.length = get<number>(GETTERS.length, v);
      const buffer = get<unknown>(GETTERS.buffer, v);
      if (!this.buffers.has(buffer)) this.buffers.set(buffer, this.buffers.size + 1);
      r.address = this.buffers.get(buffer)! * 2 ** 40 + get<number>(GETTERS.byteOffset, v);
    }
    return r;
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
    if (error instanceof wasmApi.RuntimeError) throw new Error('rnn-native: out of memory');
    throw error;
  } finally {
    heap.freeAll();
  }
}

/** A NUL-terminated string of the module's memory. */
function stringAt(m: Exports, pointer: number): string {
  const bytes = new Uint8Array(m.memory.buffer, pointer);
  return Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString('utf8');
}

/** A string the module allocated, read and freed. */
function takeString(m: Exports, pointer: number): string {
  if (pointer === 0) throw new Error('rnn-native: out of memory');
  const text = stringAt(m, pointer);
  m.free(pointer);
  return text;
}

/** Throws a call's refusal as the addon does: 1 TypeError; 2 RangeError (3: the kernel ran, then refused). */
function throwRefusal(m: Exports, status: number): void {
  if (status === 0) return;
  const message = stringAt(m, m.refusal_message());
  throw status === 1 ? new TypeError(message) : new RangeError(message);
}

/** JSON the module wrote at *pointer (model_layout, vanilla_parameter_layout). */
function takeJson(m: Exports, pointer: number) {
  return JSON.parse(takeString(m, new Uint32Array(m.memory.buffer, pointer, 1)[0]));
}

// ---- the model object ----

/** The property names of the module's object arguments (native/checks.h), asked once. */
interface Names {
  spec: readonly string[];
  settings: readonly string[];
  model: readonly string[];
  options: readonly string[];
}

function namesOf(m: Exports): Names {
  const names = (which: number) => takeString(m, m.property_names(which)).split(',');
  return { spec: names(0), settings: names(1), model: names(2), options: names(3) };
}

function modelClass(m: Exports, names: Names) {
  /** Where the spec's arrays are among its values, in the records' order: params, grads, h, c. */
  const ARRAYS = ['params', 'grads', 'h', 'c'].map((name) => 1 + names.spec.indexOf(name));
  const GRADS = [1]; // only written by the kernel (every gradient of forwardBackward), never read

  return class Model implements StackedNativeModel {
    /** The checked spec as the module keeps it: cell, vocab, hidden, layers, streams, seqLength. */
    readonly #kept = new Int32Array(6);
    /** The spec's arrays as given, checked again at each call (one may be detached or resized since). */
    readonly #arrays: unknown[];

    constructor(spec: StackedNativeSpec) {
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
        const { at, copies } = heap.values([...arrays, x, y, gradients, dropout, seed, update], GRADS);
        const loss = heap.alloc(8);
        throwRefusal(m, m.model_forward_backward(heap.int32(kept), at, loss));
        if (gradients) heap.read(copies[1], arrays[1]);
        heap.read(copies[2], arrays[2]);
        heap.read(copies[3], arrays[3]);
        return new Float64Array(m.memory.buffer, loss, 1)[0];
      });
    }

    optimize(settings: StackedOptimizerSettings, second: Float32Array, first: Float32Array, step: number): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      const settingsValues = objectValues(settings, names.settings);
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, ...settingsValues, second, first, step]);
        throwRefusal(m, m.model_optimize(heap.int32(kept), at));
        const secondAt = arrays.length + settingsValues.length;
        heap.read(copies[0], arrays[0]);
        heap.read(copies[secondAt], second);
        heap.read(copies[secondAt + 1], first);
      });
    }

    advance(symbols: Int32Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, symbols], GRADS);
        throwRefusal(m, m.model_advance(heap.int32(kept), at));
        heap.read(copies[2], arrays[2]);
        heap.read(copies[3], arrays[3]);
      });
    }

    sample(first: number, temperature: number, rng: Uint32Array, out: Int32Array): void {
      const [kept, arrays] = [this.#kept, this.#arrays];
      withHeap(m, (heap) => {
        const { at, copies } = heap.values([...arrays, first, temperature, rng, out], [...GRADS, 7]);
        throwRefusal(m, m.model_sample(heap.int32(kept), at));
        for (const i of [2, 3]) heap.read(copies[i], arrays[i]);
        heap.read(copies[6], rng);
        heap.read(copies[7], out);
      });
    }

    /** One thread only: checked as the addon checks it, then nothing to set (see the file's head). */
    setThreads(threads: number): void {
      void this.#kept;
      withHeap(m, (heap) => throwRefusal(m, m.model_set_threads(heap.values([threads]).at)));
    }
  };
}

function stackedLayoutOf(m: Exports) {
  return (cell: CellKind, vocab: number, hidden: number, layers: number) =>
    withHeap(m, (heap) => {
      const json = heap.alloc(4);
      throwRefusal(m, m.model_layout(heap.values([cell, vocab, hidden, layers]).at, json));
      return takeJson(m, json);
    });
}

// ---- the vanilla model's exports, until lib/ trains it through Model ----

function vanilla(m: Exports, names: Names) {
  /** Where a model array is among the model's values (the model first, then its properties). */
  const at = (name: string) => 1 + names.model.indexOf(name);
  const [PARAMS, STATE, GRADS, ACCUM] = ['params', 'state', 'grads', 'accum'].map(at);

  return {
    lossAndGradients(model: NativeModel, inputs: Int32Array, targets: Int32Array): number {
      const values = objectValues(model, names.model);
      return withHeap(m, (heap) => {
        const { at: records, copies } = heap.values([...values, inputs, targets], [GRADS]);
        const loss = heap.alloc(8);
        throwRefusal(m, m.vanilla_loss_and_gradients(records, loss));
        heap.read(copies[GRADS], values[GRADS]);
        heap.read(copies[STATE], values[STATE]);
        return new Float64Array(m.memory.buffer, loss, 1)[0];
      });
    },

    train(model: NativeModel, corpus: Uint8Array | Uint16Array, walk: Float64Array, options: NativeHyper, losses: Float64Array): void {
      const values = objectValues(model, names.model);
      const optionValues = objectValues(options, names.options);
      withHeap(m, (heap) => {
        const all = [...values, corpus, walk, ...optionValues, losses];
        const { at: records, copies } = heap.values(all);
        const status = m.vanilla_train(records);
        // 3: a corpus symbol outside the vocabulary stopped the walk; what it did stands.
        if (status === 0 || status === 3) {
          for (const i of [PARAMS, GRADS, ACCUM, STATE, values.length + 1, all.length - 1]) heap.read(copies[i], all[i]);
        }
        throwRefusal(m, status);
      });
    },

    advance(model: NativeModel, inputs: Int32Array): void {
      const values = objectValues(model, names.model);
      withHeap(m, (heap) => {
        const { at: records, copies } = heap.values([...values, inputs]);
        throwRefusal(m, m.vanilla_advance(records));
        heap.read(copies[STATE], values[STATE]);
      });
    },

    sample(model: NativeModel, first: number, temperature: number, rng: Uint32Array, out: Int32Array): void {
      const values = objectValues(model, names.model);
      withHeap(m, (heap) => {
        const { at: records, copies } = heap.values([...values, first, temperature, rng, out], [values.length + 3]);
        throwRefusal(m, m.vanilla_sample(records));
        heap.read(copies[STATE], values[STATE]);
        heap.read(copies[values.length + 2], rng);
        heap.read(copies[values.length + 3], out);
      });
    },

    parameterLayout(hidden: number, vocab: number) {
      return withHeap(m, (heap) => {
        const json = heap.alloc(4);
        throwRefusal(m, m.vanilla_parameter_layout(heap.values([hidden, vocab]).at, json));
        return takeJson(m, json);
      });
    },
  };
}

/** The addon's interface over an instantiated module. */
function wasmAddon(m: Exports): NativeAddon {
  const notHere = (what: string) => () => {
    throw new Error(`${what} measures OpenBLAS: the native backend only`);
  };
  const names = namesOf(m);
  const limits = JSON.parse(takeString(m, m.limits_json())) as Record<string, number>;
  return {
    ...vanilla(m, names),
    blasInfo: () => 'portable 128-bit SIMD (WebAssembly, one thread)',
    limits: () => ({ ...limits }),
    Model: modelClass(m, names),
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
