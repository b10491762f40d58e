// The addon's Model (and the WebAssembly backend's, the same interface), called with wrong types,
// lengths or values, throws a JS TypeError or RangeError naming the argument and leaves the
// process running; the regressions found at this boundary stay found (buffers detached or shrunk
// by a getter, inputs viewing written memory, shared buffers). compiled-model.test.ts holds the
// error classes of every argument; this file holds the messages.
import assert from 'assert';
import { loadCompiled, NativeAddon, CompiledModelSpec } from '../lib/engine/native';
import { OPTIMIZER_DEFAULTS } from '../lib/model/optimizers';
import { parameterTable } from '../lib/model/reference';
import { COMPILED_BACKENDS } from './helpers';

for (const engine of COMPILED_BACKENDS) describe(`${engine} addon boundary`, () => {
  let addon: NativeAddon;
  const shape = { cell: 'rnn' as const, vocab: 6, hidden: 4, layers: 1 };
  const P = parameterTable(shape).total;
  const spec = (streams = 1): CompiledModelSpec => ({
    ...shape,
    streams,
    seqLength: 3,
    params: new Float32Array(P).fill(0.01),
    grads: new Float32Array(P),
    h: new Float32Array(4 * streams),
    c: new Float32Array(4 * streams),
  });
  const settings = { kind: 'adagrad' as const, ...OPTIMIZER_DEFAULTS.adagrad };
  const x = Int32Array.of(0, 1, 2);
  const y = Int32Array.of(1, 2, 3);

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
    const model = new addon.Model(spec());
    const loss = model.forwardBackward(x, y, true, 0, 0, 0);
    assert.ok(loss > 0 && Number.isFinite(loss));
    model.optimize(settings, new Float32Array(P), new Float32Array(0), 1);
    model.advance(Int32Array.of(1, 2));
    const out = new Int32Array(10);
    model.sample(0, 1, Uint32Array.of(1, 2, 3, 4), out);
    assert.ok(out.every((s) => s >= 0 && s < shape.vocab));
    assert.match(addon.blasInfo(), engine === 'native' ? /OpenBLAS/i : /WebAssembly/);
  });

  it('rejects a malformed spec, naming the property', () => {
    rejects(TypeError, 'spec must be an object', () => new addon.Model(null as never));
    rejects(TypeError, 'spec must be an object', () => new addon.Model(new Float32Array(3) as never));
    rejects(TypeError, 'spec.hidden', () => new addon.Model({ ...spec(), hidden: '4' as never }));
    rejects(RangeError, 'spec.hidden', () => new addon.Model({ ...spec(), hidden: 0 }));
    rejects(RangeError, 'spec.hidden', () => new addon.Model({ ...spec(), hidden: 2.5 }));
    rejects(RangeError, 'spec.vocab', () => new addon.Model({ ...spec(), vocab: 1e9 }));
    rejects(RangeError, 'spec.vocab', () => new addon.Model({ ...spec(), vocab: NaN }));
    rejects(RangeError, "spec.cell must be 'rnn', 'lstm' or 'gru'", () => new addon.Model({ ...spec(), cell: 'tanh' as never }));
    rejects(TypeError, 'spec.params must be a Float32Array', () => new addon.Model({ ...spec(), params: new Float64Array(P) as never }));
    rejects(RangeError, `spec.params must have length ${P}, got ${P - 1}`, () => new addon.Model({ ...spec(), params: new Float32Array(P - 1) }));
    rejects(RangeError, 'spec.h must have length 4', () => new addon.Model({ ...spec(), h: new Float32Array(5) }));
    rejects(TypeError, 'spec.grads must be a Float32Array', () => new addon.Model({ ...spec(), grads: undefined as never }));
    const shared = new Float32Array(P);
    rejects(RangeError, 'spec.params and spec.grads must not overlap', () => new addon.Model({ ...spec(), params: shared, grads: shared }));
  });

  it('rejects detached buffers', () => {
    const detached = new Float32Array(P);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    rejects(RangeError, 'spec.params', () => new addon.Model({ ...spec(), params: detached }));
  });

  it('forwardBackward: rejects bad symbol arrays and flags', () => {
    const model = new addon.Model(spec());
    rejects(TypeError, 'x must be an Int32Array', () => model.forwardBackward([0, 1] as never, y, true, 0, 0, 0));
    rejects(RangeError, 'x[1] = 6 is outside the vocabulary [0, 6)', () => model.forwardBackward(Int32Array.of(0, 6), y.subarray(0, 2), true, 0, 0, 0));
    rejects(RangeError, 'y[1] = -1 is outside the vocabulary', () => model.forwardBackward(x.subarray(0, 2), Int32Array.of(0, -1), true, 0, 0, 0));
    rejects(RangeError, 'y must have the same length as x', () => model.forwardBackward(x, y.subarray(0, 2), true, 0, 0, 0));
    rejects(RangeError, 'x must hold steps × streams symbols', () => model.forwardBackward(new Int32Array(0), new Int32Array(0), true, 0, 0, 0));
    rejects(RangeError, 'x must hold steps × streams symbols', () => model.forwardBackward(new Int32Array(4), new Int32Array(4), true, 0, 0, 0));
    rejects(TypeError, 'gradients must be a boolean', () => model.forwardBackward(x, y, 1 as never, 0, 0, 0));
    rejects(RangeError, 'dropout must be a number in [0, 1)', () => model.forwardBackward(x, y, true, 1, 0, 0));
    rejects(RangeError, 'seed must be a safe integer', () => model.forwardBackward(x, y, true, 0, 2 ** 53, 0));
    rejects(RangeError, 'update must be a safe integer ≥ 0', () => model.forwardBackward(x, y, true, 0, 0, -1));
  });

  it('optimize: rejects bad settings and optimizer state', () => {
    const model = new addon.Model(spec());
    const second = () => new Float32Array(P);
    const none = new Float32Array(0);
    rejects(TypeError, 'settings must be an object', () => model.optimize(undefined as never, second(), none, 1));
    rejects(RangeError, "settings.kind must be 'adagrad', 'rmsprop' or 'adam'", () => model.optimize({ ...settings, kind: 'sgd' as never }, second(), none, 1));
    rejects(RangeError, 'settings.eta', () => model.optimize({ ...settings, eta: -1 }, second(), none, 1));
    rejects(RangeError, 'settings.eta', () => model.optimize({ ...settings, eta: NaN }, second(), none, 1));
    rejects(RangeError, 'settings.clip', () => model.optimize({ ...settings, clip: Infinity }, second(), none, 1));
    rejects(TypeError, 'settings.epsilon must be a number', () => model.optimize({ ...settings, epsilon: '1' as never }, second(), none, 1));
    rejects(RangeError, 'step must be a safe integer ≥ 1', () => model.optimize(settings, second(), none, 0));
    rejects(RangeError, `second must have length ${P}`, () => model.optimize(settings, new Float32Array(2), none, 1));
    rejects(RangeError, `first must have length ${P}, got 0`, () => model.optimize({ ...settings, kind: 'adam' }, second(), none, 1));
  });

  it('train: rejects bad blocks, losses, numbering and optimizer state, naming the argument', () => {
    const model = new addon.Model(spec());
    const none = new Float32Array(0);
    const second = new Float32Array(P);
    const losses = () => new Float64Array(2);
    const x2 = Int32Array.of(0, 1, 2, 3, 4, 5);
    const y2 = Int32Array.of(1, 2, 3, 4, 5, 0);
    const train = (changes: Partial<{ x: Int32Array; y: Int32Array; losses: Float64Array; reset: boolean; firstUpdate: number; second: Float32Array }>) => {
      const a = { x: x2, y: y2, losses: losses(), reset: false, firstUpdate: 1, second, ...changes };
      model.train(a.x, a.y, a.losses, a.reset, 0, 0, a.firstUpdate, settings, a.second, none);
    };
    train({});
    rejects(TypeError, 'losses must be a Float64Array', () => train({ losses: new Float32Array(2) as never }));
    rejects(RangeError, 'losses must not be empty', () => train({ losses: new Float64Array(0) }));
    rejects(TypeError, 'reset must be a boolean', () => train({ reset: 0 as never }));
    rejects(RangeError, 'firstUpdate must be a safe integer ≥ 1', () => train({ firstUpdate: 0 }));
    rejects(RangeError, 'firstUpdate + losses.length − 1 must be a safe integer', () => train({ firstUpdate: 2 ** 53 - 1 }));
    rejects(RangeError, 'x must hold blocks × steps × streams symbols (blocks = 2,', () => train({ x: x2.subarray(0, 5), y: y2.subarray(0, 5) }));
    rejects(RangeError, 'x must hold steps × streams symbols (streams = 1, 1 ≤ steps ≤ seqLength = 3), got 6', () => train({ losses: new Float64Array(1) })); // 6 steps > seqLength 3
    rejects(RangeError, 'x[0] = 6 is outside the vocabulary', () => train({ x: Int32Array.of(6, 1, 2, 3, 4, 5) }));
    rejects(RangeError, `second must have length ${P}`, () => train({ second: new Float32Array(1) }));
    const buffer = new ArrayBuffer(4 * P + 16);
    rejects(RangeError, 'x and second must not overlap', () => train({ x: new Int32Array(buffer, 0, 6), second: new Float32Array(buffer, 0, P) }));
    rejects(RangeError, 'losses and spec.params must not overlap', () => {
      const s = spec();
      const shared = new addon.Model(s);
      shared.train(x2, y2, new Float64Array(s.params.buffer, 0, 2), false, 0, 0, 1, settings, second, none);
    });
    rejects(RangeError, 'second and losses must not overlap', () => train({ losses: new Float64Array(second.buffer, 0, 2) }));
  });

  it('train: blocks × streams beyond 32 bits is refused as a RangeError, the kernel never walking past x (wasm: 32-bit size_t)', () => {
    // 65,536 streams (the limit): losses.length · streams reaches 2^32, which wraps to 0 (a trap,
    // "remainder by zero") or, one block more, to 65,536 — x's own length, accepted, after which
    // the kernel reads 65,537 blocks from a 1-block x ("memory access out of bounds").
    const streams = 65536;
    const model = new addon.Model(spec(streams));
    const x = new Int32Array(streams);
    const y = new Int32Array(streams).fill(1);
    for (const blocks of [65536, 65537]) {
      rejects(RangeError, `x must hold blocks × steps × streams symbols (blocks = ${blocks}, streams = ${streams},`, () =>
        model.train(x, y, new Float64Array(blocks), false, 0, 0, 1, settings, new Float32Array(P), new Float32Array(0))
      );
    }
  });

  it('logProbs: the next symbol log-probabilities of one stream; refuses bad arguments', () => {
    const model = new addon.Model(spec());
    const out = new Float64Array(shape.vocab);
    model.logProbs(2, out);
    assert.ok(Math.abs(out.reduce((sum, lp) => sum + Math.exp(lp), 0) - 1) < 1e-6, 'a distribution');
    rejects(RangeError, 'input must be an integer from 0 to 5', () => model.logProbs(6, out));
    rejects(TypeError, 'out must be a Float64Array', () => model.logProbs(0, new Float32Array(6) as never));
    rejects(RangeError, 'out must have length 6', () => model.logProbs(0, new Float64Array(5)));
    rejects(RangeError, 'logProbs needs a model of one stream (this one has 2)', () => new addon.Model(spec(2)).logProbs(0, out));
  });

  it('advance and sample: reject bad arguments', () => {
    const model = new addon.Model(spec());
    rejects(RangeError, 'outside the vocabulary', () => model.advance(Int32Array.of(6)));
    rejects(TypeError, 'symbols must be an Int32Array', () => model.advance('abc' as never));
    const rng = () => Uint32Array.of(1, 2, 3, 4);
    const out = new Int32Array(3);
    rejects(RangeError, 'first must be an integer from 0 to 5', () => model.sample(6, 1, rng(), out));
    rejects(TypeError, 'first must be a number', () => model.sample(undefined as never, 1, rng(), out));
    rejects(RangeError, 'temperature', () => model.sample(0, -1, rng(), out));
    rejects(RangeError, 'temperature', () => model.sample(0, NaN, rng(), out));
    rejects(RangeError, 'rng must have length 4', () => model.sample(0, 1, new Uint32Array(2), out));
    rejects(TypeError, 'rng must be a Uint32Array', () => model.sample(0, 1, new Int32Array(4) as never, out));
    rejects(RangeError, 'all zero', () => model.sample(0, 1, new Uint32Array(4), out));
    rejects(TypeError, 'out must be an Int32Array', () => model.sample(0, 1, rng(), new Uint32Array(3) as never));
    rejects(RangeError, 'sample needs a model of one stream (this one has 2)', () => new addon.Model(spec(2)).sample(0, 1, rng(), out));
    rejects(RangeError, 'topK must be an integer from 0 to', () => model.sample(0, 1, rng(), out, -1));
    rejects(RangeError, 'topP must be a number > 0 and ≤ 1', () => model.sample(0, 1, rng(), out, 0, 0));
    rejects(RangeError, 'minP must be a number in [0, 1)', () => model.sample(0, 1, rng(), out, 0, 1, 1));
    rejects(RangeError, 'repetitionPenalty must be a number > 0 and ≤ 1000', () => model.sample(0, 1, rng(), out, 0, 1, 0, 0));
    rejects(RangeError, 'repetitionWindow must be an integer from 0 to', () => model.sample(0, 1, rng(), out, 0, 1, 0, 1.2, 1.5));
    rejects(TypeError, 'recent must be an Int32Array', () => model.sample(0, 1, rng(), out, 0, 1, 0, 1.2, 4, [1, 2] as never));
    rejects(RangeError, 'recent[0] = 6 is outside the vocabulary', () => model.sample(0, 1, rng(), out, 0, 1, 0, 1.2, 4, Int32Array.of(6)));
    const shared = new Int32Array(8);
    rejects(RangeError, 'recent and out must not overlap', () => model.sample(0, 1, rng(), shared.subarray(0, 4), 0, 1, 0, 1.2, 4, shared.subarray(2, 6)));
    model.sample(0, 1, rng(), out, 2, 0.9, 0.1, 1.2, 4, Int32Array.of(1, 2, 3));
    assert.ok(out.every((symbol) => symbol >= 0 && symbol < shape.vocab));
  });

  it('rejects settings that would not stay positive in float32', () => {
    const model = new addon.Model(spec());
    rejects(RangeError, 'settings.epsilon', () => model.optimize({ ...settings, epsilon: 1e-50 }, new Float32Array(P), new Float32Array(0), 1));
    rejects(RangeError, 'settings.eta', () => model.optimize({ ...settings, eta: 1e39 }, new Float32Array(P), new Float32Array(0), 1));
  });

  it('rejects a model whose scratch space would be huge, without aborting', () => {
    rejects(RangeError, 'scratch floats', () => new addon.Model({ ...spec(), seqLength: 1 << 20, streams: 4000, h: new Float32Array(16000), c: new Float32Array(16000) }));
  });

  it('refuses inputs that view memory the call writes, and reads those that view the weights', () => {
    const s = spec();
    const model = new addon.Model(s);
    rejects(RangeError, 'x and spec.grads must not overlap', () => model.forwardBackward(new Int32Array(s.grads.buffer, 0, 3), y, true, 0, 0, 0));
    rejects(RangeError, 'symbols and spec.h must not overlap', () => model.advance(new Int32Array(s.h.buffer, 0, 1)));
    rejects(RangeError, 'second and spec.params must not overlap', () => model.optimize(settings, s.params, new Float32Array(0), 1));
    const other = spec();
    other.params.fill(0);
    const weights = new Int32Array(other.params.buffer, 0, 3); // zeros: valid symbols, only read
    const expected = new addon.Model(spec()).forwardBackward(Int32Array.of(0, 0, 0), y, true, 0, 0, 0);
    assert.strictEqual(new addon.Model({ ...spec(), params: s.params }).forwardBackward(weights, y, true, 0, 0, 0), expected);
  });

  it('takes buffer pointers only after every getter has run', () => {
    const s = spec();
    const detaching = {
      ...s,
      get grads() {
        structuredClone(s.params.buffer, { transfer: [s.params.buffer as ArrayBuffer] });
        return s.grads;
      },
    };
    rejects(RangeError, 'spec.params must have length', () => new addon.Model(detaching));

    // Resizable ArrayBuffers are newer than the ES2022 typings.
    type Resizable = ArrayBuffer & { resize(bytes: number): void };
    const ResizableBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => Resizable;
    const resizable = new ResizableBuffer(P * 4, { maxByteLength: P * 4 });
    const second = new Float32Array(resizable); // length-tracking
    const shrinking = {
      ...settings,
      get clip() {
        resizable.resize(0);
        return 5;
      },
    };
    rejects(RangeError, 'second must have length', () => new addon.Model(spec()).optimize(shrinking, second, new Float32Array(0), 1));
  });

  it('accepts buffers on a SharedArrayBuffer', () => {
    const s = spec();
    const shared = new Float32Array(new SharedArrayBuffer(P * 4));
    shared.set(s.params);
    const loss = new addon.Model({ ...s, params: shared }).forwardBackward(x, y, true, 0, 0, 0);
    assert.strictEqual(loss, new addon.Model(spec()).forwardBackward(x, y, true, 0, 0, 0));
  });

  it('still computes the same results after all the rejected calls', () => {
    const [a, b] = [spec(), spec()];
    assert.strictEqual(new addon.Model(a).forwardBackward(x, y, true, 0, 0, 0), new addon.Model(b).forwardBackward(x, y, true, 0, 0, 0));
    assert.deepStrictEqual(Array.from(a.grads), Array.from(b.grads));
  });
});
