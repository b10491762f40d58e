// Boundary fuzz of the native addon: every export called with seeded random arguments (wrong
// types and lengths, NaN/±Inf/-0, huge integers, detached / shared / resizable buffers,
// out-of-vocabulary symbols, aliasing buffers, getters and proxies that throw or detach):
// new Model(spec) (spec buffers packed adjacent or overlapping in one buffer), its methods on a
// model made from a valid spec (then a spec buffer detached or resized, or a wrong `this`),
// parameterTable (checked against the reference's table) and blasInfo.
// Only TypeError / RangeError (or Error "rnn-native: out of memory") may come back, the process
// must not crash, and valid calls afterwards must give bit-identical results to before.
//
//   npx ts-node -P tsconfig.json scripts/fuzz-native.ts            # 200,000 calls, seed 1
//   RNN_FUZZ_CALLS=1000000 RNN_FUZZ_SEED=7 npx ts-node -P tsconfig.json scripts/fuzz-native.ts
//   RNN_FUZZ_SEED=7 RNN_FUZZ_ONLY=1234 ... scripts/fuzz-native.ts --worker   # replay one call, described
//
// The calls run in a child process (the worker), so that a crash shows as an exit signal or
// code; the worker records the iteration it is in before each call, and the parent reports the
// seed and iteration. Each iteration draws from its own generator (seed, iteration), so one
// iteration replays alone with RNN_FUZZ_ONLY. RNN_NATIVE_ADDON (lib/engine/native.ts) selects another
// build of the addon, e.g. the sanitized one. RNN_FUZZ_BACKEND=wasm fuzzes the WebAssembly
// backend's entry points (lib/engine/wasm.ts) instead of the addon's.
import { spawnSync } from 'child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { CompiledBackend, loadCompiled, NativeAddon, CompiledModel, CompiledModelSpec } from '../lib/engine/native';
import { Rng } from '../lib/util/random';
import { CellKind, parameterTable, ModelShape } from '../lib/model/reference';

/** A generator-state slot: 4 words, sometimes broken as any slot, sometimes all zero (refused too). */
function rngSlot(g: Gen, p: number): Arg {
  const arg = g.slot(Uint32Array, 4, (i) => 1 + i * 77, p, () => 0);
  if (g.chance(p / 2) && arg.v instanceof Uint32Array) {
    try {
      arg.v.fill(0);
      arg.d += ' all zero';
    } catch {
      // detached or out of bounds (V8 may still report a length)
    }
  }
  return arg;
}

/** Thrown by the fuzz's own getters and proxy traps; the addon must pass it through unchanged. */
export class FuzzThrow extends Error {
  override name = 'FuzzThrow';
}

/** The model: its constructor, its methods (on a model made from a valid spec) and its layout. */
type ModelMethod = 'forwardBackward' | 'optimize' | 'train' | 'advance' | 'sample';
type ModelFn = 'new Model' | `Model.${ModelMethod}` | 'parameterTable';
type Fn = 'blasInfo' | ModelFn;
const FNS: Fn[] = [
  'new Model', 'new Model', 'Model.forwardBackward', 'Model.forwardBackward', 'Model.optimize',
  'Model.optimize', 'Model.train', 'Model.train', 'Model.advance', 'Model.sample', 'parameterTable', 'blasInfo',
];

const NUMBERS = [
  0, -0, 1, -1, 0.5, 2.5, -2.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 1,
  2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, -1e300, 5e-324, 1e-38, 1.1754943508222875e-38, 3.4028234663852886e38, 3.5e38,
  Number.MAX_VALUE, 8192, 8193, 65536, 65537, 2 ** 20, 2 ** 20 + 1, 300, 257, 256, 255, 1e9,
];

const CTORS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array,
] as const;
type Ctor = (typeof CTORS)[number];
type AnyTyped = InstanceType<Ctor>;

/** A generated argument and how to read it in a report. */
interface Arg {
  v: unknown;
  d: string;
}

const seedOf = (seed: number, iteration: number) => seed * 2 ** 22 + iteration;
export const MAX_ITERATIONS = 2 ** 22;

class Gen {
  readonly rng: Rng;
  /** Every typed array made for this call, for aliasing and for getters that detach. */
  readonly arrays: { a: AnyTyped; d: string }[] = [];
  /** True once anything makes the outputs unpredictable (aliasing, getters, proxies). */
  tainted = false;

  constructor(seed: number, iteration: number) {
    this.rng = Rng.fromSeed(seedOf(seed, iteration));
  }

  int(n: number): number {
    return Math.floor(this.rng.uniform() * n);
  }

