// Every export of the addon (and of the WebAssembly backend, the same interface), called with
// wrong types, lengths or values, throws a JS TypeError or RangeError and leaves the process running.
import assert from 'assert';
import { makeLayout } from '../lib/model/version1-names';
import { loadCompiled, NativeAddon, NativeModel } from '../lib/engine/native';
import { COMPILED_BACKENDS } from './helpers';

for (const engine of COMPILED_BACKENDS) describe(`${engine} addon boundary`, () => {
  let addon: NativeAddon;
  const m = 4;
  const K = 6;
  const P = makeLayout(m, K).total;
  const model = (): Required<NativeModel> => ({
    hidden: m,
    vocab: K,
    params: new Float32Array(P).fill(0.01),
    grads: new Float32Array(P),
    accum: new Float32Array(P),
    state: new Float32Array(m),
  });
  const hyper = { seqLength: 3, eta: 0.1, epsilon: 1e-8, clip: 5 };
  const corpus = Uint8Array.from([0, 1, 2, 3, 4, 5, 0, 1]);

  before(() => {
    const loaded = loadCompiled(engine);
    assert.ok(loaded.addon, `the ${engine} backend must load: ${loaded.error}`);
    addon = loaded.addon;
  });

  /** Each call must throw `kind` with a message mentioning `words`. */
  function rejects(kind: typeof TypeError | typeof RangeError, words: string, call: () => unknown) {
    assert.throws(call, (e: Error) => e instanceof kind && e.message.includes(words), `expected ${kind.name} about ${words}`);
  }

  it('accepts valid calls', () => {
    const mm = model();
    const loss = addon.lossAndGradients(mm, Int32Array.of(0, 1, 2), Int32Array.of(1, 2, 3));
    assert.ok(loss > 0 && Number.isFinite(loss));
    const losses = new Float64Array(5);
    const walk = Float64Array.of(0, 1);
    addon.train(mm, corpus, walk, hyper, losses);
    assert.ok(losses.every((l) => l > 0));
    // 8 symbols, T = 3: windows start at 0, 3 | 0, 3 | 0 (epochs 1, 2, 3), ending at position 3.
    assert.deepStrictEqual(Array.from(walk), [3, 3]);
    addon.advance(mm, Int32Array.of(1, 2));
    const out = new Int32Array(10);
    addon.sample(mm, 0, 1, Uint32Array.of(1, 2, 3, 4), out);
    assert.ok(out.every((s) => s >= 0 && s < K));
    assert.match(addon.blasInfo(), engine === 'native' ? /OpenBLAS/i : /WebAssembly/);
  });

  it('rejects a malformed model object', () => {
    const x = Int32Array.of(0);
    rejects(TypeError, 'model must be an object', () => addon.lossAndGradients(null as never, x, x));
    rejects(TypeError, 'model must be an object', () => addon.lossAndGradients(new Float32Array(3) as never, x, x));
    rejects(TypeError, 'model.hidden', () => addon.lossAndGradients({ ...model(), hidden: '4' as never }, x, x));
    rejects(RangeError, 'model.hidden', () => addon.lossAndGradients({ ...model(), hidden: 0 }, x, x));
    rejects(RangeError, 'model.hidden', () => addon.lossAndGradients({ ...model(), hidden: 2.5 }, x, x));
    rejects(RangeError, 'model.vocab', () => addon.lossAndGradients({ ...model(), vocab: 1e9 }, x, x));
    rejects(RangeError, 'model.vocab', () => addon.lossAndGradients({ ...model(), vocab: NaN }, x, x));
    rejects(TypeError, 'model.params must be a Float32Array', () =>
      addon.lossAndGradients({ ...model(), params: new Float64Array(P) as never }, x, x)
    );
    rejects(RangeError, 'model.params must have length', () =>
      addon.lossAndGradients({ ...model(), params: new Float32Array(P - 1) }, x, x)
    );
    rejects(RangeError, 'model.state must have length', () =>
      addon.lossAndGradients({ ...model(), state: new Float32Array(m + 1) }, x, x)
    );
    rejects(TypeError, 'model.grads must be a Float32Array', () =>
      addon.lossAndGradients({ ...model(), grads: undefined as never }, x, x)
    );
    const shared = new Float32Array(P);
    rejects(RangeError, 'overlap', () => addon.lossAndGradients({ ...model(), params: shared, grads: shared }, x, x));
  });

  it('rejects detached buffers', () => {
    const mm = model();
    const detached = new Float32Array(P);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    rejects(RangeError, 'model.params', () => addon.lossAndGradients({ ...mm, params: detached }, Int32Array.of(0), Int32Array.of(1)));
  });

  it('lossAndGradients: rejects bad symbol arrays', () => {
    rejects(TypeError, 'inputs must be an Int32Array', () => addon.lossAndGradients(model(), [0, 1] as never, Int32Array.of(1, 2)));
    rejects(RangeError, 'outside the vocabulary', () => addon.lossAndGradients(model(), Int32Array.of(0, K), Int32Array.of(1, 2)));
    rejects(RangeError, 'outside the vocabulary', () => addon.lossAndGradients(model(), Int32Array.of(0, -1), Int32Array.of(1, 2)));
    rejects(RangeError, 'same length', () => addon.lossAndGradients(model(), Int32Array.of(0, 1), Int32Array.of(1)));
    rejects(RangeError, 'inputs must hold', () => addon.lossAndGradients(model(), new Int32Array(0), new Int32Array(0)));
  });

  it('train: rejects a bad corpus, walk, options or losses buffer', () => {
    const losses = new Float64Array(2);
    const walk = () => Float64Array.of(0, 1);
    rejects(TypeError, 'corpus must be', () => addon.train(model(), Int32Array.from(corpus) as never, walk(), hyper, losses));
    rejects(RangeError, 'at least options.seqLength + 1', () => addon.train(model(), Uint8Array.of(0, 1, 2), walk(), hyper, losses));
    rejects(RangeError, 'outside the vocabulary', () => addon.train(model(), Uint16Array.of(0, 1, 2, 300), walk(), hyper, losses));
    rejects(TypeError, 'walk must be a Float64Array', () => addon.train(model(), corpus, [0, 1] as never, hyper, losses));
    rejects(RangeError, 'walk must have length 2', () => addon.train(model(), corpus, new Float64Array(3), hyper, losses));
    rejects(RangeError, 'walk[0]', () => addon.train(model(), corpus, Float64Array.of(-1, 1), hyper, losses));
    rejects(RangeError, 'walk[0]', () => addon.train(model(), corpus, Float64Array.of(1e20, 1), hyper, losses));
    rejects(RangeError, 'walk[0]', () => addon.train(model(), corpus, Float64Array.of(0.5, 1), hyper, losses));
    rejects(RangeError, 'walk[1]', () => addon.train(model(), corpus, Float64Array.of(0, Infinity), hyper, losses));
    rejects(TypeError, 'options must be an object', () => addon.train(model(), corpus, walk(), undefined as never, losses));
    rejects(RangeError, 'options.seqLength', () => addon.train(model(), corpus, walk(), { ...hyper, seqLength: 0 }, losses));
    rejects(RangeError, 'options.eta', () => addon.train(model(), corpus, walk(), { ...hyper, eta: -1 }, losses));
    rejects(RangeError, 'options.eta', () => addon.train(model(), corpus, walk(), { ...hyper, eta: NaN }, losses));
    rejects(RangeError, 'options.clip', () => addon.train(model(), corpus, walk(), { ...hyper, clip: Infinity }, losses));
    rejects(TypeError, 'options.epsilon', () => addon.train(model(), corpus, walk(), { ...hyper, epsilon: '1' as never }, losses));
    rejects(TypeError, 'losses must be a Float64Array', () => addon.train(model(), corpus, walk(), hyper, new Float32Array(2) as never));
    rejects(TypeError, 'model.accum', () => addon.train({ ...model(), accum: undefined as never }, corpus, walk(), hyper, losses));
  });

  it('advance and sample: reject bad arguments', () => {
    rejects(RangeError, 'outside the vocabulary', () => addon.advance(model(), Int32Array.of(K)));
    rejects(TypeError, 'inputs must be an Int32Array', () => addon.advance(model(), 'abc' as never));
    const rng = () => Uint32Array.of(1, 2, 3, 4);
    const out = new Int32Array(3);
    rejects(RangeError, 'first', () => addon.sample(model(), K, 1, rng(), out));
    rejects(TypeError, 'first', () => addon.sample(model(), undefined as never, 1, rng(), out));
    rejects(RangeError, 'temperature', () => addon.sample(model(), 0, -1, rng(), out));
    rejects(RangeError, 'temperature', () => addon.sample(model(), 0, NaN, rng(), out));
    rejects(RangeError, 'rng must have length 4', () => addon.sample(model(), 0, 1, new Uint32Array(2), out));
    rejects(TypeError, 'rng must be a Uint32Array', () => addon.sample(model(), 0, 1, new Int32Array(4) as never, out));
    rejects(RangeError, 'all zero', () => addon.sample(model(), 0, 1, new Uint32Array(4), out));
    rejects(TypeError, 'out must be an Int32Array', () => addon.sample(model(), 0, 1, rng(), new Uint32Array(3) as never));
  });

  it('rejects options that would not stay positive in float32', () => {
    const losses = new Float64Array(1);
    rejects(RangeError, 'options.epsilon', () => addon.train(model(), corpus, Float64Array.of(0, 1), { ...hyper, epsilon: 1e-50 }, losses));
    rejects(RangeError, 'options.eta', () => addon.train(model(), corpus, Float64Array.of(0, 1), { ...hyper, eta: 1e39 }, losses));
  });

  it('rejects a sequence whose scratch space would be huge, without aborting', () => {
    const big = { hidden: 1, vocab: 65536, params: new Float32Array(makeLayout(1, 65536).total), state: new Float32Array(1), grads: new Float32Array(makeLayout(1, 65536).total) };
    const x = new Int32Array(1 << 20);
    rejects(RangeError, 'scratch floats', () => addon.lossAndGradients(big, x, x));
  });

  it('changes nothing when a window holds a symbol outside the vocabulary at an epoch start', () => {
    const mm = model();
    mm.state.fill(0.5);
    const walk = Float64Array.of(6, 1); // 2 symbols left: the next update starts a new epoch at 0
    rejects(RangeError, 'outside the vocabulary', () => addon.train(mm, Uint8Array.of(9, 1, 2, 3, 4, 5, 0, 1), walk, hyper, new Float64Array(1)));
    assert.deepStrictEqual(Array.from(walk), [6, 1]);
    assert.ok(mm.state.every((v) => v === 0.5));
  });

  it('is safe when inputs view the same memory as the gradients it writes', () => {
    const aliased = model();
    const plain = model();
    const inputs = new Int32Array(aliased.grads.buffer, 0, 3); // zeros: valid symbols
    const loss = addon.lossAndGradients(aliased, inputs, Int32Array.of(1, 2, 3));
    assert.strictEqual(loss, addon.lossAndGradients(plain, Int32Array.of(0, 0, 0), Int32Array.of(1, 2, 3)));
    aliased.state.fill(0);
    const stateView = new Int32Array(aliased.state.buffer); // zeros: valid symbols
    addon.advance(aliased, stateView); // the state is written while the inputs are read
    assert.ok(aliased.state.every(Number.isFinite));
  });

  it('takes buffer pointers only after every getter has run', () => {
    const mm = model();
    const detaching = {
      hidden: m,
      vocab: K,
      params: mm.params,
      grads: mm.grads,
      get state() {
        structuredClone(mm.params.buffer, { transfer: [mm.params.buffer as ArrayBuffer] });
        return mm.state;
      },
    };
    rejects(RangeError, 'model.params must have length', () => addon.lossAndGradients(detaching, Int32Array.of(0), Int32Array.of(1)));

    // Resizable ArrayBuffers are newer than the ES2022 typings.
    type Resizable = ArrayBuffer & { resize(bytes: number): void };
    const ResizableBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => Resizable;
    const resizable = new ResizableBuffer(P * 4, { maxByteLength: P * 4 });
    const accum = new Float32Array(resizable); // length-tracking
    const shrinking = {
      ...hyper,
      get seqLength() {
        resizable.resize(0);
        return 3;
      },
    };
    rejects(RangeError, 'model.accum must have length', () =>
      addon.train({ ...model(), accum }, corpus, Float64Array.of(0, 1), shrinking, new Float64Array(1))
    );
  });

  it('accepts buffers on a SharedArrayBuffer', () => {
    const mm = model();
    const shared = new Float32Array(new SharedArrayBuffer(P * 4));
    shared.set(mm.params);
    const loss = addon.lossAndGradients({ ...mm, params: shared }, Int32Array.of(0, 1), Int32Array.of(1, 2));
    assert.strictEqual(loss, addon.lossAndGradients(model(), Int32Array.of(0, 1), Int32Array.of(1, 2)));
  });

  it('still computes the same results after all the rejected calls', () => {
    const a = model();
    const b = model();
    const x = Int32Array.of(0, 1, 2, 3);
    const y = Int32Array.of(1, 2, 3, 4);
    assert.strictEqual(addon.lossAndGradients(a, x, y), addon.lossAndGradients(b, x, y));
    assert.deepStrictEqual(Array.from(a.grads), Array.from(b.grads));
  });
});
