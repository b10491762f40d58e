// The walk of B parallel streams (lib/stream-walk.ts).
import assert from 'assert';
import { makeLayout } from '../lib/layout';
import * as reference from '../lib/reference';
import { nextWindows, sliceLength } from '../lib/stream-walk';
import { UserError } from '../lib';

describe('the walk of B parallel streams', () => {
  it('with one stream, is the vanilla walk: the same windows and epochs over several epochs', () => {
    const corpus = Uint8Array.from({ length: 181 }, (_, i) => i % 5);
    const T = 25;
    const walk = Float64Array.of(0, 1);
    const layout = makeLayout(2, 5);
    const params = new Float64Array(layout.total);
    const streams = { position: 0, epoch: 1 };
    for (let update = 0; update < 40; update++) {
      const before = walk[0];
      reference.train(layout, params, new Float64Array(layout.total), new Float64Array(layout.total), new Float64Array(2), corpus, walk, { seqLength: T, eta: 0.1, epsilon: 1e-8, clip: 5 }, new Float64Array(1));
      const vanillaStart = walk[0] - T; // train moved the position on by T from the window's start
      const { starts } = nextWindows(corpus.length, 1, T, streams);
      assert.deepStrictEqual([starts[0], streams.epoch], [vanillaStart, walk[1]], `update ${update + 1} (position before ${before})`);
    }
    assert.ok(streams.epoch >= 5, 'several epochs were walked');
  });

  it('with three streams, each stays in its own slice and they start epochs together', () => {
    const N = 1000;
    const T = 50;
    const slice = sliceLength(N, 3, T);
    assert.strictEqual(slice, 333);
    const walk = { position: 0, epoch: 1 };
    const seen: number[][] = [];
    let newEpochs = 0;
    for (let update = 0; update < 20; update++) {
      const { starts, newEpoch } = nextWindows(N, 3, T, walk);
      if (newEpoch) newEpochs++;
      starts.forEach((start, b) => {
        assert.ok(start >= b * slice && start + T + 1 <= (b + 1) * slice, `stream ${b} at ${start}`);
      });
      seen.push(starts);
    }
    // ⌊(333 − 51) / 50⌋ + 1 = 6 updates an epoch: updates 7, 13 and 19 start new ones.
    assert.deepStrictEqual(seen.slice(0, 7).map((s) => s[1]), [333, 383, 433, 483, 533, 583, 333]);
    assert.strictEqual(newEpochs, 3);
    assert.strictEqual(walk.epoch, 4);
  });

  it('refuses a text too short for the streams, saying what would do', () => {
    assert.throws(() => sliceLength(100, 4, 25), (e: Error) => e instanceof UserError && /leaves 25 per stream; seq-length 25 needs at least 26/.test(e.message));
  });
});