  chance(p: number): boolean {
    return this.rng.uniform() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  number(): Arg {
    const v = this.pick(NUMBERS);
    return { v, d: Object.is(v, -0) ? '-0' : String(v) };
  }

  /** Anything but a number or a typed array. */
  other(): Arg {
    const options: (() => Arg)[] = [
      () => ({ v: '', d: "''" }),
      () => ({ v: '4', d: "'4'" }),
      () => ({ v: 'abc', d: "'abc'" }),
      () => ({ v: null, d: 'null' }),
      () => ({ v: undefined, d: 'undefined' }),
      () => ({ v: true, d: 'true' }),
      () => ({ v: {}, d: '{}' }),
      () => ({ v: [], d: '[]' }),
      () => ({ v: [1, 2, 3], d: '[1,2,3]' }),
      () => ({ v: () => 1, d: '() => 1' }),
      () => ({ v: Symbol('x'), d: 'Symbol()' }),
      () => ({ v: 10n, d: '10n' }),
      () => ({ v: new Number(3), d: 'new Number(3)' }),
      () => ({ v: new String('3'), d: "new String('3')" }),
      () => ({ v: new Date(0), d: 'new Date(0)' }),
      () => ({ v: Object.create(null), d: 'Object.create(null)' }),
      () => ({ v: new ArrayBuffer(16), d: 'new ArrayBuffer(16)' }),
      () => ({ v: new SharedArrayBuffer(16), d: 'new SharedArrayBuffer(16)' }),
      () => ({ v: new DataView(new ArrayBuffer(16)), d: 'new DataView(new ArrayBuffer(16))' }),
      () => ({ v: new Map(), d: 'new Map()' }),
      () => ({ v: { valueOf: () => 3 }, d: '{valueOf: () => 3}' }),
    ];
    return this.pick(options)();
  }

  /** A wrong value for any slot: a number, another type, or a typed array of any kind. */
  wrong(): Arg {
    const r = this.int(3);
    if (r === 0) return this.number();
    if (r === 1) return this.other();
    const ctor = this.pick(CTORS);
    return this.typed(ctor, this.pick([0, 1, 2, 4, 7, 33]), 'any');
  }

  /**
   * A typed array of `ctor` and `length` filled by `fill` (index → value), in one of the
   * memory layouts: plain, offset view, SharedArrayBuffer, resizable (tracking or fixed).
   */
  typed(ctor: Ctor, length: number, fill: ((i: number) => number) | 'any', layout = this.int(6)): Arg {
    const bpe = ctor.BYTES_PER_ELEMENT;
    let a: AnyTyped;
    let d: string;
    if (layout === 1) {
      const offset = 1 + this.int(3);
      a = new ctor(new ArrayBuffer((length + offset + this.int(3)) * bpe), offset * bpe, length);
      d = `new ${ctor.name}(new ArrayBuffer(...), ${offset * bpe}, ${length})`;
    } else if (layout === 2) {
      a = new ctor(new SharedArrayBuffer(length * bpe) as unknown as ArrayBuffer, 0, length);
      d = `new ${ctor.name}(new SharedArrayBuffer(${length * bpe}))`;
    } else if (layout === 3) {
      const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(length * bpe, {
        maxByteLength: length * bpe * 4 + 64,
      });
      a = new ctor(rab);
      d = `new ${ctor.name}(resizable ArrayBuffer(${length * bpe}), length-tracking)`;
    } else if (layout === 4) {
      const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(length * bpe, {
        maxByteLength: length * bpe * 4 + 64,
      });
      a = new ctor(rab, 0, length);
      d = `new ${ctor.name}(resizable ArrayBuffer(${length * bpe}), 0, ${length})`;
    } else {
      a = new ctor(length);
      d = `new ${ctor.name}(${length})`;
    }
    if (fill !== 'any') {
      for (let i = 0; i < length; i++) {
        const x = fill(i);
        (a as unknown as number[])[i] = (a instanceof BigInt64Array || a instanceof BigUint64Array ? (Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n) : x) as number;
      }
    }
    this.arrays.push({ a, d });
    return { v: a, d };
  }

  /**
   * A typed-array slot: valid (ctor, length, fill) most of the time, else broken in one way:
   * another kind, another length, detached, out of bounds after a resize, NaN/Inf content,
   * a bad value from `badFill`, or not a typed array at all.
   */
  slot(ctor: Ctor, length: number, fill: (i: number) => number, p: number, badFill?: () => number): Arg {
    if (!this.chance(p)) return this.typed(ctor, length, fill);
    switch (this.int(9)) {
      case 0:
        return this.wrong();
      case 1: {
        const other = this.pick(CTORS.filter((c) => c !== ctor));
        return this.typed(other, length, 'any');
      }
      case 2: {
        const lengths = [0, 1, length - 1, length + 1, 2 * length, length + 1000].filter((n) => n >= 0 && n !== length);
        return this.typed(ctor, this.pick(lengths), fill);
      }
      case 3: {
        const arg = this.typed(ctor, length, fill);
        const buffer = (arg.v as AnyTyped).buffer;
        if (buffer instanceof SharedArrayBuffer) return arg;
        structuredClone(buffer, { transfer: [buffer] });
        return { v: arg.v, d: `detached ${arg.d}` };
      }
      case 4: {
        // A resizable buffer shrunk (fixed view out of bounds) or grown (tracking view longer).
        const arg = this.typed(ctor, length, fill, this.pick([3, 4]));
        const buffer = (arg.v as AnyTyped).buffer as ArrayBuffer & { resize(n: number): void };
        const bytes = this.pick([0, 1, Math.max(0, (length - 1) * ctor.BYTES_PER_ELEMENT), (length + 1) * ctor.BYTES_PER_ELEMENT]);
        buffer.resize(bytes);
        return { v: arg.v, d: `${arg.d} resized to ${bytes} bytes` };
      }
      case 5: {
        const special = this.pick([NaN, Infinity, -Infinity, -0, 3.4e38, 1e-45]);
        return this.typed(ctor, length, () => special);
      }
      case 6:
      case 7:
        if (badFill) {
          const bad = badFill();
          const at = this.int(Math.max(1, length));
          const arg = this.typed(ctor, length, (i) => (i === at ? bad : fill(i)));
          return { v: arg.v, d: `${arg.d} with [${at}] = ${bad}` };
        }
        return this.typed(ctor, length, fill);
      default: {
        // A plain array holding the right numbers.
        const values = Array.from({ length }, (_, i) => fill(i));
        return { v: values, d: `[${length} numbers]` };
      }
    }
  }

  /** A number slot: `valid` most of the time, else a special number or another type. */
  scalar(valid: number, p: number): Arg {
    if (!this.chance(p)) return { v: valid, d: String(valid) };
    return this.chance(0.75) ? this.number() : this.other();
  }

  /**
   * An object {key: value} in one of the forms: plain, missing keys, inherited, getters (that
   * throw, detach or resize another buffer, or answer differently each time), a Proxy, or not
   * an object at all.
   */
  object(fields: Record<string, Arg>, p: number): Arg {
    const keys = Object.keys(fields);
    const plain = () => Object.fromEntries(keys.map((k) => [k, fields[k].v]));
    const body = () => keys.map((k) => `${k}: ${fields[k].d}`).join(', ');
    if (!this.chance(p)) return { v: plain(), d: `{${body()}}` };
    this.tainted = true;
    switch (this.int(7)) {
      case 0:
        return this.wrong();
      case 1: {
        const drop = this.pick(keys);
        const o = plain();
        delete o[drop];
        return { v: o, d: `{${body()}} without ${drop}` };
      }
      case 2:
        return { v: Object.create(plain()), d: `Object.create({${body()}})` };
      case 3:
      case 4: {
        const key = this.pick(keys);
        const o = plain();
        const action = this.getterAction();
        Object.defineProperty(o, key, {
          enumerable: true,
          get: () => {
            action.run();
            return fields[key].v;
          },
        });
        return { v: o, d: `{${body()}} with get ${key}() { ${action.d} }` };
      }
      case 5: {
        let count = 0;
        const key = this.pick(keys);
        const alternative = this.number().v;
        const o = plain();
        Object.defineProperty(o, key, { enumerable: true, get: () => (count++ === 0 ? fields[key].v : alternative) });
        return { v: o, d: `{${body()}} with ${key} then ${String(alternative)}` };
      }
      default: {
        const action = this.getterAction();
        const key = this.pick(keys);
        const proxy = new Proxy(plain(), {
          get(target, property, receiver) {
            if (property === key) action.run();
            return Reflect.get(target, property, receiver);
          },
        });
        return { v: proxy, d: `Proxy({${body()}}) running { ${action.d} } on get ${key}` };
      }
    }
  }

  /** What a getter does before answering: throw, detach a buffer, or resize one. */
  private getterAction(): { run: () => void; d: string } {
    const kind = this.int(3);
    if (kind === 0 || this.arrays.length === 0) return { run: () => { throw new FuzzThrow('from a getter'); }, d: 'throw' };
    const target = this.pick(this.arrays);
    if (kind === 1) {
      return {
        run: () => {
          const buffer = target.a.buffer;
          if (!(buffer instanceof SharedArrayBuffer) && buffer.byteLength > 0) structuredClone(buffer, { transfer: [buffer] });
        },
        d: `detach the buffer of ${target.d}`,
      };
    }
    return {
      run: () => {
        const buffer = target.a.buffer as ArrayBuffer & { resizable?: boolean; resize?(n: number): void };
        try {
          if (buffer.resizable) buffer.resize!(0);
        } catch {
          // already detached
        }
      },
      d: `resize the buffer of ${target.d} to 0 (when resizable)`,
    };
  }

  /** Replaces a typed-array argument with a view of another argument's memory. */
  alias(args: Arg[], typedSlots: number[]): void {
    if (typedSlots.length === 0 || this.arrays.length < 2) return;
    this.tainted = true;
    const slot = this.pick(typedSlots);
    const current = args[slot].v;
    const source = this.pick(this.arrays);
    if (!ArrayBuffer.isView(current) || this.chance(0.4)) {
      args[slot] = { v: source.a, d: `the same array as ${source.d}` };
      return;
    }
    const ctor = (current as AnyTyped).constructor as Ctor;
    const bytes = source.a.buffer.byteLength;
    const bpe = ctor.BYTES_PER_ELEMENT;
    const length = (current as AnyTyped).length;
    const offset = this.int(Math.max(1, Math.floor(bytes / bpe))) * bpe;
    const fits = Math.min(length, Math.floor((bytes - offset) / bpe));
    if (fits < 0) return;
    try {
      args[slot] = { v: new ctor(source.a.buffer, offset, fits), d: `new ${ctor.name}(buffer of ${source.d}, ${offset}, ${fits})` };
    } catch {
      // A detached or shrunk source buffer: alias the array itself.
      args[slot] = { v: source.a, d: `the same array as ${source.d}` };
    }
  }
}

type SpecBuffer = 'params' | 'grads' | 'h' | 'c';

/** `this` values a Model method must refuse (TypeError), by how they read in a report. */
const WRONG_THIS = {
  '{}': () => ({}),
  undefined: () => undefined,
  'Model.prototype': (prototype: object) => prototype,
  'Object.create(Model.prototype)': (prototype: object) => Object.create(prototype),
};
const SPEC_BUFFERS: SpecBuffer[] = ['params', 'grads', 'h', 'c'];

interface Call {
  fn: Fn;
  args: Arg[];
  /** A valid sample call whose output can be checked against the vocabulary. */
  check?: { K: number; out: Int32Array };
  /**
   * Model methods: the model they run on, made from a valid spec before the call (a
   * refusal is a failure), then `after` run on it (detach or resize one of its buffers), and
   * the method called on `self` instead of the model when given (a wrong `this`).
   */
  model?: { spec: Arg; after?: { run: () => void; d: string }; self?: keyof typeof WRONG_THIS };
  /**
   * new Model: the spec's buffers as generated, and its streams. A model made without
   * error must hold four disjoint buffers and take a valid one-step forwardBackward.
   */
  made?: { buffers: Record<SpecBuffer, unknown>; streams: number };
  /** parameterTable with valid arguments: the table lib/model/reference.ts computes. */
  layout?: ModelShape;
}

/** The arguments of iteration `iteration`: valid ones, then a few of them broken. */
export function makeCall(seed: number, iteration: number): Call {
  const g = new Gen(seed, iteration);
  const fn = g.pick(FNS);
  // Mostly one broken thing, sometimes several, sometimes none (a valid call).
  const p = g.pick([0, 0.1, 0.2, 0.4]);
  if (fn !== 'blasInfo') return makeModelCall(g, fn, seed, p);
  return { fn, args: g.chance(0.5) ? [g.wrong()] : [] };
}

const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];

