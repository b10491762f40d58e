// `sweep --emit slurm` end to end on a real single-node Slurm (scripts/slurm-local.sh): the emitted
// job array runs every run of the sweep, one task is requeued mid-run (as a preemption) and resumes
// its run from its checkpoint, and every run ends as one uninterrupted run: each logged step once,
// the requeued run's losses equal to a run that was never stopped.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { generatedText } from './helpers';
import { cancelJob, requeueTask, submit, useLocalSlurm, waitForRunning, waitForTasks, waitUntil } from './slurm';

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
// Long enough (about 2 s here, most of it after the first checkpoint) for the requeue to land while
// the run trains also on a faster machine; the training itself is tiny (--hidden 8).
const STEPS = 60_000;
const LOG_EVERY = 100;
const CHECKPOINT_EVERY = 1000;

function cli(args: string[]) {
  return spawnSync('nice', ['-n', '19', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** loss.csv's rows without elapsed_s: step, epoch, loss, smooth_loss. */
function lossRows(runDir: string): string[] {
  const lines = readFileSync(path.join(runDir, 'loss.csv'), 'utf8').trimEnd().split('\n').slice(1);
  return lines.map((line) => line.split(',').slice(0, 4).join(','));
}

describe('Slurm: sweep --emit slurm as a job array on the local cluster', function () {
  this.timeout(120_000);
  before(function () {
    if (cli(['sweep', '--help']).status !== 0) {
      console.warn(`SKIPPED: ${this.test?.parent?.fullTitle()}: dist/cli.js has no sweep command yet`);
      this.skip();
    }
  });
  useLocalSlurm(this);
  let dir: string;
  let jobId: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-slurm-sweep-'));
    jobId = undefined;
  });
  afterEach(() => {
    if (jobId) cancelJob(jobId);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs all 3 runs once, the requeued one resumed exactly', async () => {
    const data = path.join(dir, 'text.txt');
    writeFileSync(data, generatedText(50_000));
    const sweepDir = path.join(dir, 'sweep');
    const planned = cli([
      'sweep', '--grid', 'eta=0.05,0.1,0.2', '--data', data, '--hidden', '8', '--steps', String(STEPS),
      '--log-every', String(LOG_EVERY), '--checkpoint-every', String(CHECKPOINT_EVERY), '--sample-every', '0',
      '--out', sweepDir, '--emit', 'slurm', '--slurm-time', '5', '--slurm-mem', '500M', '--slurm-cpus', '1',
    ]);
    assert.strictEqual(planned.status, 0, planned.stderr);
    const runs: { index: number; dir: string; args: string[] }[] = JSON.parse(readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')).runs;
    assert.strictEqual(runs.length, 3);
    const runDir = (index: number) => path.join(sweepDir, runs[index].dir);

    jobId = submit(path.join(sweepDir, 'sweep.slurm'));
    // Requeued after its first checkpoint, while it trains: it must resume from there.
    await waitForRunning(jobId, 1, 30_000);
    await waitUntil(() => existsSync(path.join(runDir(1), 'latest.safetensors')), 'run 1 checkpointed', 30_000);
    requeueTask(jobId, 1);
    const tasks = await waitForTasks(jobId, 3, 90_000);

    const slurmOutput = (task: number) => {
      const file = path.join(sweepDir, `slurm-${jobId}_${task}.out`);
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '(no output file)';
      return `--- tail of ${file}\n${text.trimEnd().split('\n').slice(-15).join('\n')}`;
    };
    for (const task of tasks) {
      assert.strictEqual(task.state, 'COMPLETED', `task ${task.task}: ${task.state}, exit ${task.exitCode}\n${slurmOutput(task.task)}`);
    }
    assert.deepStrictEqual(tasks.map((t) => t.restarts), [0, 1, 0]);
    // The requeue stopped run 1 before its end: it was resumed (config.json records each resume).
    // The others ran once, from start to end.
    const resumes = (index: number) => JSON.parse(readFileSync(path.join(runDir(index), 'config.json'), 'utf8')).resumed;
    assert.strictEqual(resumes(0), undefined);
    assert.strictEqual(resumes(2), undefined);
    assert.ok(
      Array.isArray(resumes(1)) && resumes(1).length === 1,
      `run 1 should have been resumed once, resumed: ${JSON.stringify(resumes(1))} (did it end before the requeue?)\n${slurmOutput(1)}`,
    );

    const everyLoggedStep = Array.from({ length: STEPS / LOG_EVERY }, (_, i) => (i + 1) * LOG_EVERY);
    for (const index of [0, 1, 2]) {
      assert.ok(existsSync(path.join(runDir(index), 'done.json')), `run ${index} has no done.json`);
      const steps = lossRows(runDir(index)).map((row) => Number(row.split(',')[0]));
      assert.deepStrictEqual(steps, everyLoggedStep, `run ${index}: loss.csv steps`);
    }

    // The same run never stopped: the same losses at every logged step (the resume is exact).
    const uninterrupted = path.join(dir, 'uninterrupted');
    const reference = cli(['train', ...runs[1].args, '--out', uninterrupted, '--quiet']);
    assert.strictEqual(reference.status, 0, reference.stderr);
    assert.deepStrictEqual(lossRows(runDir(1)), lossRows(uninterrupted));
  });
});
