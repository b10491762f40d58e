// Updates in one call of the backend (ModelBackend.train, the compiled Model's train): the
// engine hands a backend several updates at once, and the numbers must be those of
// lossAndGradients then optimize called in turn, bit for bit, on every backend, across epoch
// starts (the states reset, the learning rate decays) and with dropout. Budget: 10 s.
import assert from 'assert';
import { MODEL_DEFAULTS, ModelConfig } from '../lib/model/config';
import { Engine, optimizerSettings } from '../lib/engine/engine';
import { BackendName } from '../lib/engine/model-backend';
import { decayedRate } from '../lib/model/optimizers';
import { nextWindows } from '../lib/model/stream-walk';
import { Rng } from '../lib/util/random';
import { COMPILED_BACKENDS } from './helpers';
import { arrayText } from '../lib/text/symbol-text';

const BACKENDS: BackendName[] = ['ts', ...COMPILED_BACKENDS];

/** A short text of 7 symbols: a few updates span an epoch, so calls end at epoch starts. */
const text = Uint8Array.from({ length: 60 }, (_, i) => (i * 5 + Math.floor(i / 7)) % 7);

const configs: [string, Partial<ModelConfig>][] = [
  ['the DD2424 configuration', {}],
  ['lstm 2 layers, 3 streams, dropout 0.3, Adam, lr decay 0.5 after epoch 1', { cell: 'lstm', layers: 2, batch: 3, dropout: 0.3, optimizer: 'adam', eta: 2e-3, lrDecay: 0.5, lrDecayAfter: 1 }],
  ['gru 1 layer, 2 streams, RMSprop, lr decay 0.9 after epoch 2', { cell: 'gru', batch: 2, optimizer: 'rmsprop', eta: 2e-3, lrDecay: 0.9, lrDecayAfter: 2 }],
];

const make = (config: ModelConfig, backend: BackendName) => new Engine(config, 7, arrayText(text), backend, Rng.fromSeed(config.seed));

/** The updates one at a time, as the engine made them before it handed over blocks: the oracle. */
function oneByOne(engine: Engine, config: ModelConfig, n: number): Float64Array {
  const { batch: B, seqLength: T, dropout, seed } = config;
  const backend = engine.backend;
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { starts, newEpoch } = nextWindows(text.length, B, T, engine.walk);
    if (newEpoch) [backend.h, backend.c].forEach((s) => s.fill(0));
    const x = Int32Array.from({ length: T * B }, (_, j) => text[starts[j % B] + Math.floor(j / B)]);
    const y = Int32Array.from({ length: T * B }, (_, j) => text[starts[j % B] + Math.floor(j / B) + 1]);
    const update = engine.step + 1;
    losses[i] = backend.lossAndGradients(x, y, dropout > 0 ? { p: dropout, seed, update } : undefined);
    const eta = decayedRate(config.eta, config.lrDecay, config.lrDecayAfter, engine.walk.epoch);
    backend.optimize({ ...optimizerSettings(config), eta }, update);
    engine.step = update;
  }
  return losses;
}

describe('updates in one call of the backend', function () {
  this.timeout(10000);

  for (const backend of BACKENDS) {
    for (const [name, changes] of configs) {
      it(`${backend}, ${name}: 40 updates in blocks equal them one by one, bit for bit, across 4 epoch starts`, () => {
        const config: ModelConfig = { ...MODEL_DEFAULTS, hidden: 6, seqLength: 8, ...changes };
        const [blocks, single] = [make(config, backend), make(config, backend)];
        const losses = new Float64Array(40);
        blocks.train(losses.subarray(0, 3)); // a call ending mid-epoch
        blocks.train(losses.subarray(3));
        const expected = oneByOne(single, config, 40);
        assert.ok(blocks.walk.epoch >= 4, `the walk went through ${blocks.walk.epoch} epochs`);
        assert.deepStrictEqual(Array.from(losses), Array.from(expected));
        for (const key of ['params', 'grads', 'second', 'first', 'h', 'c'] as const) {
          assert.deepStrictEqual(blocks.backend[key], single.backend[key], key);
        }
        assert.deepStrictEqual(blocks.walk, single.walk);
        assert.strictEqual(blocks.step, 40);
      });
    }
  }
});