/** A cell name: valid, or a near miss, a String object or another type. */
function cellArg(g: Gen, cell: CellKind, p: number): Arg {
  if (!g.chance(p)) return { v: cell, d: `'${cell}'` };
  const r = g.int(3);
  if (r === 0) return g.wrong();
  if (r === 1) return { v: new String(cell), d: `new String('${cell}')` };
  const v = g.pick(['RNN', ' lstm', 'gru\0', 'lstm\0x', 'rn', 'rnnn', '', 'adam', '\u{1F600}']);
  return { v, d: JSON.stringify(v) };
}

/** A number slot: one of `valid` most of the time, else one of `bad`, a special number or another type. */
function pickedNumber(g: Gen, valid: number[], bad: number[], p: number): Arg {
  if (!g.chance(p)) {
    const v = g.pick(valid);
    return { v, d: Object.is(v, -0) ? '-0' : String(v) };
  }
  if (g.chance(0.5)) {
    const v = g.pick(bad);
    return { v, d: Object.is(v, -0) ? '-0' : String(v) };
  }
  return g.chance(0.6) ? g.number() : g.other();
}

/**
 * The four Float32Arrays of a spec in one buffer, one after the other with a gap between
 * neighbours of 0 floats (adjacent: valid), 1 (apart) or −1 / −4 (overlapping: refused).
 */
