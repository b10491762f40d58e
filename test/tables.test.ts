// The tables defined once in TypeScript and computed again in C++: the model's parameter table and
// its limits must agree entry by entry with what the built addon and the WebAssembly module
// use (the module computes in wasm32: its sizes must not wrap around at 2^32).
import assert from 'assert';
import { LIMITS, scratchFloats } from '../lib/model/limits';
import { loadCompiled } from '../lib/engine/native';
import { CellKind, parameterTable } from '../lib/model/reference';
import { COMPILED_BACKENDS } from './helpers';

for (const engine of COMPILED_BACKENDS) describe(`tables shared with the ${engine} backend`, () => {
  const addon = () => {
    const { addon, error } = loadCompiled(engine);
    assert.ok(addon, `the ${engine} backend must load: ${error}`);
    return addon;
  };

  it('the limits (lib/model-limits.json) it was compiled with', () => {
    assert.deepStrictEqual(addon().limits(), { ...LIMITS });
    assert.ok(LIMITS.maxVocabulary <= 2 ** 16, 'a corpus is a Uint16Array of symbols');
  });

  const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];

  it('the general model\'s parameter table (parameterTable) for each cell × {1, 2, 3} layers', () => {
    for (const cell of CELLS) {
      for (const layers of [1, 2, 3]) {
        for (const [hidden, vocab] of [[1, 1], [5, 65], [7, 3]]) {
          const shape = { cell, vocab, hidden, layers };
          const { parameters } = parameterTable(shape);
          assert.deepStrictEqual(addon().parameterTable(cell, vocab, hidden, layers), parameters, JSON.stringify(shape));
        }
      }
    }
  });

  it('the general model\'s scratch: the addon refuses a model beyond the limit, naming scratchFloats\'s number', () => {
    for (const cell of CELLS) {
      for (const [layers, streams, seqLength] of [[1, 4000, 1000], [2, 700, 900], [3, 50, 20000]]) {
        const shape = { cell, vocab: 65, hidden: 64, layers };
        const { floats, limit } = scratchFloats(shape, streams, seqLength);
        assert.strictEqual(limit, LIMITS.maxWorkspaceFloats);
        assert.ok(floats > limit, `${JSON.stringify(shape)}: pick a larger example`);
        const { total } = parameterTable(shape);
        const states = layers * streams * 64;
        const spec = { ...shape, streams, seqLength, params: new Float32Array(total), grads: new Float32Array(total), h: new Float32Array(states), c: new Float32Array(states) };
        assert.throws(() => new (addon().Model)(spec), (error: Error) => error instanceof RangeError && error.message.includes(`needs ${floats} scratch floats`), `${cell}, ${layers} layers`);
      }
    }
  });

  it('counts beyond 2^32: the parameters of the largest shapes and the scratch of the most streams and steps, named exactly', () => {
    const refused = (spec: object, words: string) =>
      assert.throws(() => new (addon().Model)({ params: new Float32Array(0), grads: new Float32Array(0), h: new Float32Array(0), c: new Float32Array(0), ...spec } as never), (error: Error) => error instanceof RangeError && error.message.includes(words), words);
    for (const cell of CELLS) {
      const shape = { cell, vocab: LIMITS.maxVocabulary, hidden: LIMITS.maxHidden, layers: LIMITS.maxLayers };
      const { total } = parameterTable(shape);
      assert.ok(total > 2 ** 32);
      refused({ ...shape, streams: 1, seqLength: 1 }, `the model has ${total} parameters`);
      const small = { cell, vocab: 2, hidden: 1, layers: 1 };
      const { floats } = scratchFloats(small, LIMITS.maxStreams, LIMITS.maxSeqLength);
      assert.ok(floats > 2 ** 32);
      refused({ ...small, streams: LIMITS.maxStreams, seqLength: LIMITS.maxSeqLength }, `needs ${floats} scratch floats`);
    }
  });
});
