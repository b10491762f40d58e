// The tables defined once in TypeScript and computed again in C++: the parameter layout and the
// model's limits must agree entry by entry with what the built addon uses.
import assert from 'assert';
import { loadNative } from '../lib';
import { makeLayout } from '../lib/layout';
import { LIMITS } from '../lib/limits';

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
});