function packedBuffers(g: Gen, lengths: number[], fills: ((i: number) => number)[]): Arg[] {
  const offsets: number[] = [];
  let at = 0;
  const gaps = lengths.map(() => g.pick([0, 0, 1, -1, -4]));
  for (let i = 0; i < lengths.length; i++) {
    offsets.push(at);
    at = Math.max(0, at + lengths[i] + gaps[i]);
  }
  const floats = Math.max(...lengths.map((n, i) => offsets[i] + n));
  const shared = g.chance(0.3);
  const buffer = shared ? new SharedArrayBuffer(floats * 4) : new ArrayBuffer(floats * 4);
  return lengths.map((n, i) => {
    const a = new Float32Array(buffer as ArrayBuffer, offsets[i] * 4, n);
    for (let k = 0; k < n; k++) a[k] = fills[i](k);
    const d = `new Float32Array(one ${shared ? 'Shared' : ''}ArrayBuffer(${floats * 4}), ${offsets[i] * 4}, ${n})`;
    g.arrays.push({ a, d });
    return { v: a, d };
  });
}

/** The model's calls: the constructor's spec, a method's arguments, or parameterTable's. */
function makeModelCall(g: Gen, fn: ModelFn, seed: number, p: number): Call {
  if (fn === 'parameterTable') return makeLayoutCall(g, p);
  const method = fn === 'new Model' ? undefined : (fn.slice('Model.'.length) as ModelMethod);
  const cell = g.pick(CELLS);
  const K = g.pick([1, 2, 3, 7, 65, 256, 257]);
  const m = g.pick([1, 2, 3, 5, 8, 16]);
  const L = g.pick([1, 1, 2, 3]);
  const oneStream = method === 'advance' || method === 'sample';
  const B = oneStream && g.chance(0.9) ? 1 : g.pick([1, 2, 3, 4]);
  const T = g.pick([1, 2, 3, 5, 9]);
  const P = parameterTable({ cell, vocab: K, hidden: m, layers: L }).total;
  const S = L * B * m;
  const weight = (i: number) => Math.fround(Math.sin(i * 12.9898 + seed) * 0.3);
  const carried = (i: number) => Math.fround(Math.cos(i * 3.7 + seed) * 0.5);
  const zero = () => 0;
  const symbol = (i: number) => (i * 7 + 3) % K;
  const oov = () => g.pick([K, K + 1, -1, 2 ** 31 - 1, -(2 ** 31), 65536]);

  // The spec: valid for a method call (its model must be made), fuzzed for the constructor.
  const q = method ? 0 : p;
  const lengths = [P, P, S, S];
  const fills = [weight, zero, carried, carried];
  let buffers: Arg[];
  if (g.chance(q / 2)) {
    buffers = packedBuffers(g, lengths, fills);
  } else {
    buffers = lengths.map((n, i) => g.slot(Float32Array, n, fills[i], q));
    if (g.chance(q)) g.alias(buffers, [0, 1, 2, 3]);
  }
  const fields: Record<string, Arg> = {
    cell: cellArg(g, cell, q),
    vocab: g.scalar(K, q),
    hidden: g.scalar(m, q),
    layers: g.scalar(L, q),
    streams: g.scalar(B, q),
    seqLength: g.scalar(T, q),
  };
  SPEC_BUFFERS.forEach((key, i) => (fields[key] = buffers[i]));
  const spec = g.object(fields, q);

  if (!method) {
    const args: Arg[] = [spec];
    if (g.chance(q / 3)) {
      if (g.chance(0.5)) args.length = 0;
      else args.push(g.wrong());
    }
    const made = { buffers: Object.fromEntries(SPEC_BUFFERS.map((key) => [key, fields[key].v])) as Record<SpecBuffer, unknown>, streams: B };
    return { fn, args, made };
  }

  // The model is made; the method's arguments are fuzzed from here on (getters may still detach its buffers).
  g.tainted = false;
  const model: NonNullable<Call['model']> = { spec };
  if (g.chance(p / 2)) {
    const key = g.pick(SPEC_BUFFERS);
    const a = fields[key].v as Float32Array;
    const buffer = a.buffer as ArrayBuffer & { resizable?: boolean; resize?(n: number): void };
    const bytes = g.pick([0, a.byteLength - 4, a.byteLength + 4, a.byteLength * 2]);
    model.after = {
      run: () => {
        if (buffer instanceof SharedArrayBuffer) return;
        if (buffer.resizable && bytes >= 0 && bytes <= (buffer as unknown as { maxByteLength: number }).maxByteLength) buffer.resize!(bytes);
        else structuredClone(buffer, { transfer: [buffer] });
      },
      d: `resize spec.${key}'s buffer to ${bytes} bytes if resizable, else detach it`,
    };
    g.tainted = true;
  }
  if (g.chance(p / 4)) {
    model.self = g.pick(Object.keys(WRONG_THIS) as (keyof typeof WRONG_THIS)[]);
  }

  const args: Arg[] = [];
  const typedSlots: number[] = [];
  switch (method) {
    case 'forwardBackward': {
      const steps = 1 + g.int(T);
      args.push(...symbolBlocks(g, p, 1, steps, B, T, symbol, oov));
      typedSlots.push(0, 1);
      args.push(flagArg(g, p));
      args.push(pickedNumber(g, [0, -0, 0.1, 0.5, 0.9999999], [1, -1e-300, -0.1, 1.0000001, NaN, Infinity], p));
      args.push(pickedNumber(g, [0, 1, -1, 12345, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1)], [2 ** 53, -(2 ** 53), 0.5, NaN, Infinity], p));
      args.push(pickedNumber(g, [0, 1, 7, 2 ** 31, 2 ** 53 - 1], [-1, -0.5, 0.5, 2 ** 53, NaN, -Infinity], p));
      break;
    }
    case 'optimize': {
      const { settings, kind } = settingsArg(g, p);
      args.push(settings);
      args.push(...optimizerStateArgs(g, p, kind, P));
      args.push(pickedNumber(g, [1, 2, 1000, 2 ** 53 - 1], [0, -1, 0.5, 2 ** 53, NaN], p));
      typedSlots.push(1, 2);
      break;
    }
    case 'train': {
      const [count, steps] = [1 + g.int(3), 1 + g.int(T)];
      args.push(...symbolBlocks(g, p, count, steps, B, T, symbol, oov));
      args.push(g.slot(Float64Array, g.chance(p) ? g.pick([0, count + 1, count - 1]) : count, zero, p));
      args.push(flagArg(g, p));
      args.push(pickedNumber(g, [0, 0.3, 0.9999999], [1, -0.1, NaN], p));
      args.push(pickedNumber(g, [0, 1, -1, 2 ** 53 - 1], [2 ** 53, 0.5, NaN], p));
      args.push(pickedNumber(g, [1, 7, 2 ** 53 - count], [0, -1, 0.5, 2 ** 53 - count + 1, NaN], p));
      const { settings, kind } = settingsArg(g, p);
      args.push(settings);
      args.push(...optimizerStateArgs(g, p, kind, P));
      typedSlots.push(0, 1, 2, 8, 9);
      break;
    }
    case 'advance':
      args.push(g.slot(Int32Array, g.int(2 * T + 1), symbol, p, oov));
      typedSlots.push(0);
      break;
    case 'sample': {
      args.push(pickedNumber(g, [0, K - 1, g.int(K)], [K, -1, 0.5, -0.5], p));
      args.push(pickedNumber(g, [0, -0, 0.5, 1, 2, 1e-300, 1e300, 5e-324], [-1e-300, -1, NaN, Infinity], p));
      args.push(rngSlot(g, p));
      args.push(g.slot(Int32Array, g.int(64), zero, p));
      typedSlots.push(2, 3);
      break;
    }
  }
  if (g.chance(p)) g.alias(args, typedSlots);
  if (g.chance(p / 3)) {
    if (g.chance(0.5)) args.length = g.int(args.length);
    else args.push(g.wrong());
  }
  const call: Call = { fn, args, model };
  if (method === 'sample' && B === 1 && !g.tainted && args.length === 4 && args[3].v instanceof Int32Array) call.check = { K, out: args[3].v };
  return call;
}

