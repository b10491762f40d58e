// Boundary fuzz of the native addon (the Model, parameterTable) and of the WebAssembly backend's
// same entry points: scripts/fuzz-native.ts calls every export with seeded random arguments in a
// child process; only TypeError / RangeError (or Error "out of memory") may come back, never a
// crash, and valid calls give the same bytes after the fuzz. The wasm backend must also refuse exactly what the addon refuses.
// RNN_FUZZ_CALLS sets the number of calls (default 3,000), RNN_FUZZ_SEED the seed (default 1).
import assert from 'assert';
import { loadCompiled, loadNative } from '../lib/engine/native';
import { differingOutcomes, runInChild } from '../harness/fuzz-native';

const calls = Number(process.env.RNN_FUZZ_CALLS ?? 3000);
const seed = Number(process.env.RNN_FUZZ_SEED ?? 1);

for (const backend of ['native', 'wasm'] as const) {
  describe(`${backend} boundary fuzz`, function () {
    this.timeout(120_000);

    before(function () {
      const loaded = loadCompiled(backend);
      // The addon may be absent (the ts fallback is tested then); the .wasm is built by
      // scripts/setup.sh and must be there: a missing one fails here rather than skipping.
      if (backend === 'native' && !loaded.addon) this.skip();
      assert.ok(loaded.addon, `the ${backend} backend must load: ${loaded.error}`);
    });

    it(`survives ${calls} seeded random calls (seed ${seed}) with only TypeError / RangeError, and valid calls unchanged`, () => {
      const result = runInChild(seed, calls, { timeoutMs: 100_000, env: { RNN_FUZZ_BACKEND: backend } });
      assert.ok(result.report?.ok && result.status === 0, result.summary);
      const outcomes = result.report!.outcomes;
      const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
      assert.strictEqual(total, calls);
      // Every export both succeeded and refused at least once: the fuzz reaches past the checks.
      for (const fn of ['new Model', 'Model.forwardBackward', 'Model.optimize', 'Model.advance', 'Model.sample', 'parameterTable']) {
        for (const outcome of ['ok', 'TypeError', 'RangeError']) {
          if (calls >= 1000) assert.ok((outcomes[`${fn}: ${outcome}`] ?? 0) > 0, `${fn}: no "${outcome}" in ${calls} calls`);
        }
      }
    });
  });
}

describe('wasm boundary checks', function () {
  this.timeout(120_000);

  it(`refuse exactly the calls the addon refuses, with the same error class (${calls} calls, seed ${seed})`, function () {
    const native = loadNative();
    if (!native.addon) this.skip();
    const wasm = loadCompiled('wasm');
    assert.ok(wasm.addon, `the wasm backend must load: ${wasm.error}`);
    const differing = differingOutcomes(native.addon, wasm.addon, seed, calls);
    assert.deepStrictEqual(differing.slice(0, 5), []);
  });
});

describe('boundary fuzz harness', function () {
  it('reports a crash of the worker with its seed and iteration', () => {
    const result = runInChild(5, 10, { env: { RNN_FUZZ_SELFTEST_CRASH: '7' } });
    assert.strictEqual(result.signal, 'SIGSEGV');
    assert.strictEqual(result.crashedAt, 7);
    assert.match(result.summary, /seed 5: the worker crashed .* at iteration 7/);
    assert.match(result.summary, /RNN_FUZZ_SEED=5 RNN_FUZZ_ONLY=7/);
  });
});
