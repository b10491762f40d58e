// Boundary fuzz of the native addon (issue #6; the general model's StackedModel and stackedLayout
// since issue 10): scripts/fuzz-native.ts calls every export with seeded random arguments in a
// child process; only TypeError / RangeError (or Error "out of memory") may come back, never a
// crash, and valid calls give the same bytes after the fuzz.
// RNN_FUZZ_CALLS sets the number of calls (default 3,000), RNN_FUZZ_SEED the seed (default 1).
import assert from 'assert';
import { loadNative } from '../lib';
import { runInChild } from '../harness/fuzz-native';

describe('native boundary fuzz', function () {
  this.timeout(120_000);
  const calls = Number(process.env.RNN_FUZZ_CALLS ?? 3000);
  const seed = Number(process.env.RNN_FUZZ_SEED ?? 1);

  before(function () {
    if (!loadNative().addon) this.skip();
  });

  it(`survives ${calls} seeded random calls (seed ${seed}) with only TypeError / RangeError, and valid calls unchanged`, () => {
    const result = runInChild(seed, calls, { timeoutMs: 100_000 });
    assert.ok(result.report?.ok && result.status === 0, result.summary);
    const outcomes = result.report!.outcomes;
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    assert.strictEqual(total, calls);
    // Every export both succeeded and refused at least once: the fuzz reaches past the checks.
    const stacked = ['new StackedModel', 'StackedModel.forwardBackward', 'StackedModel.optimize', 'StackedModel.advance', 'StackedModel.sample', 'stackedLayout'];
    for (const fn of ['lossAndGradients', 'train', 'advance', 'sample', ...stacked]) {
      for (const outcome of ['ok', 'TypeError', 'RangeError']) {
        if (calls >= 1000) assert.ok((outcomes[`${fn}: ${outcome}`] ?? 0) > 0, `${fn}: no "${outcome}" in ${calls} calls`);
      }
    }
  });

  it('reports a crash of the worker with its seed and iteration', () => {
    const result = runInChild(5, 10, { env: { RNN_FUZZ_SELFTEST_CRASH: '7' } });
    assert.strictEqual(result.signal, 'SIGSEGV');
    assert.strictEqual(result.crashedAt, 7);
    assert.match(result.summary, /seed 5: the worker crashed .* at iteration 7/);
    assert.match(result.summary, /RNN_FUZZ_SEED=5 RNN_FUZZ_ONLY=7/);
  });
});
