// Training the general model on the float64 reference (lib/stacked-trainer.ts).
import assert from 'assert';
import path from 'path';
import { Corpus, Trainer } from '../lib';
import { OPTIMIZER_DEFAULTS } from '../lib/optimizers';
import { Rng } from '../lib/random';
import { stackedLayout, stackedLossAndGradients, zeroState } from '../lib/stacked-reference';
import { StackedSettings, StackedTrainer } from '../lib/stacked-trainer';
import { initialParams } from '../lib/trainer';

const corpus = Corpus.fromFile(path.join(__dirname, 'golden', 'text.txt'));

const vanillaLike = (eta: number): StackedSettings => ({
  cell: 'rnn',
  vocab: corpus.vocabSize,
  hidden: 16,
  layers: 1,
  streams: 1,
  seqLength: 25,
  dropout: 0,
  sigma: 0.01,
  seed: 42,
  optimizer: { kind: 'adagrad', ...OPTIMIZER_DEFAULTS.adagrad, eta },
  lrDecay: 1,
  lrDecayAfter: 10,
});

/** A reference trainer on the whole text, and n of its updates' losses. */
const make = (settings: StackedSettings) => new StackedTrainer(corpus.indices, settings, 'ts');
const train = (trainer: StackedTrainer, n: number) => {
  const losses = new Float64Array(n);
  trainer.train(losses);
  return losses;
};

describe('stacked trainer (float64 reference)', () => {
  it('rnn, one layer, one stream, AdaGrad starts from the vanilla weights and trains as the vanilla model', () => {
    const stacked = make(vanillaLike(0.01));
    const vanilla = new Trainer(corpus, { backend: 'ts', hidden: 16, eta: 0.01 });
    const { parameters } = stackedLayout(stacked.settings);
    const names: Record<string, 'U' | 'W' | 'b' | 'V' | 'c'> = { 'layers.0.Wx': 'U', 'layers.0.Wh': 'W', 'layers.0.b': 'b', V: 'V', c: 'c' };
    const start = initialParams(vanilla.layout, 0.01, Rng.fromSeed(42));
    for (const p of parameters) {
      const [offset, length] = vanilla.layout.slices[names[p.name]];
      assert.deepStrictEqual(stacked.params.subarray(p.offset, p.offset + p.length), start.subarray(offset, offset + length), p.name);
    }
    // Three epochs of the 1,076-character text; summation order differs, so not bit for bit.
    const a = train(stacked, 100);
    const b = vanilla.train(100);
    a.forEach((loss, i) => assert.ok(Math.abs(loss - b[i]) <= 1e-9 * b[i], `update ${i + 1}: ${loss} vs ${b[i]}`));
    assert.deepStrictEqual([stacked.walk.position, stacked.walk.epoch], [vanilla.position, vanilla.epoch]);
  });

  it('lstm, 2 layers, 3 streams, dropout 0.3, Adam: N + N updates from a copied state equal 2N, byte for byte', () => {
    const settings: StackedSettings = {
      ...vanillaLike(2e-3),
      cell: 'lstm',
      hidden: 8,
      layers: 2,
      streams: 3,
      seqLength: 10,
      dropout: 0.3,
      optimizer: { kind: 'adam', ...OPTIMIZER_DEFAULTS.adam },
    };
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
    assert.deepStrictEqual(resumed.params, whole.params);
  });

  it('an lstm learns: the loss of 2 × 16 units, 4 streams, Adam falls well below a uniform guess', () => {
    const trainer = make({
      ...vanillaLike(2e-3),
      cell: 'lstm',
      layers: 2,
      streams: 4,
      seqLength: 16,
      optimizer: { kind: 'adam', ...OPTIMIZER_DEFAULTS.adam, eta: 1e-2 },
    });
    const losses = train(trainer, 150);
    const uniform = 16 * Math.log(corpus.vocabSize);
    const late = losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
    assert.ok(Math.abs(losses[0] - uniform) < 0.5, `first loss ${losses[0]} vs ${uniform}`);
    assert.ok(late < 0.8 * uniform, `mean of the last 20 losses ${late} vs uniform ${uniform}`);
  });

  it('refuses a text too short for the streams', () => {
    assert.throws(() => make({ ...vanillaLike(0.1), streams: 50 }), /per stream; seq-length 25 needs at least 26/);
  });

  it('the validation loss: nats per character over the whole held-out text, the same for any window', () => {
    const trainer = make({ ...vanillaLike(1e-2), cell: 'gru', layers: 2, streams: 2, optimizer: { kind: 'adam', ...OPTIMIZER_DEFAULTS.adam, eta: 1e-2 } });
    const held = corpus.indices.subarray(900);
    const validationLoss = (window?: number) => trainer.backend.validationLoss(held, window);
    const before = validationLoss();
    assert.ok(Math.abs(before - Math.log(corpus.vocabSize)) < 0.05, `untrained: ${before} vs ln K ${Math.log(corpus.vocabSize)}`);
    train(trainer, 120);
    const params = Float64Array.from(trainer.params);
    const after = validationLoss(37);
    // The same as one block over the whole text from a zero state, divided by the characters predicted.
    const x = Array.from({ length: held.length - 1 }, (_, t) => [held[t]]);
    const y = Array.from({ length: held.length - 1 }, (_, t) => [held[t + 1]]);
    const direct = stackedLossAndGradients(trainer.settings, Float64Array.from(trainer.params), undefined, zeroState(trainer.settings, 1), x, y) / (held.length - 1);
    assert.ok(Math.abs(after - direct) < 1e-12 * direct, `${after} vs ${direct}`);
    assert.ok(Math.abs(validationLoss(1000) - after) < 1e-12 * after);
    assert.deepStrictEqual(trainer.params, params, 'the model is not changed');
    assert.ok(after < before - 0.3, `trained ${after} vs untrained ${before}`);
  });
});
