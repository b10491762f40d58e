// The walk of B parallel streams (lib/model/stream-walk.ts).
import assert from 'assert';
import { nextWindows, sliceLength } from '../lib/model/stream-walk';
import { UserError } from '../lib';

describe('the walk of B parallel streams', () => {
  it('with one stream, is min-char-rnn\'s walk: windows every T characters, a new epoch when fewer than T + 1 remain', () => {
    const T = 25;
    const walk = { position: 0, epoch: 1 };
    // 181 characters: windows at 0, 25, ..., 150 (31 remain at 150; 6 at 175), then epoch 2 at 0.
    for (let update = 0; update < 40; update++) {
      const { starts, newEpoch } = nextWindows(181, 1, T, walk);
      assert.deepStrictEqual([starts[0], walk.epoch, newEpoch], [(update % 7) * T, 1 + Math.floor(update / 7), update > 0 && update % 7 === 0], `update ${update + 1}`);
    }
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
