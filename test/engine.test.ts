// Training the one model on the float64 reference (lib/engine/engine.ts).
import assert from 'assert';
import path from 'path';
import { Corpus } from '../lib';
import { MODEL_DEFAULTS, ModelConfig } from '../lib/model/config';
import { Engine, modelShape } from '../lib/engine/engine';
import { Rng } from '../lib/util/random';
import { lossAndGradients, zeroState } from '../lib/model/reference';

const corpus = Corpus.fromFile(path.join(__dirname, 'golden', 'text.txt'));

/** The DD2424 configuration at m = 16 and learning rate eta, with changes. */
const dd2424 = (eta: number, changes: Partial<ModelConfig> = {}): ModelConfig => ({ ...MODEL_DEFAULTS, hidden: 16, eta, ...changes });

/** A reference engine on the whole text, and n of its updates' losses. */
const make = (config: ModelConfig) => new Engine(config, corpus.vocabSize, corpus.symbols, 'ts', Rng.fromSeed(config.seed));
const train = (engine: Engine, n: number) => {
  const losses = new Float64Array(n);
  engine.train(losses);
  return losses;
};

describe('engine (float64 reference)', () => {
  it("the DD2424 configuration starts from min-char-rnn's weights: U, W, V drawn from N(0, σ²) in that order, the biases 0", () => {
    const engine = make(dd2424(0.01));
    const rng = Rng.fromSeed(42);
    const params = engine.parameters();
    for (const name of ['layers.0.Wx', 'layers.0.Wh', 'V']) {
      assert.deepStrictEqual(Array.from(params[name]), Array.from(params[name], () => Math.fround(0.01 * rng.normal())), name);
    }
    for (const name of ['layers.0.b', 'c']) assert.ok(params[name].every((v) => v === 0), name);
  });

  it('lstm, 2 layers, 3 streams, dropout 0.3, Adam: N + N updates from a copied state equal 2N, byte for byte', () => {
    const settings = dd2424(2e-3, { cell: 'lstm', hidden: 8, layers: 2, batch: 3, seqLength: 10, dropout: 0.3, optimizer: 'adam' });
    const whole = make(settings);
    const wholeLosses = train(whole, 50);
    const first = make(settings);
    const firstLosses = train(first, 25);
    const resumed = make(settings);
    const from = first.backend;
    const to = resumed.backend;
    for (const key of ['params', 'second', 'first', 'h', 'c'] as const) to[key].set(from[key]);
    Object.assign(resumed.walk, first.walk);
    resumed.step = first.step;
    const secondLosses = train(resumed, 25);
    assert.deepStrictEqual([...firstLosses, ...secondLosses], Array.from(wholeLosses));
    assert.deepStrictEqual(resumed.backend.params, whole.backend.params);
  });

  it('an lstm learns: the loss of 2 × 16 units, 4 streams, Adam falls well below a uniform guess', () => {
    const trainer = make(dd2424(1e-2, { cell: 'lstm', layers: 2, batch: 4, seqLength: 16, optimizer: 'adam' }));
    const losses = train(trainer, 150);
    const uniform = 16 * Math.log(corpus.vocabSize);
    const late = losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
    assert.ok(Math.abs(losses[0] - uniform) < 0.5, `first loss ${losses[0]} vs ${uniform}`);
    assert.ok(late < 0.8 * uniform, `mean of the last 20 losses ${late} vs uniform ${uniform}`);
  });

  it('refuses a text too short for the streams', () => {
    assert.throws(() => make(dd2424(0.1, { batch: 50 })), /per stream; seq-length 25 needs at least 26/);
  });

  it('the validation loss: nats per character over the whole held-out text, the same for any window', () => {
    const trainer = make(dd2424(1e-2, { cell: 'gru', layers: 2, batch: 2, optimizer: 'adam' }));
    const shape = modelShape(dd2424(1e-2, { cell: 'gru', layers: 2 }), corpus.vocabSize);
    const held = corpus.indices.subarray(900);
    const validationLoss = (window?: number) => trainer.backend.validationLoss(held, window);
    const before = validationLoss();
    assert.ok(Math.abs(before - Math.log(corpus.vocabSize)) < 0.05, `untrained: ${before} vs ln K ${Math.log(corpus.vocabSize)}`);
    train(trainer, 120);
    const params = Float64Array.from(trainer.backend.params);
    const after = validationLoss(37);
    // The same as one block over the whole text from a zero state, divided by the characters predicted.
    const x = Array.from({ length: held.length - 1 }, (_, t) => [held[t]]);
    const y = Array.from({ length: held.length - 1 }, (_, t) => [held[t + 1]]);
    const direct = lossAndGradients(shape, Float64Array.from(trainer.backend.params), undefined, zeroState(shape, 1), x, y) / (held.length - 1);
    assert.ok(Math.abs(after - direct) < 1e-12 * direct, `${after} vs ${direct}`);
    assert.ok(Math.abs(validationLoss(1000) - after) < 1e-12 * after);
    assert.deepStrictEqual(trainer.backend.params, params, 'the model is not changed');
    assert.ok(after < before - 0.3, `trained ${after} vs untrained ${before}`);
  });
});