/** x and y of `count` blocks of steps × B symbols, their lengths sometimes wrong. */
function symbolBlocks(g: Gen, p: number, count: number, steps: number, B: number, T: number, symbol: (i: number) => number, oov: () => number): Arg[] {
  const right = count * steps * B;
  const n = g.chance(p) ? g.pick([0, count * B * (T + 1), right + 1, right - 1].filter((k) => k >= 0)) : right;
  const y = g.chance(p) ? g.pick([0, n + 1, Math.max(0, n - 1)]) : n;
  return [g.slot(Int32Array, n, symbol, p, oov), g.slot(Int32Array, y, (i) => symbol(i + 1), p, oov)];
}

/** A boolean, or something a boolean check must refuse. */
function flagArg(g: Gen, p: number): Arg {
  const flag = g.chance(0.5);
  if (!g.chance(p)) return { v: flag, d: String(flag) };
  const wrongFlags = [() => g.wrong(), () => ({ v: new Boolean(flag), d: `new Boolean(${flag})` }), () => ({ v: 1, d: '1' }), () => ({ v: 'true', d: "'true'" })];
  return g.pick(wrongFlags)();
}

/** The optimizer's settings object, its fields sometimes wrong. */
function settingsArg(g: Gen, p: number): { settings: Arg; kind: 'adagrad' | 'rmsprop' | 'adam' } {
  const kind = g.pick(['adagrad', 'rmsprop', 'adam'] as const);
  const wrongKinds = [() => g.wrong(), () => ({ v: 'Adam', d: "'Adam'" }), () => ({ v: 'sgd', d: "'sgd'" }), () => ({ v: new String(kind), d: `new String('${kind}')` })];
  const settings = g.object(
    {
      kind: g.chance(p) ? g.pick(wrongKinds)() : { v: kind, d: `'${kind}'` },
      eta: pickedNumber(g, [0.1, 2e-3, 1.1754943508222875e-38, 3.4028234663852886e38], [0, -0.1, 1e-39, 3.5e38, NaN], p),
      epsilon: pickedNumber(g, [1e-8, 1], [0, -1e-8, 5e-324], p),
      clip: pickedNumber(g, [5, 1e-3], [0, -5, Infinity], p),
      decay: pickedNumber(g, [0, 0.95, 0.9999999], [1, -0.1, NaN], p),
      beta1: pickedNumber(g, [0, 0.9], [1, -0.1, Infinity], p),
      beta2: pickedNumber(g, [0, 0.999], [1, 1.5, NaN], p),
    },
    p
  );
  return { settings, kind };
}

/** second and first of P floats (first empty but for Adam, sometimes). */
function optimizerStateArgs(g: Gen, p: number, kind: string, P: number): Arg[] {
  return [g.slot(Float32Array, P, (i) => (i % 3) * 0.25, p, () => g.pick([-1, NaN, Infinity])), g.slot(Float32Array, kind === 'adam' ? P : g.pick([0, P]), () => 0, p)];
}

