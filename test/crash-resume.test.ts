// SIGKILL at random moments (start-up, training, right after a checkpoint write) and resume:
// the checkpoints on disk always load, the step never goes back, and the run ends as one run.
// scripts/crash-resume.ts runs the same check with more kills (default 50).
import assert from 'assert';
import { crashResume } from '../harness/crash-resume';

describe('crash and resume (SIGKILL)', function () {
  this.timeout(60_000);

  it('survives 5 kills: every checkpoint loads, the step never goes back, the last resume completes', async () => {
    const figures = await crashResume({ kills: 5, seed: 7 });
    assert.deepStrictEqual(figures.failures, []);
    assert.strictEqual(figures.kills, 5);
    assert.strictEqual(figures.unreadable, 0);
    assert.ok(figures.checkpointsVerified >= 1, `${figures.checkpointsVerified} checkpoints verified`);
    assert.ok(figures.finalResumeOk && figures.lossCsvOk);
  });
});
