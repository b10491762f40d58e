// Sweeps end to end: run locally with --jobs 2, stopped by SIGINT and resumed; through GNU
// parallel from the emitted job list; sweep-task's idempotence, lock and SIGTERM. Each run's
// loss.csv proves it: every step exactly once, and the same numbers as an uninterrupted sweep.
import assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const STEPS = 4000;
const LOG_EVERY = 20;

describe('sweep end to end', function () {
  const root = mkdtempSync(path.join(tmpdir(), 'rnn-sweep-'));
  const text = path.join(root, 'text.txt');
  writeFileSync(text, generatedText(100_000));
  const plan = ['--grid', 'eta=0.05,0.1 hidden=8,12', '--data', text, '--steps', String(STEPS), '--log-every', String(LOG_EVERY), '--checkpoint-every', '200'];
  const runDirs = ['run-000', 'run-001', 'run-002', 'run-003'];

  const cliSync = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  const lossRows = (dir: string) =>
    readFileSync(path.join(dir, 'loss.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').slice(0, 4).join(',')); // without elapsed_s
  const finished = (sweep: string, run: string) => existsSync(path.join(sweep, run, 'done.json'));

  /** Each step of the log exactly once, in order, up to the last: no gap, no duplicate. */
  function assertEveryStepOnce(dir: string): void {
    const steps = lossRows(dir).map((row) => Number(row.split(',')[0]));
    assert.deepStrictEqual(steps, Array.from({ length: STEPS / LOG_EVERY }, (_, i) => (i + 1) * LOG_EVERY), dir);
  }

  // The uninterrupted sweep every other way of running the same plan must match.
  const reference = path.join(root, 'reference');
  before(function () {
    const result = cliSync(['sweep', ...plan, '--jobs', '2', '--out', reference]);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.match(result.stdout, /sweep: all 4 runs finished in /);
  });

  it('--jobs 2 stopped by SIGINT midway: each run checkpoints; --resume finishes each run exactly once, as the uninterrupted sweep', async () => {
    const out = path.join(root, 'interrupted');
    const child = spawn(process.execPath, [cli, 'sweep', ...plan, '--jobs', '2', '--out', out, '--json'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Midway: once a run has logged a fifth of its steps.
    const midway = () => runDirs.some((run) => existsSync(path.join(out, run, 'loss.csv')) && lossRows(path.join(out, run)).length >= STEPS / LOG_EVERY / 5);
    while (!midway()) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    assert.strictEqual(await exited, 130, stderr);
    assert.match(stderr, /^rnn-native: sweep stopped by SIGINT: \d of 4 runs finished; go on with: npx rnn-native sweep --resume .*\n$/);
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line));
    const stopped = events.filter((e) => e.event === 'stopped');
    // The run that was midway checkpointed; one the signal met as it was starting may have none.
    assert.ok(stopped.some((e) => e.checkpoint), stdout);
    for (const e of stopped) {
      assert.ok(!finished(out, e.dir));
      assert.strictEqual(existsSync(path.join(out, e.dir, 'latest.safetensors')), e.checkpoint);
      if (!e.checkpoint) continue;
      const step = readCheckpoint(path.join(out, e.dir, 'latest.safetensors')).training.step;
      assert.ok(step > 0 && step < STEPS, `${e.dir} stopped midway with a checkpoint (step ${step})`);
    }
    const doneBefore = runDirs.filter((run) => finished(out, run));
    assert.deepStrictEqual(events.at(-1), { event: 'end', finished: doneBefore.length, total: 4, failed: [], signal: 'SIGINT', dir: out });
    const markers = doneBefore.map((run) => readFileSync(path.join(out, run, 'done.json'), 'utf8'));

    const resumed = cliSync(['sweep', '--resume', out, '--jobs', '2', '--json']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    const started = resumed.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((e) => e.event === 'start').map((e) => e.dir);
    assert.deepStrictEqual(started.sort(), runDirs.filter((run) => !doneBefore.includes(run)), 'only the unfinished runs ran again');
    assert.deepStrictEqual(doneBefore.map((run) => readFileSync(path.join(out, run, 'done.json'), 'utf8')), markers, 'finished runs untouched');
    for (const run of runDirs) {
      assert.ok(finished(out, run), run);
      assertEveryStepOnce(path.join(out, run));
      assert.deepStrictEqual(lossRows(path.join(out, run)), lossRows(path.join(reference, run)), `${run}: the same losses as uninterrupted`);
    }
    assert.deepStrictEqual(JSON.parse(readFileSync(path.join(out, 'sweep.json'), 'utf8')).runs, JSON.parse(readFileSync(path.join(reference, 'sweep.json'), 'utf8')).runs);
  });

  it('SIGINT as the runs start (before train takes signals): they stop without harm, and --resume finishes them as uninterrupted', async () => {
    const out = path.join(root, 'at-start');
    const child = spawn(process.execPath, [cli, 'sweep', ...plan, '--jobs', '2', '--out', out, '--json'], { env });
    let stdout = '';
    const onData = (d: Buffer) => {
      stdout += d;
      if (!/"event":"start"/.test(stdout)) return;
      child.stdout.off('data', onData);
      child.kill('SIGINT');
    };
    child.stdout.on('data', onData);
    assert.strictEqual(await new Promise((resolve) => child.on('exit', resolve)), 130);
    assert.ok(runDirs.some((run) => !finished(out, run)));
    const resumed = cliSync(['sweep', '--resume', out, '--jobs', '2']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    for (const run of runDirs) {
      assertEveryStepOnce(path.join(out, run));
      assert.deepStrictEqual(lossRows(path.join(out, run)), lossRows(path.join(reference, run)), run);
    }
  });

  it('the sweep killed (SIGKILL): its running tasks stop with a checkpoint (as on SIGTERM), not train on unwatched', async () => {
    const out = path.join(root, 'runner-killed');
    const long = ['--grid', 'eta=0.05,0.1', '--data', text, '--hidden', '8', '--steps', '1000000', '--log-every', String(LOG_EVERY), '--checkpoint-every', '0'];
    const child = spawn(process.execPath, [cli, 'sweep', ...long, '--jobs', '2', '--out', out], { env });
    const locks = ['run-000', 'run-001'].map((run) => path.join(out, `.${run}.lock`));
    const training = () => ['run-000', 'run-001'].every((run) => existsSync(path.join(out, run, 'loss.csv')) && lossRows(path.join(out, run)).length >= 5);
    while (!training()) await new Promise((resolve) => setTimeout(resolve, 20));
    // The tasks' pids while they hold their locks: once the runner is gone they stop and remove them.
    const pids = locks.map((lock) => Number(readFileSync(lock, 'utf8')));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    try {
      for (let waited = 0; locks.some(existsSync) && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(!locks.some(existsSync), 'the tasks still run after 10 s');
      for (const run of ['run-000', 'run-001']) {
        const step = readCheckpoint(path.join(out, run, 'latest.safetensors')).training.step;
        const log = readFileSync(path.join(out, 'logs', `${run}.log`), 'utf8');
        assert.match(log, new RegExp(`stopped by SIGTERM at step ${step}; saved `));
        // A run of a sweep goes on with the sweep, not alone.
        assert.ok(log.includes(`resume with: npx rnn-native sweep --resume ${out}\n`), log);
      }
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL'); // a task left running by a failed assertion
        } catch {
          // gone, as it should be
        }
      }
    }
  });

  it('a sweep a runner is on: a second --resume and a new sweep into it are refused at once (exit 2, naming its pid), writing nothing', async () => {
    const out = path.join(root, 'in-use');
    // No checkpoint or sample while it runs: the files of the sweep stay the same.
    const long = ['--grid', 'eta=0.05,0.1', '--data', text, '--hidden', '8', '--steps', '1000000', '--log-every', String(LOG_EVERY), '--checkpoint-every', '0', '--sample-every', '0'];
    const planned = cliSync(['sweep', ...long, '--emit', 'parallel', '--out', out]);
    assert.strictEqual(planned.status, 0, planned.stderr);
    const first = spawn(process.execPath, [cli, 'sweep', '--resume', out, '--jobs', '2'], { env });
    let firstOut = '';
    first.stdout.on('data', (d) => (firstOut += d));
    const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
    try {
      const training = () => ['run-000', 'run-001'].every((run) => existsSync(path.join(out, run, 'loss.csv')));
      while (!training()) await new Promise((resolve) => setTimeout(resolve, 20));
      const files = () => readdirSync(out, { recursive: true }).map(String).sort();
      const before = files();
      const inUse = new RegExp(`^rnn-native: ${out}: in use by another rnn-native process \\(pid ${first.pid}\\); [^\n]*\n$`);
      const second = cliSync(['sweep', '--resume', out, '--jobs', '2']);
      assert.strictEqual(second.status, 2, second.stderr);
      assert.match(second.stderr, inUse);
      const fresh = cliSync(['sweep', '--grid', 'eta=0.3', '--data', text, '--steps', '10', '--out', out]);
      assert.strictEqual(fresh.status, 2, fresh.stderr);
      assert.match(fresh.stderr, inUse);
      assert.deepStrictEqual(files(), before, 'no file added or removed');
    } finally {
      first.kill('SIGINT');
    }
    assert.strictEqual(await exited, 130);
    assert.doesNotMatch(firstOut, /failed \(/);
    for (const run of ['run-000', 'run-001']) assert.doesNotMatch(readFileSync(path.join(out, 'logs', `${run}.log`), 'utf8'), /in use/);
  });

  it("a sweep's lock left by a runner that is gone does not block its --resume", () => {
    const out = path.join(root, 'stale-lock');
    const planned = cliSync(['sweep', '--grid', 'eta=0.05', '--data', text, '--hidden', '8', '--steps', '100', '--emit', 'parallel', '--out', out]);
    assert.strictEqual(planned.status, 0, planned.stderr);
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(path.join(out, '.lock'), String(gone));
    const resumed = cliSync(['sweep', '--resume', out]);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.ok(finished(out, 'run-000'));
    assert.ok(!existsSync(path.join(out, '.lock')), 'released at exit');
  });

  it('sweep.json edited after its runs trained: --resume and sweep-task refuse the run whose values changed (one line, exit 2, nothing run)', () => {
    const out = path.join(root, 'edited');
    const ran = cliSync(['sweep', '--grid', 'eta=0.05,0.1', '--data', text, '--hidden', '8', '--steps', '100', '--jobs', '2', '--out', out]);
    assert.strictEqual(ran.status, 0, ran.stderr);
    const file = path.join(out, 'sweep.json');
    const original = readFileSync(file, 'utf8');
    type Run = { varied: Record<string, unknown>; args: string[] };
    const edit = (change: (runs: Run[]) => void) => {
      const sweep = JSON.parse(original);
      change(sweep.runs);
      writeFileSync(file, JSON.stringify(sweep, null, 2) + '\n');
    };
    const setArg = (run: Run, flag: string, value: string) => (run.args[run.args.indexOf(flag) + 1] = value);
    const logs = () => ['run-000', 'run-001'].map((run) => readFileSync(path.join(out, 'logs', `${run}.log`), 'utf8'));
    const logsBefore = logs();
    const refused = (message: string | RegExp, commands = [['sweep', '--resume', out], ['sweep-task', out, '0']]) => {
      for (const command of commands) {
        const result = cliSync(command);
        assert.strictEqual(result.status, 2, result.stderr);
        if (typeof message === 'string') assert.strictEqual(result.stderr, `rnn-native: ${message}\n`);
        else assert.match(result.stderr, message);
      }
      assert.deepStrictEqual(logs(), logsBefore, 'nothing ran');
    };
    const mismatch = (run: string, given: string, field: string) =>
      `${file}: ${run} has ${given}, but ${path.join(out, run, 'config.json')} has ${field}, which the run trained with; ` +
      `put that back into sweep.json, or move ${path.join(out, run)} away to train the run anew`;

    // A finished run relabelled (its label and args alike) would be named with values it never trained with.
    edit(([run]) => {
      run.varied.eta = 0.07;
      setArg(run, '--eta', '0.07');
    });
    refused(mismatch('run-000', '--eta 0.07', 'eta 0.05'));
    edit(([run]) => setArg(run, '--steps', '200'));
    refused(mismatch('run-000', '--steps 200', 'steps 100'));
    edit(([run]) => setArg(run, '--data', path.join(root, 'other.txt')));
    refused(mismatch('run-000', `--data ${path.join(root, 'other.txt')}`, `data ${text}`));
    // The label alone: sweep.json would disagree with itself.
    edit(([, run]) => (run.varied.eta = 0.2));
    refused(/^rnn-native: .*sweep\.json: damaged: runs\[1\]\.varied\.eta is 0\.2, but its args give --eta 0\.1; make them agree\n$/);

    // The same text moved elsewhere is no edit.
    const moved = path.join(root, 'moved.txt');
    writeFileSync(moved, readFileSync(text));
    edit((runs) => runs.forEach((run) => setArg(run, '--data', moved)));
    const resumed = cliSync(['sweep', '--resume', out]);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
  });

  it('sweep.json edited before a run trained: the run trains with the values it names', () => {
    const out = path.join(root, 'edited-early');
    const planned = cliSync(['sweep', '--grid', 'eta=0.05,0.1', '--data', text, '--hidden', '8', '--steps', '100', '--emit', 'parallel', '--out', out]);
    assert.strictEqual(planned.status, 0, planned.stderr);
    const file = path.join(out, 'sweep.json');
    const sweep = JSON.parse(readFileSync(file, 'utf8'));
    sweep.runs[1].varied.eta = 0.07;
    sweep.runs[1].args[sweep.runs[1].args.indexOf('--eta') + 1] = '0.07';
    writeFileSync(file, JSON.stringify(sweep, null, 2) + '\n');
    const resumed = cliSync(['sweep', '--resume', out, '--jobs', '2']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /run-001 \(eta=0\.07\): finished/);
    assert.strictEqual(JSON.parse(readFileSync(path.join(out, 'run-001', 'config.json'), 'utf8')).eta, 0.07);
  });

  it('GNU parallel runs the emitted job list (parallel --will-cite --jobs 2 < jobs.txt)', function () {
    if (spawnSync('parallel', ['--version'], { encoding: 'utf8' }).error) {
      console.warn('SKIPPED: GNU parallel is not installed (apt-get install parallel): the job list is not run');
      this.skip();
    }
    const out = path.join(root, 'parallel');
    const emitted = cliSync(['sweep', ...plan, '--emit', 'parallel', '--jobs', '2', '--out', out]);
    assert.strictEqual(emitted.status, 0, emitted.stderr);
    const jobs = path.join(out, 'jobs.txt');
    assert.match(emitted.stdout, new RegExp(`run them with:\\n  parallel --will-cite --jobs 2 < ${jobs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
    const lines = readFileSync(jobs, 'utf8').trim().split('\n');
    assert.deepStrictEqual(lines, runDirs.map((_, i) => `${process.execPath} ${cli} sweep-task ${out} ${i}`));
    assert.ok(runDirs.every((run) => !existsSync(path.join(out, run, 'loss.csv'))), 'nothing ran when emitting');
    const ran = spawnSync('bash', ['-c', `parallel --will-cite --halt never --jobs 2 < '${jobs}'`], { encoding: 'utf8', env });
    assert.strictEqual(ran.status, 0, ran.stderr);
    for (const run of runDirs) {
      assert.ok(finished(out, run), run);
      assertEveryStepOnce(path.join(out, run));
      assert.deepStrictEqual(lossRows(path.join(out, run)), lossRows(path.join(reference, run)), run);
    }
  });

  it('--emit slurm writes a job array of sweep-task with the time, memory and CPUs given, and runs nothing', () => {
    const out = path.join(root, 'slurm');
    const emitted = cliSync(['sweep', ...plan, '--emit', 'slurm', '--slurm-time', '0-2:30:00', '--slurm-mem', '500M', '--slurm-cpus', '2', '--slurm-partition', 'debug', '--jobs', '3', '--out', out]);
    assert.strictEqual(emitted.status, 0, emitted.stderr);
    const script = path.join(out, 'sweep.slurm');
    assert.match(emitted.stdout, /submit them with:\n  sbatch .*sweep\.slurm\n$/);
    const lines = readFileSync(script, 'utf8').split('\n');
    for (const line of ['#SBATCH --array=0-3%3', '#SBATCH --time=0-2:30:00', '#SBATCH --mem=500M', '#SBATCH --cpus-per-task=2', '#SBATCH --partition=debug', '#SBATCH --requeue', `#SBATCH --output=${out}/slurm-%A_%a.out`]) {
      assert.ok(lines.includes(line), `${line} in\n${lines.join('\n')}`);
    }
    assert.strictEqual(lines[0], '#!/bin/bash');
    assert.ok(lines.includes(`exec ${process.execPath} ${cli} sweep-task ${out} "$SLURM_ARRAY_TASK_ID"`));
    assert.ok(runDirs.every((run) => !existsSync(path.join(out, run, 'loss.csv'))));
    // The script is a shell script for one array task (Slurm itself: the Slurm test's).
    const task = spawnSync('bash', [script], { encoding: 'utf8', env: { ...env, SLURM_ARRAY_TASK_ID: '2' } });
    assert.strictEqual(task.status, 0, task.stderr);
    assert.deepStrictEqual(runDirs.map((run) => finished(out, run)), [false, false, true, false]);
    assert.deepStrictEqual(lossRows(path.join(out, 'run-002')), lossRows(path.join(reference, 'run-002')));
  });

  it('sweep-task is idempotent: a finished run is left as it is (exit 0)', () => {
    const out = path.join(root, 'reference');
    const before = ['loss.csv', 'done.json', 'latest.safetensors'].map((f) => [readFileSync(path.join(out, 'run-000', f)), statSync(path.join(out, 'run-000', f)).mtimeMs]);
    const again = cliSync(['sweep-task', out, '0']);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.strictEqual(again.stdout, `${path.join(out, 'run-000')}: already finished\n`);
    const after = ['loss.csv', 'done.json', 'latest.safetensors'].map((f) => [readFileSync(path.join(out, 'run-000', f)), statSync(path.join(out, 'run-000', f)).mtimeMs]);
    assert.deepStrictEqual(after, before);
  });

  it('sweep-task: a run that reached its last step but lost its done marker (killed just before) gets it, without training', () => {
    const out = path.join(root, 'reference');
    const marker = path.join(out, 'run-001', 'done.json');
    const loss = readFileSync(path.join(out, 'run-001', 'loss.csv'));
    unlinkSync(marker);
    const again = cliSync(['sweep-task', out, '1']);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.strictEqual(again.stdout, '');
    assert.deepStrictEqual(readFileSync(path.join(out, 'run-001', 'loss.csv')), loss);
    const done = JSON.parse(readFileSync(marker, 'utf8'));
    assert.deepStrictEqual([done.step, done.smoothLoss], [STEPS, Number(lossRows(path.join(out, 'run-001')).at(-1)!.split(',')[3])]);
  });

  it('sweep-task: a second start of a running task is refused (exit 2) without harm; SIGTERM checkpoints (exit 143); the next start resumes', async () => {
    const out = path.join(root, 'task');
    const emitted = cliSync(['sweep', '--grid', 'hidden=8', '--data', text, '--steps', '200000', '--log-every', String(LOG_EVERY), '--checkpoint-every', '1000', '--emit', 'parallel', '--out', out]);
    assert.strictEqual(emitted.status, 0, emitted.stderr);
    const runDir = path.join(out, 'run-000');
    const first = spawn(process.execPath, [cli, 'sweep-task', out, '0'], { env });
    let stderr = '';
    first.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
    while (!existsSync(path.join(runDir, 'latest.safetensors'))) await new Promise((resolve) => setTimeout(resolve, 20));
    try {
      const second = cliSync(['sweep-task', out, '0']);
      assert.strictEqual(second.status, 2, second.stderr);
      assert.match(second.stderr, new RegExp(`^rnn-native: ${runDir}: in use by another rnn-native process \\(pid ${first.pid}\\)`));
      // Nor does a runner start on the sweep while one of its tasks runs outside it.
      const runner = cliSync(['sweep', '--resume', out]);
      assert.strictEqual(runner.status, 2, runner.stderr);
      assert.match(runner.stderr, new RegExp(`^rnn-native: ${runDir}: in use by another rnn-native process \\(pid ${first.pid}\\); [^\n]*\n$`));
    } catch (error) {
      first.kill('SIGKILL'); // not left training on
      throw error;
    }
    first.kill('SIGTERM');
    assert.strictEqual(await exited, 143, stderr);
    assert.match(stderr, /stopped by SIGTERM at step \d+; saved /);
    const step = readCheckpoint(path.join(runDir, 'latest.safetensors')).training.step;
    assert.ok(step > 0 && step < 200000);
    assert.ok(!finished(out, 'run-000'));
    const rows = lossRows(runDir);
    assert.strictEqual(Number(rows.at(-1)!.split(',')[0]), step, 'logged up to the checkpoint');
    // The next start goes on from the checkpoint's step (its first line says so); stopped again,
    // every step is still logged once.
    const resumed = spawn(process.execPath, [cli, 'sweep-task', out, '0'], { env });
    let resumedOut = '';
    resumed.stdout.on('data', (d) => (resumedOut += d));
    const resumedExit = new Promise<number | null>((resolve) => resumed.on('exit', resolve));
    while (!/step \d+/.test(resumedOut.split('\n').slice(1).join('\n'))) await new Promise((resolve) => setTimeout(resolve, 20));
    resumed.kill('SIGTERM');
    assert.strictEqual(await resumedExit, 143);
    assert.match(resumedOut, new RegExp(`^resuming ${runDir} at step ${step}:`));
    const steps = lossRows(runDir).map((row) => Number(row.split(',')[0]));
    assert.deepStrictEqual(steps, Array.from({ length: steps.length }, (_, i) => (i + 1) * LOG_EVERY), 'every step once');
  });

  it('sweep-task: a run killed (SIGKILL) before its first checkpoint starts again, as if it never ran', async () => {
    const out = path.join(root, 'killed');
    const steps = 3000;
    const emitted = cliSync(['sweep', '--grid', 'hidden=8', '--data', text, '--steps', String(steps), '--log-every', String(LOG_EVERY), '--checkpoint-every', '0', '--emit', 'parallel', '--out', out]);
    assert.strictEqual(emitted.status, 0, emitted.stderr);
    const runDir = path.join(out, 'run-000');
    const task = spawn(process.execPath, [cli, 'sweep-task', out, '0'], { env });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => task.on('exit', (_, signal) => resolve(signal)));
    while (!existsSync(path.join(runDir, 'loss.csv')) || lossRows(runDir).length < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    task.kill('SIGKILL');
    assert.strictEqual(await exited, 'SIGKILL');
    assert.ok(!existsSync(path.join(runDir, 'latest.safetensors')), 'killed before its first checkpoint');
    assert.ok(existsSync(path.join(runDir, '.lock')), "the dead run's lock is left");
    const again = cliSync(['sweep-task', out, '0']);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.ok(finished(out, 'run-000'));
    const fresh = path.join(root, 'killed-fresh');
    const train = cliSync(['train', '--hidden', '8', '--data', text, '--steps', String(steps), '--log-every', String(LOG_EVERY), '--checkpoint-every', '0', '--out', fresh, '--quiet']);
    assert.strictEqual(train.status, 0, train.stderr);
    assert.deepStrictEqual(lossRows(runDir), lossRows(fresh));
  });

  it('--resume of a sweep whose logs/ cannot take files: one line, exit 2, no run started', () => {
    const out = path.join(root, 'unwritable');
    const planned = cliSync(['sweep', '--grid', 'eta=0.05,0.1', '--data', text, '--hidden', '8', '--steps', '100', '--emit', 'parallel', '--out', out]);
    assert.strictEqual(planned.status, 0, planned.stderr);
    rmSync(path.join(out, 'logs'), { recursive: true });
    writeFileSync(path.join(out, 'logs'), 'not a directory\n');
    const result = cliSync(['sweep', '--resume', out, '--jobs', '2']);
    assert.strictEqual(result.status, 2, result.stderr);
    assert.match(result.stderr, /^rnn-native: .*logs: cannot create the directory \(a file of that name is in the way\)\n$/);
    assert.ok(!existsSync(path.join(out, 'run-000', 'loss.csv')));
  });

  it('a failed run does not stop the others; the sweep exits 1 naming it', () => {
    const out = path.join(root, 'failing');
    // seq-length 120000 is longer than the text: that run fails; the other finishes.
    const result = cliSync(['sweep', '--grid', 'seq-length=10,120000', '--data', text, '--hidden', '8', '--steps', '100', '--jobs', '2', '--out', out]);
    assert.strictEqual(result.status, 1, result.stderr);
    assert.match(result.stderr, /^rnn-native: 1 of 2 runs failed: run-001 \(their logs: .*logs\)\n$/);
    assert.match(result.stdout, /run-001 \(seq-length=120000\): failed \(exit 2\); see /);
    assert.ok(finished(out, 'run-000'));
    assert.ok(!finished(out, 'run-001'));
    assert.match(readFileSync(path.join(out, 'logs', 'run-001.log'), 'utf8'), /^rnn-native: /m);
  });
});
