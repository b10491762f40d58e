// A real single-node Slurm (scripts/slurm-local.sh) runs a job array in which one task is requeued
// mid-run, as a preemption would: the helpers in test/slurm.ts that the sweep test builds on.
import assert from 'assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import os from 'os';
import path from 'path';
import { cancelJob, requeueTask, submit, useLocalSlurm, waitForRunning, waitForTasks, waitUntil } from './slurm';

describe('Slurm: a job array on the local single-node cluster', function () {
  this.timeout(60_000);
  useLocalSlurm(this);
  let dir: string;
  let jobId: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-slurm-'));
    jobId = undefined;
  });
  afterEach(() => {
    if (jobId) cancelJob(jobId);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs all 3 tasks to the end, one of them requeued while running and run again', async () => {
    // Each run of a task logs "start <restart count>"; only a run that was not stopped logs "done".
    const script = path.join(dir, 'array.sh');
    writeFileSync(script, [
      '#!/bin/bash',
      '#SBATCH --array=0-2',
      '#SBATCH --requeue',
      '#SBATCH --cpus-per-task=1',
      '#SBATCH --time=2',
      `#SBATCH --output=${dir}/slurm-%A_%a.out`,
      `log=${dir}/task-$SLURM_ARRAY_TASK_ID.log`,
      'echo "start ${SLURM_RESTART_COUNT:-0}" >> "$log"',
      'sleep 3',
      'echo done >> "$log"',
      '',
    ].join('\n'));
    jobId = submit(script);
    const taskLog = (task: number) => path.join(dir, `task-${task}.log`);

    await waitForRunning(jobId, 1, 20_000);
    await waitUntil(() => existsSync(taskLog(1)), 'task 1 runs: its log', 10_000);
    requeueTask(jobId, 1);
    const tasks = await waitForTasks(jobId, 3, 45_000);

    assert.deepStrictEqual(tasks.map((t) => [t.task, t.state, t.restarts]), [
      [0, 'COMPLETED', 0],
      [1, 'COMPLETED', 1],
      [2, 'COMPLETED', 0],
    ]);
    const logs = [0, 1, 2].map((task) => readFileSync(taskLog(task), 'utf8'));
    assert.deepStrictEqual(logs, ['start 0\ndone\n', 'start 0\nstart 1\ndone\n', 'start 0\ndone\n']);
  });
});
