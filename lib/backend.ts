// The backends behind one interface: the float64 TypeScript reference and the float32 C++ engine,
// as the native addon or compiled to WebAssembly (lib/wasm.ts, the same NativeAddon interface).
// All start from the same initial weights and walk the data the same way.
import { UserError } from './errors';
import { Layout } from './layout';
import { CompiledBackend, loadCompiled, NativeAddon, NativeModel } from './native';
import * as reference from './reference';
import { Hyper } from './reference';
import { Rng } from './random';

export type BackendName = 'native' | 'wasm' | 'ts';
export type BackendChoice = BackendName | 'auto';
const BACKEND_CHOICES: readonly unknown[] = ['auto', 'native', 'wasm', 'ts'];

export interface SampleRequest {
  /** The hidden state to start from; it is copied, never changed. */
  state: ArrayLike<number>;
  /** At least one symbol: all but the last warm up the state, the last is the first input. */
  prime: Int32Array;
  length: number;
  /** 0 takes the argmax at every step. */
  temperature: number;
  rng: Rng;
}

export interface Backend {
  readonly name: BackendName;
  readonly layout: Layout;
  /** U | W | V | b | c in the backend's own precision (lib/layout.ts). */
  readonly params: Float32Array | Float64Array;
  readonly accum: Float32Array | Float64Array;
  /** The hidden state carried from one update to the next. */
  readonly state: Float32Array | Float64Array;
  /** Loss and unclipped gradients of one sequence from the current state, which becomes h_T. */
  lossAndGradients(x: Int32Array, y: Int32Array): { loss: number; grads: Float64Array };
  /** losses.length updates of the data walk; walk = [position, epoch] is updated. */
  train(corpus: Uint8Array | Uint16Array, walk: Float64Array, hyper: Hyper, losses: Float64Array): void;
  sample(request: SampleRequest): Int32Array;
  /**
   * The request's draws in pieces: each call returns the next `count` symbols, exactly those that
   * sample(request) would return at that place (so text can be streamed in bounded memory).
   * The request's length is not used.
   */
  sampler(request: SampleRequest): (count: number) => Int32Array;
}

class ReferenceBackend implements Backend {
  readonly name = 'ts';
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly accum: Float64Array;
  readonly state: Float64Array;

  constructor(readonly layout: Layout, initial: Float64Array) {
    this.params = Float64Array.from(initial);
    this.grads = new Float64Array(layout.total);
    this.accum = new Float64Array(layout.total);
    this.state = new Float64Array(layout.hidden);
  }

  lossAndGradients(x: Int32Array, y: Int32Array) {
    const loss = reference.lossAndGradients(this.layout, this.params, this.grads, this.state, x, y);
    return { loss, grads: Float64Array.from(this.grads) };
  }

  train(corpus: Uint8Array | Uint16Array, walk: Float64Array, hyper: Hyper, losses: Float64Array): void {
    reference.train(this.layout, this.params, this.grads, this.accum, this.state, corpus, walk, hyper, losses);
  }

  sample(request: SampleRequest): Int32Array {
    return this.sampler(request)(request.length);
  }

  sampler({ state, prime, temperature, rng }: SampleRequest): (count: number) => Int32Array {
    const h = Float64Array.from(state);
    reference.advance(this.layout, this.params, h, prime.subarray(0, prime.length - 1));
    let input = prime[prime.length - 1];
    return (count) => {
      const out = new Int32Array(count);
      reference.sample(this.layout, this.params, h, input, temperature, rng, out);
      if (count > 0) input = out[count - 1];
      return out;
    };
  }
}

/** The C++ engine: the addon ('native') or the WebAssembly module ('wasm'). */
class NativeBackend implements Backend {
  private readonly model: Required<NativeModel>;

  constructor(readonly name: CompiledBackend, private readonly addon: NativeAddon, readonly layout: Layout, initial: Float64Array) {
    this.model = {
      hidden: layout.hidden,
      vocab: layout.vocab,
      params: Float32Array.from(initial),
      grads: new Float32Array(layout.total),
      accum: new Float32Array(layout.total),
      state: new Float32Array(layout.hidden),
    };
  }

  get params() {
    return this.model.params;
  }
  get accum() {
    return this.model.accum;
  }
  get state() {
    return this.model.state;
  }

  lossAndGradients(x: Int32Array, y: Int32Array) {
    const loss = this.addon.lossAndGradients(this.model, x, y);
    return { loss, grads: Float64Array.from(this.model.grads) };
  }

  train(corpus: Uint8Array | Uint16Array, walk: Float64Array, hyper: Hyper, losses: Float64Array): void {
    this.addon.train(this.model, corpus, walk, hyper, losses);
  }

  sample(request: SampleRequest): Int32Array {
    return this.sampler(request)(request.length);
  }

  sampler({ state, prime, temperature, rng }: SampleRequest): (count: number) => Int32Array {
    const scratch: NativeModel = { ...this.model, state: Float32Array.from(state) };
    this.addon.advance(scratch, prime.subarray(0, prime.length - 1));
    let input = prime[prime.length - 1];
    return (count) => {
      const out = new Int32Array(count);
      this.addon.sample(scratch, input, temperature, rng.state, out);
      if (count > 0) input = out[count - 1];
      return out;
    };
  }
}

export interface BackendSelection {
  name: BackendName;
  /** Why the native backend was not used, when 'auto' fell back to 'wasm' or 'ts'. */
  warning?: string;
}

/**
 * Picks the backend: an explicit 'native', 'wasm' or 'ts' wins, then the environment variable
 * RNN_NATIVE_BACKEND, then 'auto': native when the addon loads, else wasm when the WebAssembly
 * module loads, else ts, with a warning naming the fallback and why.
 */
export function selectBackend(choice: BackendChoice = 'auto'): BackendSelection {
  if (!BACKEND_CHOICES.includes(choice)) throw new UserError(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  const fromEnv = process.env.RNN_NATIVE_BACKEND;
  if (choice === 'auto' && fromEnv !== undefined && fromEnv !== '') {
    if (!BACKEND_CHOICES.includes(fromEnv)) {
      throw new UserError(`RNN_NATIVE_BACKEND must be native, wasm, ts or auto, got "${fromEnv}"`);
    }
    choice = fromEnv as BackendChoice;
  }
  if (choice === 'ts') return { name: 'ts' };
  if (choice !== 'auto') {
    compiled(choice);
    return { name: choice };
  }
  const native = loadCompiled('native');
  if (native.addon) return { name: 'native' };
  const wasm = loadCompiled('wasm');
  if (wasm.addon) return { name: 'wasm', warning: `native addon unavailable (${native.error}); using the WebAssembly backend` };
  return { name: 'ts', warning: `native addon unavailable (${native.error}) and no WebAssembly backend (${wasm.error}); using the slower TypeScript backend` };
}

/** The engine of a compiled backend, or a UserError saying why it cannot load. */
export function compiled(name: CompiledBackend): NativeAddon {
  const { addon, error } = loadCompiled(name);
  if (!addon) throw new UserError(`the ${name} backend cannot load: ${error}`);
  return addon;
}

export function createBackend(name: BackendName, layout: Layout, initial: Float64Array): Backend {
  if (name === 'ts') return new ReferenceBackend(layout, initial);
  return new NativeBackend(name, compiled(name), layout, initial);
}
