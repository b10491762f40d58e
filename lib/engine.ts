// What the Trainer trains: the DD2424 vanilla model on its own kernels (lib/reference.ts,
// native/rnn.cc: fast, and pinned by the golden tests), or the general model of issue 10
// (lib/stacked-trainer.ts). Both behind one interface, so that the Trainer, the run, the
// checkpoint and sampling need not know which.
import { Backend, BackendName, createBackend } from './backend';
import { ModelConfig } from './config';
import { initialParams, Layout, makeLayout, view, views } from './layout';
import { OPTIMIZER_DEFAULTS, OptimizerKind } from './optimizers';
import { Rng } from './random';
import { createStackedBackend, finish, Flat, StackedBackend } from './stacked-backend';
import { CellKind, stackedLayout, StackedShape } from './stacked-reference';
import { StackedSettings, StackedTrainer } from './stacked-trainer';


/** The tensors of a training state, in the backend's precision. */
export interface EngineTensors {
  /** The parameters, flat in the model's table order. */
  params: Flat;
  /** The optimizer's second-moment state (AdaGrad's Σg² for the vanilla model). */
  accum: Flat;
  /** Adam's first moment (empty otherwise). */
  first: Flat;
  /** The carried states: the vanilla model's h (m); the general model's h then c, each [layer][stream][unit]. */
  state: Flat;
}

export interface Engine {
  readonly kind: 'vanilla' | 'stacked';
  readonly backendName: BackendName;
  position: number;
  epoch: number;
  /** Updates done: a restored run sets it (the general model's dropout masks and Adam count on it). */
  step: number;
  /** losses.length updates of the data walk, writing their losses. */
  train(losses: Float64Array): void;
  /** Copies of the tensors. */
  saveTensors(): EngineTensors;
  /** Sets the tensors from copies of the same sizes (the caller checks them against tensorSizes). */
  loadTensors(saved: EngineTensors): void;
  tensorSizes(): Record<keyof EngineTensors, number>;
  /** Whether every parameter, optimizer state and carried state is finite. */
  allFinite(): boolean;
  /** OpenBLAS threads of the training multiplies: the native general model's; the others run one. */
  setThreads(threads: number): void;
  /** Parameters by name (U, W, V, b, c; or layers.l.Wx, …, V, c), as float64 copies. */
  parameters(): Record<string, Float64Array>;
  /** The shapes of the parameters, by name, in table order. */
  shapes(): { name: string; shape: number[] }[];
  /** Draws from the carried state (stream 0's for the general model), which is not changed. */
  sampler(prime: Int32Array, temperature: number, rng: Rng): (count: number) => Int32Array;
  /** Nats per character of a held-out text, read forward from a zero state. */
  validationLoss(symbols: ArrayLike<number>): number;
  /** The same, one window per step of the generator. */
  validationPass(symbols: ArrayLike<number>): Generator<void, number>;
}

/** Why float64 values (a ts run's) cannot go to the native backend. */
export const BEYOND_FLOAT32 = "the saved state holds values beyond float32's range (±3.4e38), which the native and wasm backends cannot hold: use the ts backend (--backend ts)";

/** Whether the options describe the DD2424 model, which its own kernels train. */
export function isVanillaModel(c: ModelConfig): boolean {
  return c.cell === 'rnn' && c.layers === 1 && c.batch === 1 && c.dropout === 0 && c.optimizer === 'adagrad' && c.lrDecay === 1;
}

export function stackedShape(c: ModelConfig, vocab: number): StackedShape {
  return { cell: c.cell as CellKind, vocab, hidden: c.hidden, layers: c.layers };
}

export function stackedSettings(c: ModelConfig, vocab: number): StackedSettings {
  const kind = c.optimizer as OptimizerKind;
  return {
    ...stackedShape(c, vocab),
    streams: c.batch,
    seqLength: c.seqLength,
    dropout: c.dropout,
    sigma: c.sigma,
    forgetBias: c.forgetBias,
    seed: c.seed,
    optimizer: { ...OPTIMIZER_DEFAULTS[kind], kind, eta: c.eta, epsilon: c.epsilon, clip: c.clip, decay: c.rmsDecay, beta1: c.beta1, beta2: c.beta2 },
    lrDecay: c.lrDecay,
    lrDecayAfter: c.lrDecayAfter,
  };
}

