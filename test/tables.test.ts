// The tables defined once in TypeScript and computed again in C++: the parameter layout and the
// model's limits must agree entry by entry with what the built addon uses.
import assert from 'assert';
import { loadNative } from '../lib';
import { makeLayout } from '../lib/model/version1-names';
import { LIMITS, stackedScratchFloats } from '../lib/model/limits';
import { CellKind, stackedLayout } from '../lib/model/reference';

describe('tables shared with the addon', () => {
  const addon = () => {
    const { addon, error } = loadNative();
    assert.ok(addon, `the native addon must load: ${error}`);
    return addon;
  };

  it('the parameter layout: name, shape, initialisation, offset and length of every entry', () => {
    for (const [m, K] of [[1, 1], [5, 65], [100, 60], [7, 3], [8192, 2]]) {
      const layout = makeLayout(m, K);
      const expected = layout.parameters.map(({ name, shape, init, offset, length }) => ({ name, shape: [...shape], init, offset, length }));
      assert.deepStrictEqual(addon().parameterLayout(m, K), expected, `m=${m}, K=${K}`);
      assert.strictEqual(layout.total, expected.reduce((sum, p) => sum + p.length, 0));
    }
  });

  it('the limits (lib/model-limits.json) the addon was compiled with', () => {
    assert.deepStrictEqual(addon().limits(), { ...LIMITS });
  });

  const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];

  it('the general model\'s parameter table (stackedLayout) for each cell × {1, 2, 3} layers', () => {
    for (const cell of CELLS) {
      for (const layers of [1, 2, 3]) {
        for (const [hidden, vocab] of [[1, 1], [5, 65], [7, 3]]) {
          const shape = { cell, vocab, hidden, layers };
          const { parameters } = stackedLayout(shape);
          assert.deepStrictEqual(addon().stackedLayout(cell, vocab, hidden, layers), parameters, JSON.stringify(shape));
        }
      }
    }
  });

  it('the general model\'s scratch: the addon refuses a model beyond the limit, naming stackedScratchFloats\'s number', () => {
    for (const cell of CELLS) {
      for (const [layers, streams, seqLength] of [[1, 4000, 1000], [2, 700, 900], [3, 50, 20000]]) {
        const shape = { cell, vocab: 65, hidden: 64, layers };
        const { floats, limit } = stackedScratchFloats(shape, streams, seqLength);
        assert.strictEqual(limit, LIMITS.maxWorkspaceFloats);
        assert.ok(floats > limit, `${JSON.stringify(shape)}: pick a larger example`);
        const { total } = stackedLayout(shape);
        const states = layers * streams * 64;
        const spec = { ...shape, streams, seqLength, params: new Float32Array(total), grads: new Float32Array(total), h: new Float32Array(states), c: new Float32Array(states) };
        assert.throws(() => new (addon().StackedModel)(spec), (error: Error) => error instanceof RangeError && error.message.includes(`needs ${floats} scratch floats`), `${cell}, ${layers} layers`);
      }
    }
  });
});