/** parameterTable(cell, vocab, hidden, layers), with sizes up to the limits. */
function makeLayoutCall(g: Gen, p: number): Call {
  const shape: ModelShape = {
    cell: g.pick(CELLS),
    vocab: g.pick([1, 3, 257, 65536]),
    hidden: g.pick([1, 5, 64, 8192]),
    layers: g.pick([1, 2, 64]),
  };
  const args = [cellArg(g, shape.cell, p), g.scalar(shape.vocab, p), g.scalar(shape.hidden, p), g.scalar(shape.layers, p)];
  const valid = args[0].v === shape.cell && args[1].v === shape.vocab && args[2].v === shape.hidden && args[3].v === shape.layers;
  if (g.chance(p / 3)) {
    if (g.chance(0.5)) args.length = g.int(args.length);
    else args.push(g.wrong());
  }
  return { fn: 'parameterTable', args, layout: valid && args.length >= 4 ? shape : undefined };
}

export function describe(call: Call): string {
  const args = call.args.map((a) => a.d).join(', ');
  if (!call.model) return `${call.fn}(${args})`;
  const method = call.fn.slice('Model.'.length);
  const made = `new Model(${call.model.spec.d})${call.model.after ? ` (then ${call.model.after.d})` : ''}`;
  return call.model.self ? `${made}; Model.prototype.${method}.call(${call.model.self}, ${args})` : `${made}.${method}(${args})`;
}

export type Outcome = 'ok' | 'TypeError' | 'RangeError' | 'out of memory' | 'FuzzThrow';

/** Runs one call; returns its outcome, or throws an Error describing a wrong result. */
export function runCall(addon: NativeAddon, call: Call): Outcome {
  const f = prepare(addon, call);
  let result: unknown;
  try {
    result = f(...call.args.map((a) => a.v));
  } catch (error) {
    if (error instanceof FuzzThrow) return 'FuzzThrow';
    if (error instanceof TypeError && error.constructor === TypeError) return 'TypeError';
    if (error instanceof RangeError && error.constructor === RangeError) return 'RangeError';
    if (error instanceof Error && error.constructor === Error && error.message === 'rnn-native: out of memory') return 'out of memory';
    throw new Error(`unexpected ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : `throw of ${String(error)}`}`);
  }
  if (call.fn === 'blasInfo' && typeof result !== 'string') throw new Error('blasInfo returned no string');
  if (call.fn === 'Model.forwardBackward' && typeof result !== 'number') throw new Error(`returned ${String(result)}, not a number`);
  if ((call.fn === 'Model.optimize' || call.fn === 'Model.train' || call.fn === 'Model.advance' || call.fn === 'Model.sample') && result !== undefined) {
    throw new Error(`returned ${String(result)}, not undefined`);
  }
  if (call.made) checkMade(result as CompiledModel, call.made);
  if (call.layout) checkLayout(result, call.layout);
  let drawn: number[] = [];
  try {
    // (A detached or out-of-bounds array is skipped: V8 may still report its old length from JS.)
    if (call.check) drawn = Array.from(call.check.out);
  } catch {
    drawn = [];
  }
  if (call.check && drawn.length > 0) {
    const { K } = call.check;
    const out = drawn;
    const bad = out.findIndex((s) => !(s >= 0 && s < K));
    if (bad >= 0) throw new Error(`sample drew symbol ${out[bad]} at ${bad}, outside [0, ${K})`);
  }
  return 'ok';
}

/**
 * The function a call runs: an export, the Model constructor, or a method of a model
 * made here from the call's valid spec (its refusal is a failure), bound to that model or to
 * the call's wrong `this`.
 */
function prepare(addon: NativeAddon, call: Call): (...args: unknown[]) => unknown {
  if (call.fn === 'new Model') return (...args) => new (addon.Model as unknown as new (...a: unknown[]) => unknown)(...args);
  if (!call.model) return (addon as unknown as Record<string, (...args: unknown[]) => unknown>)[call.fn];
  let model: CompiledModel;
  try {
    model = new addon.Model(call.model.spec.v as CompiledModelSpec);
  } catch (error) {
    throw new Error(`a valid spec was refused: ${(error as Error).message}`);
  }
  call.model.after?.run();
  const prototype = addon.Model.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const method = prototype[call.fn.slice('Model.'.length)];
  const self = call.model.self;
  const target = self ? WRONG_THIS[self](prototype) : model;
  return (...args) => method.apply(target, args);
}

/** A model made without error: its four buffers are disjoint, and a valid one-step block runs on it. */
function checkMade(model: CompiledModel, made: NonNullable<Call['made']>): void {
  const views = SPEC_BUFFERS.map((key) => made.buffers[key] as Float32Array);
  for (let i = 0; i < views.length; i++) {
    for (let j = i + 1; j < views.length; j++) {
      const [a, b] = [views[i], views[j]];
      if (a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) {
        throw new Error(`accepted overlapping spec.${SPEC_BUFFERS[i]} and spec.${SPEC_BUFFERS[j]}`);
      }
    }
  }
  let loss: number;
  try {
    loss = model.forwardBackward(new Int32Array(made.streams), new Int32Array(made.streams), true, 0.25, 1, 0);
  } catch (error) {
    throw new Error(`the model made refused a valid forwardBackward: ${(error as Error).message}`);
  }
  if (typeof loss !== 'number') throw new Error(`the model made returned ${String(loss)} from forwardBackward`);
}

/** parameterTable's table against lib/model/reference.ts's, entry by entry. */
function checkLayout(result: unknown, shape: ModelShape): void {
  const expected = parameterTable(shape).parameters.map(({ name, shape: dims, offset, length }) => ({ name, shape: dims, offset, length }));
  const got = JSON.stringify(result);
  if (got !== JSON.stringify(expected)) throw new Error(`parameterTable(${JSON.stringify(shape)}) = ${got.slice(0, 200)}, not the reference's table`);
}