/** Draws text from saved weights from a zero state (the sample command and the report's passage). */
export function savedModelSampler(config: ModelConfig, vocab: number, params: Flat, backend: BackendName): Pick<Backend, 'sampler'> {
  if (isVanillaModel(config)) {
    const layout = makeLayout(config.hidden, vocab);
    const model = createBackend(backend, layout, Float64Array.from(params));
    return { sampler: (r) => model.sampler({ ...r, state: new Float64Array(layout.hidden) }) };
  }
  const shape = stackedShape(config, vocab);
  const model = createStackedBackend(backend, shape, 1, 1, Float64Array.from(params), false);
  const zeros = new Float64Array(shape.layers * shape.hidden);
  return { sampler: (r) => model.sampler({ h: zeros, c: zeros }, r.prime, r.temperature, r.rng) };
}

/** The engine of a model, its weights drawn from rng; `text` is the training part of the corpus. */
export function createEngine(config: ModelConfig, vocab: number, text: Uint8Array | Uint16Array, backend: BackendName, rng: Rng): Engine {
  return isVanillaModel(config) ? new VanillaEngine(config, vocab, text, backend, rng) : new StackedEngine(config, vocab, text, backend, rng);
}

export class VanillaEngine implements Engine {
  readonly kind = 'vanilla';
  readonly layout: Layout;
  readonly backend: Backend;
  /** [position, epoch], shared with the backend's kernel. */
  private readonly walk = Float64Array.of(0, 1);
  /** The general model's rnn on these weights, for validationLoss. */
  private validator?: StackedBackend;

  constructor(private readonly config: ModelConfig, vocab: number, private readonly text: Uint8Array | Uint16Array, backend: BackendName, rng: Rng) {
    this.layout = makeLayout(config.hidden, vocab);
    this.backend = createBackend(backend, this.layout, initialParams(this.layout, config.sigma, rng));
  }

  /** The DD2424 kernels need no step count. */
  step = 0;

  get backendName() {
    return this.backend.name;
  }
  get position() {
    return this.walk[0];
  }
  set position(value: number) {
    this.walk[0] = value;
  }
  get epoch() {
    return this.walk[1];
  }
  set epoch(value: number) {
    this.walk[1] = value;
  }

  train(losses: Float64Array): void {
    const { seqLength, eta, epsilon, clip } = this.config;
    this.backend.train(this.text, this.walk, { seqLength, eta, epsilon, clip }, losses);
  }

  private live(): EngineTensors {
    const { params, accum, state } = this.backend;
    return { params, accum, state, first: params.subarray(0, 0) };
  }

  saveTensors() {
    return copyTensors(this.live());
  }

  loadTensors(saved: EngineTensors) {
    const live = this.live();
    for (const key of TENSOR_KEYS) live[key].set(saved[key]);
  }

  tensorSizes() {
    return sizesOf(this.live());
  }

  allFinite() {
    return allFinite(this.live());
  }

  /** The DD2424 kernels multiply vectors by matrices, too small to share between threads. */
  setThreads(): void {}

  parameters() {
    return views(this.layout, Float64Array.from(this.backend.params));
  }

  shapes() {
    return this.layout.parameters.map(({ name, shape }) => ({ name, shape: [...shape] }));
  }

  sampler(prime: Int32Array, temperature: number, rng: Rng) {
    return this.backend.sampler({ state: this.backend.state, prime, temperature, rng, length: 0 });
  }

  /**
   * On the general model's kernels: the vanilla model is its rnn cell, one layer, its tensors in
   * another order. Made once and given the current weights at each call: a native model's memory
   * is freed only when the event loop turns, so one per call grew without bound in a loop.
   */
  validationLoss(symbols: ArrayLike<number>): number {
    return finish(this.validationPass(symbols));
  }

