// The budgets of a run, end to end: --time (a wall-clock budget per invocation, validation
// included) and --early-stop (evaluations without a lower validation loss), from the command
// line, in a sweep and through the library's train(). Timing is asserted with wide margins only.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { train, TrainEvent, UserError } from '../lib';
import { readCheckpoint } from '../lib/run/checkpoint';
import { MAX_STEPS } from '../lib/model/config';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const events = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const lastEvent = (stdout: string) => events(stdout).at(-1);
const config = (out: string) => JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
const stepOf = (file: string) => readCheckpoint(file).training.step;

/** Fails with the child's stderr when it did not exit as expected. */
const expectStatus = (result: { status: number | null; stderr: string }, status: number) =>
  assert.strictEqual(result.status, status, `exit ${result.status}: ${result.stderr}`);

/** Text no model can learn beyond its letter frequencies: its validation loss soon stops falling. */
function randomText(length: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,';
  let state = 12345;
  let text = '';
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    text += letters[Math.floor((state / 2 ** 31) * letters.length)];
  }
  return text;
}

describe('budgets: --time and --early-stop', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-budget-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, generatedText(50_000));
  const noise = path.join(dir, 'noise.txt');
  writeFileSync(noise, randomText(30_000));
  let count = 0;
  const fresh = () => path.join(dir, `run-${++count}`);
  const tiny = ['--data', text, '--hidden', '8', '--log-every', '500', '--sample-every', '0', '--json'];
  const plateau = ['--data', noise, '--hidden', '8', '--val-fraction', '0.1', '--eval-every', '50', '--log-every', '50', '--sample-every', '0'];

  it('--time 2s alone: no step limit, stops after about 2 s with a checkpoint; a resume takes a new 2 s', () => {
    const out = fresh();
    const started = Date.now();
    const first = run(['train', ...tiny, '--time', '2s', '--out', out]);
    expectStatus(first, 0);
    assert.ok(Date.now() - started < 30_000, 'the run ended long after its budget');
    const done = lastEvent(first.stdout);
    assert.strictEqual(done.event, 'done');
    assert.strictEqual(done.stop, 'time');
    assert.strictEqual(done.reason, 'time budget of 2s spent');
    assert.ok(done.seconds >= 2 && done.seconds < 12, `stopped after ${done.seconds} s`);
    assert.strictEqual(stepOf(path.join(out, 'latest.safetensors')), done.steps);
    assert.strictEqual(config(out).time, 2);
    assert.strictEqual(config(out).steps, MAX_STEPS);

    const resumed = run(['train', '--resume', out, '--json']);
    expectStatus(resumed, 0);
    const again = lastEvent(resumed.stdout);
    assert.strictEqual(again.stop, 'time');
    assert.ok(again.seconds >= 2 && again.seconds < 12, `the resume stopped after ${again.seconds} s`);
    assert.ok(again.steps > done.steps, `the resume ended at step ${again.steps}, the run at ${done.steps}`);
    assert.strictEqual(stepOf(path.join(out, 'latest.safetensors')), again.steps);
    assert.deepStrictEqual(config(out).resumed.map((r: { step: number }) => r.step), [done.steps]);
  });

  it('--time with --steps: the steps when they come first, the time when it does', () => {
    const steps = fresh();
    const bySteps = run(['train', ...tiny, '--steps', '300', '--time', '1h', '--out', steps]);
    expectStatus(bySteps, 0);
    assert.deepStrictEqual([lastEvent(bySteps.stdout).stop, lastEvent(bySteps.stdout).steps], ['steps', 300]);

    const time = fresh();
    const byTime = run(['train', ...tiny, '--steps', '100000000', '--time', '1s', '--out', time]);
    expectStatus(byTime, 0);
    const done = lastEvent(byTime.stdout);
    assert.strictEqual(done.stop, 'time');
    assert.ok(done.steps < 100_000_000);
    assert.strictEqual(config(time).steps, 100_000_000);
  });

  it('--early-stop 3 on text it cannot learn: stops, says why, best.safetensors is the lowest validation loss', () => {
    const out = fresh();
    const result = run(['train', ...plateau, '--steps', '20000', '--early-stop', '3', '--out', out]);
    expectStatus(result, 0);
    const doneLine = result.stdout.split('\n').find((line) => line.startsWith('done:'));
    assert.match(doneLine ?? '', /^done: no lower validation loss in 3 evaluations; step \d+ in /);
    const rows = readFileSync(path.join(out, 'val.csv'), 'utf8').trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const stop = rows.at(-1)![0];
    assert.ok(stop < 20000, `stopped at step ${stop}`);
    const best = rows.reduce((low, row) => (row[2] < low[2] ? row : low));
    assert.deepStrictEqual(rows.slice(-3).map((row) => row[2] >= best[2]), [true, true, true]);
    assert.strictEqual(rows.at(-4)![0], best[0], 'the stop came later than 3 evaluations after the best');
    assert.strictEqual(stepOf(path.join(out, 'best.safetensors')), best[0]);
    assert.strictEqual(stepOf(path.join(out, 'latest.safetensors')), stop);

    const refused = run(['train', '--resume', out]);
    expectStatus(refused, 2);
    assert.match(refused.stderr, /no lower validation loss in its last 3 evaluations.*give a larger --early-stop, or --early-stop 0/);
    expectStatus(run(['train', '--resume', out, '--early-stop', '0', '--steps', String(stop + 100)]), 0);
  });

  it('--early-stop counts from the run\'s history: a run stopped and resumed stops where the uninterrupted one did', () => {
    const whole = fresh();
    expectStatus(run(['train', ...plateau, '--steps', '20000', '--early-stop', '3', '--out', whole]), 0);
    const stop = stepOf(path.join(whole, 'latest.safetensors'));
    const parts = fresh();
    // Stopped one evaluation before the early stop: two evaluations since the best are counted already.
    expectStatus(run(['train', ...plateau, '--steps', String(stop - 50), '--early-stop', '3', '--out', parts]), 0);
    expectStatus(run(['train', '--resume', parts, '--steps', '20000']), 0);
    assert.strictEqual(stepOf(path.join(parts, 'latest.safetensors')), stop);
  });

  it('refuses a bad --time, and --early-stop without validation, in one line with exit 2, writing nothing', () => {
    for (const time of ['0', '0s', '-5', '10x', '600', '1.5s', '9000h', '1m1h', '']) {
      const out = fresh();
      const result = run(['train', ...tiny, '--time', time, '--out', out]);
      expectStatus(result, 2);
      assert.match(result.stderr, /^rnn-native: --time must be a duration such as 90s, 10m or 1h30m, from 1s to 8760h, got "[^"]*"( \(give the unit: 600s or 600m\))?\n$/, time);
      assert.ok(!existsSync(out), `--time ${time} wrote ${out}`);
    }
    const out = fresh();
    const result = run(['train', ...tiny, '--early-stop', '3', '--out', out]);
    expectStatus(result, 2);
    assert.strictEqual(result.stderr, 'rnn-native: --early-stop 3 needs a validation loss: give --val-fraction (e.g. 0.1), or leave out --early-stop\n');
    assert.ok(!existsSync(out));
  });

  it('a sweep gives --time to each of its runs', () => {
    const sweep = path.join(dir, 'sweep');
    const result = run(['sweep', '--grid', 'hidden=8,12', '--data', text, '--time', '1s', '--sample-every', '0', '--jobs', '2', '--out', sweep]);
    expectStatus(result, 0);
    for (const name of ['run-000', 'run-001']) {
      const out = path.join(sweep, name);
      assert.ok(existsSync(path.join(out, 'done.json')), `${name} is not finished`);
      assert.deepStrictEqual([config(out).time, config(out).steps], [1, MAX_STEPS]);
      assert.ok(stepOf(path.join(out, 'latest.safetensors')) > 0);
    }
  });

  it('the library: train({ time: "2s" }) and train({ earlyStop }), and their refusals', async () => {
    const out = fresh();
    const result = await train({ data: text, hidden: 8, sampleEvery: 0, time: '2s', out });
    const last = result.last as Extract<TrainEvent, { event: 'done' }>;
    assert.deepStrictEqual([result.status, last.stop, last.reason], ['done', 'time', 'time budget of 2s spent']);
    assert.strictEqual(config(out).time, 2);

    const early = await train({ data: noise, hidden: 8, sampleEvery: 0, valFraction: 0.1, evalEvery: 50, steps: 20000, earlyStop: 3, out: fresh() });
    assert.strictEqual((early.last as Extract<TrainEvent, { event: 'done' }>).stop, 'early-stop');

    const refusals: [object, RegExp][] = [
      [{ time: 10 }, /^time must be a duration such as 90s/],
      [{ time: '0s' }, /^time must be a duration/],
      [{ earlyStop: 2 }, /^--early-stop 2 needs a validation loss/],
    ];
    for (const [options, message] of refusals) {
      const out = fresh();
      await assert.rejects(train({ data: text, ...options, out }), (error: Error) => error instanceof UserError && message.test(error.message));
      assert.ok(!existsSync(out));
    }
  });
});