/**
 * The same calls through two engines, one fresh call each: the iterations (with both outcomes)
 * where they differ. The WebAssembly backend checks its arguments in TypeScript and must refuse
 * exactly what the addon refuses, with the same error class.
 */
export function differingOutcomes(a: NativeAddon, b: NativeAddon, seed: number, calls: number): string[] {
  const outcome = (addon: NativeAddon, i: number) => {
    try {
      return runCall(addon, makeCall(seed, i));
    } catch (error) {
      return `failure: ${(error as Error).message}`;
    }
  };
  const differing: string[] = [];
  for (let i = 0; i < calls; i++) {
    const [x, y] = [outcome(a, i), outcome(b, i)];
    if (x !== y) differing.push(`iteration ${i}: ${x} vs ${y}: ${describe(makeCall(seed, i)).slice(0, 300)}`);
  }
  return differing;
}

/** Valid calls of the model, as bytes, compared before and after the fuzz. */
export function referenceBytes(addon: NativeAddon): Buffer {
  const parts = modelReferenceParts(addon);
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/**
 * The model's valid calls: parameterTable; an lstm of 2 layers and 3 streams, two
 * blocks with dropout and an Adam step between them; a gru of one stream: advance, then
 * sample at temperatures 1, 0 and 0.3.
 */
function modelReferenceParts(addon: NativeAddon): ArrayBufferView[] {
  const parts: ArrayBufferView[] = [];
  const rng = Rng.fromSeed(98);
  const make = (shape: ModelShape, streams: number, seqLength: number) => {
    const P = parameterTable(shape).total;
    const S = shape.layers * streams * shape.hidden;
    const spec = {
      ...shape,
      streams,
      seqLength,
      params: Float32Array.from({ length: P }, () => Math.fround(0.3 * rng.normal())),
      grads: new Float32Array(P),
      h: Float32Array.from({ length: S }, () => Math.fround(0.5 * rng.normal())),
      c: Float32Array.from({ length: S }, () => Math.fround(0.5 * rng.normal())),
    };
    return { spec, model: new addon.Model(spec) };
  };
  const K = 11;
  parts.push(Buffer.from(JSON.stringify(addon.parameterTable('gru', K, 4, 3))));
  const lstm = make({ cell: 'lstm', vocab: K, hidden: 5, layers: 2 }, 3, 6);
  const x = Int32Array.from({ length: 15 }, (_, i) => (i * 5 + 1) % K);
  const y = Int32Array.from({ length: 15 }, (_, i) => (i * 3 + 2) % K);
  const P = lstm.spec.params.length;
  const second = new Float32Array(P);
  const first = new Float32Array(P);
  const settings = { kind: 'adam' as const, eta: 2e-3, epsilon: 1e-8, clip: 5, decay: 0, beta1: 0.9, beta2: 0.999 };
  for (let update = 0; update < 2; update++) {
    const loss = lstm.model.forwardBackward(x, y, true, 0.3, -12345, update);
    lstm.model.optimize(settings, second, first, update + 1);
    parts.push(Float64Array.of(loss), Float32Array.from(lstm.spec.grads), Float32Array.from(lstm.spec.h), Float32Array.from(lstm.spec.c));
  }
  parts.push(Float32Array.from(lstm.spec.params), second, first);
  const gru = make({ cell: 'gru', vocab: K, hidden: 6, layers: 2 }, 1, 4);
  gru.model.advance(Int32Array.of(3, 1, 4, 1, 5));
  parts.push(Float32Array.from(gru.spec.h));
  for (const temperature of [1, 0, 0.3]) {
    const state = Uint32Array.of(5, 6, 7, 8);
    const out = new Int32Array(30);
    gru.model.sample(2, temperature, state, out);
    parts.push(out, state, Float32Array.from(gru.spec.h));
  }
  return parts;
}

export interface WorkerReport {
  ok: boolean;
  seed: number;
  calls: number;
  outcomes: Record<string, number>;
  failure?: { iteration: number; call: string; error: string };
  seconds: number;
}

/**
 * How often the loop yields to the event loop: Node-API runs the finalizers of collected objects
 * (the Models made here, and their scratch) from there, never inside a synchronous loop.
 */
const YIELD_EVERY = 256;

/** The fuzz loop, in this process. Writes the current iteration to `cursorFd` before each call. */
export async function work(seed: number, calls: number, cursorFd?: number, only?: number): Promise<WorkerReport> {
  const backend = fuzzedBackend();
  const loaded = loadCompiled(backend);
  if (!loaded.addon) throw new Error(`the ${backend} backend must load: ${loaded.error}`);
  const addon = loaded.addon;
  const started = process.hrtime.bigint();
  const before = referenceBytes(addon);
  const outcomes: Record<string, number> = {};
  const cursor = Buffer.alloc(8);
  const report = (failure?: WorkerReport['failure']): WorkerReport => ({
    ok: failure === undefined,
    seed,
    calls,
    outcomes,
    failure,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  });
  const first = only ?? 0;
  const end = only !== undefined ? only + 1 : calls;
  for (let i = first; i < end; i++) {
    if (i % YIELD_EVERY === 0) await new Promise(setImmediate);
    if (cursorFd !== undefined) {
      cursor.writeDoubleLE(i, 0);
      writeSync(cursorFd, cursor, 0, 8, 0);
    }
    let call: Call;
    try {
      call = makeCall(seed, i);
    } catch (error) {
      return report({ iteration: i, call: '(not made)', error: `the fuzz's generator failed: ${(error as Error).stack}` });
    }
    if (only !== undefined) process.stderr.write(`iteration ${i}: ${describe(call)}\n`);
    try {
      const outcome = runCall(addon, call);
      outcomes[`${call.fn}: ${outcome}`] = (outcomes[`${call.fn}: ${outcome}`] ?? 0) + 1;
    } catch (error) {
      return report({ iteration: i, call: describe(call), error: (error as Error).message });
    }
  }
  if (cursorFd !== undefined) {
    cursor.writeDoubleLE(-1, 0);
    writeSync(cursorFd, cursor, 0, 8, 0);
  }
  global.gc?.();
  const after = referenceBytes(addon);
  if (!after.equals(before)) {
    return report({ iteration: -1, call: 'the reference calls after the fuzz', error: 'valid calls gave different bytes after the fuzz' });
  }
  // And on a fresh addon instance's results? The addon holds no state; the same process is the test.
  return report();
}

/** The engine the fuzz calls: RNN_FUZZ_BACKEND, native (the addon) by default, or wasm. */
export function fuzzedBackend(): CompiledBackend {
  const backend = process.env.RNN_FUZZ_BACKEND || 'native';
  if (backend !== 'native' && backend !== 'wasm') throw new Error(`RNN_FUZZ_BACKEND must be native or wasm, got ${backend}`);
  return backend;
}

export interface ChildResult {
  seed: number;
  calls: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The worker's own report, when it finished. */
  report?: WorkerReport;
  /** The iteration the worker was in when it crashed or hung. */
  crashedAt?: number;
  stderr: string;
  seconds: number;
  /** One paragraph for a failure message: seed, iteration, the call, how to replay it. */
  summary: string;
}

const SCRIPT = __filename;

/** Runs the fuzz loop in a child process; a crash or hang is reported with its seed and iteration. */
export function runInChild(seed: number, calls: number, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): ChildResult {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 31) throw new RangeError('seed must be an integer from 0 to 2^31 - 1');
  if (!Number.isSafeInteger(calls) || calls < 0 || calls > MAX_ITERATIONS) throw new RangeError(`calls must be at most ${MAX_ITERATIONS}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-fuzz-native-'));
  const cursorFile = path.join(dir, 'cursor');
  const reportFile = path.join(dir, 'report.json');
  const started = process.hrtime.bigint();
  try {
    const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', SCRIPT, '--worker'], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
      env: {
        ...process.env,
        TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json'),
        ...options.env,
        RNN_FUZZ_SEED: String(seed),
        RNN_FUZZ_CALLS: String(calls),
        RNN_FUZZ_CURSOR: cursorFile,
        RNN_FUZZ_REPORT: reportFile,
      },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    let report: WorkerReport | undefined;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8'));
    } catch {
      report = undefined;
    }
    let crashedAt: number | undefined;
    try {
      const at = readFileSync(cursorFile).readDoubleLE(0);
      if (at >= 0) crashedAt = at;
    } catch {
      crashedAt = undefined;
    }
    const result: ChildResult = { seed, calls, status: child.status, signal: child.signal, report, stderr: child.stderr ?? '', seconds, summary: '' };
    const backend = options.env?.RNN_FUZZ_BACKEND ?? process.env.RNN_FUZZ_BACKEND;
    const replay = (iteration: number) =>
      `replay: ${backend ? `RNN_FUZZ_BACKEND=${backend} ` : ''}RNN_FUZZ_SEED=${seed} RNN_FUZZ_ONLY=${iteration} npx ts-node -P tsconfig.json scripts/fuzz-native.ts --worker`;
    if (report?.ok && child.status === 0) {
      result.summary = `seed ${seed}: ${calls} calls, no crash, no unexpected error`;
    } else if (report?.failure) {
      const { iteration, call, error } = report.failure;
      result.summary = `seed ${seed}, iteration ${iteration}: ${error}\n  call: ${call}\n  ${iteration >= 0 ? replay(iteration) : ''}`;
    } else {
      result.crashedAt = crashedAt;
      const how = child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'hung (timeout)' : `crashed (exit ${child.status}, signal ${child.signal})`;
      const where = crashedAt !== undefined ? `iteration ${crashedAt}` : 'outside the fuzz loop';
      let call = '';
      if (crashedAt !== undefined) {
        let made: string;
        try {
          made = describe(makeCall(seed, crashedAt));
        } catch (error) {
          made = `(the generator failed: ${(error as Error).message})`;
        }
        call = `\n  call: ${made}\n  ${replay(crashedAt)}`;
      }
      result.summary = `seed ${seed}: the worker ${how} at ${where}${call}\n  stderr: ${(child.stderr ?? '').split('\n').slice(-6).join('\n  ')}`;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function workerMain(): Promise<void> {
  const seed = Number(process.env.RNN_FUZZ_SEED ?? 1);
  const calls = Number(process.env.RNN_FUZZ_CALLS ?? 200_000);
  const only = process.env.RNN_FUZZ_ONLY !== undefined ? Number(process.env.RNN_FUZZ_ONLY) : undefined;
  const crashAt = process.env.RNN_FUZZ_SELFTEST_CRASH !== undefined ? Number(process.env.RNN_FUZZ_SELFTEST_CRASH) : undefined;
  const cursorFile = process.env.RNN_FUZZ_CURSOR;
  const cursorFd = cursorFile ? openSync(cursorFile, 'w') : undefined;
  if (crashAt !== undefined) {
    // A self-test of the crash report: the worker dies by SIGSEGV at that iteration.
    const buffer = Buffer.alloc(8);
    buffer.writeDoubleLE(crashAt, 0);
    if (cursorFd !== undefined) writeSync(cursorFd, buffer, 0, 8, 0);
    process.kill(process.pid, 'SIGSEGV');
    return;
  }
  const report = await work(seed, calls, cursorFd, only);
  if (cursorFd !== undefined) closeSync(cursorFd);
  if (process.env.RNN_FUZZ_REPORT) {
    const fd = openSync(process.env.RNN_FUZZ_REPORT, 'w');
    writeSync(fd, JSON.stringify(report));
    closeSync(fd);
  }
  if (only !== undefined) process.stderr.write(`${JSON.stringify(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

// The worker side of runInChild: this file runs itself in a child process with --worker.
if (require.main === module && process.argv.includes('--worker')) void workerMain();