  validationPass(symbols: ArrayLike<number>): Generator<void, number> {
    const shape: StackedShape = { cell: 'rnn', vocab: this.layout.vocab, hidden: this.layout.hidden, layers: 1 };
    const source: Record<string, string> = { 'layers.0.Wx': 'U', 'layers.0.Wh': 'W', 'layers.0.b': 'b', V: 'V', c: 'c' };
    const { parameters, total } = stackedLayout(shape);
    this.validator ??= createStackedBackend(this.backend.name, shape, 1, 1, new Float64Array(total), false);
    const flat = this.backend.params;
    for (const p of parameters) this.validator.params.set(view(this.layout, flat, source[p.name] as 'U'), p.offset);
    return this.validator.validationPass(symbols);
  }
}

class StackedEngine implements Engine {
  readonly kind = 'stacked';
  readonly trainer: StackedTrainer;
  private readonly shape: StackedShape;

  constructor(config: ModelConfig, vocab: number, text: Uint8Array | Uint16Array, backend: BackendName, rng: Rng) {
    this.shape = stackedShape(config, vocab);
    this.trainer = new StackedTrainer(text, stackedSettings(config, vocab), backend, rng);
  }

  get backendName() {
    return this.trainer.backend.name;
  }
  get position() {
    return this.trainer.walk.position;
  }
  set position(value: number) {
    this.trainer.walk.position = value;
  }
  get epoch() {
    return this.trainer.walk.epoch;
  }
  set epoch(value: number) {
    this.trainer.walk.epoch = value;
  }

  train(losses: Float64Array): void {
    this.trainer.train(losses);
  }

  setThreads(threads: number): void {
    this.trainer.backend.setThreads(threads);
  }

  get step() {
    return this.trainer.step;
  }
  set step(value: number) {
    this.trainer.step = value;
  }

  saveTensors(): EngineTensors {
    const { params, second, first, h, c } = this.trainer.backend;
    const state = new (h.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(h.length + c.length);
    state.set(h);
    state.set(c, h.length);
    return { params: params.slice(), accum: second.slice(), first: first.slice(), state };
  }

  loadTensors(saved: EngineTensors) {
    const { params, second, first, h, c } = this.trainer.backend;
    params.set(saved.params);
    second.set(saved.accum);
    first.set(saved.first);
    h.set(saved.state.subarray(0, h.length));
    c.set(saved.state.subarray(h.length));
  }

  tensorSizes() {
    const { params, second, first, h, c } = this.trainer.backend;
    return { params: params.length, accum: second.length, first: first.length, state: h.length + c.length };
  }

  allFinite() {
    const { params, second, first, h, c } = this.trainer.backend;
    return [params, second, first, h, c].every((t) => t.every(Number.isFinite));
  }

  parameters() {
    const flat = Float64Array.from(this.trainer.backend.params);
    return Object.fromEntries(stackedLayout(this.shape).parameters.map((p) => [p.name, flat.subarray(p.offset, p.offset + p.length)]));
  }

  shapes() {
    return stackedLayout(this.shape).parameters.map(({ name, shape }) => ({ name, shape }));
  }

  sampler(prime: Int32Array, temperature: number, rng: Rng) {
    const { h, c } = this.trainer.backend;
    const { layers, hidden: m } = this.shape;
    const B = this.trainer.settings.streams;
    // Stream 0's state of each layer.
    const pick = (flat: Flat) => Float64Array.from({ length: layers * m }, (_, i) => flat[(Math.floor(i / m) * B) * m + (i % m)]);
    return this.trainer.backend.sampler({ h: pick(h), c: pick(c) }, prime, temperature, rng);
  }

  validationLoss(symbols: ArrayLike<number>): number {
    return this.trainer.backend.validationLoss(symbols);
  }

  validationPass(symbols: ArrayLike<number>): Generator<void, number> {
    return this.trainer.backend.validationPass(symbols);
  }
}

const TENSOR_KEYS = ['params', 'accum', 'first', 'state'] as const;

function copyTensors(t: EngineTensors): EngineTensors {
  return { params: t.params.slice(), accum: t.accum.slice(), first: t.first.slice(), state: t.state.slice() };
}

function sizesOf(t: EngineTensors): Record<keyof EngineTensors, number> {
  return { params: t.params.length, accum: t.accum.length, first: t.first.length, state: t.state.length };
}

function allFinite(t: EngineTensors): boolean {
  return TENSOR_KEYS.every((key) => t[key].every(Number.isFinite));
}
