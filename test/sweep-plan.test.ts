// The plan of a sweep (lib/sweep/sweep-plan.ts) and the sweep command's refusals before anything runs.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { TRAIN_OPTIONS } from '../lib/run/train-setup';
import { UserError } from '../lib/util/errors';
import { PlanRequest, planSweep } from '../lib/sweep/sweep-plan';
import { eventLine, overallLine, SweepEvent } from '../lib/sweep/sweep-runner';

const { out: _o, resume: _r, json: _j, quiet: _q, ...specs } = TRAIN_OPTIONS;
const plan = (request: Partial<PlanRequest>) => planSweep({ common: {}, ...request }, specs);
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

describe('sweep: the plan', () => {
  it('a grid is every combination, the first key varying slowest, with the common options in every run', () => {
    const runs = plan({ grid: 'eta=0.01,0.05,0.1 hidden=100,200', common: { steps: 2000 } });
    assert.deepStrictEqual(
      runs.map((r) => r.varied),
      [0.01, 0.05, 0.1].flatMap((eta) => [100, 200].map((hidden) => ({ eta, hidden })))
    );
    assert.deepStrictEqual(runs[3], { index: 3, dir: 'run-003', varied: { eta: 0.05, hidden: 200 }, args: ['--eta', '0.05', '--hidden', '200', '--steps', '2000'] });
    assert.deepStrictEqual(runs.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
  });

  it('choice and string options in a grid; --data becomes an absolute path', () => {
    const runs = plan({ grid: 'cell=rnn,lstm data=a.txt' });
    assert.deepStrictEqual(runs.map((r) => r.varied), [
      { cell: 'rnn', data: path.resolve('a.txt') },
      { cell: 'lstm', data: path.resolve('a.txt') },
    ]);
  });

  it('--random draws the same plan from the same --seed, another from another seed, each value in its range', () => {
    const ranges = 'eta=1e-3:1e-1:log hidden=64:256 dropout=0:0.5 cell=rnn,lstm,gru';
    const a = plan({ random: 20, ranges, common: { seed: 7 } });
    const b = plan({ random: 20, ranges, common: { seed: 7 } });
    const c = plan({ random: 20, ranges, common: { seed: 8 } });
    assert.deepStrictEqual(a, b);
    assert.notDeepStrictEqual(a.map((r) => r.varied), c.map((r) => r.varied));
    for (const { varied } of a) {
      const { eta, hidden, dropout, cell } = varied as { eta: number; hidden: number; dropout: number; cell: string };
      assert.ok(eta >= 1e-3 && eta <= 1e-1, `eta ${eta}`);
      assert.ok(Number.isInteger(hidden) && hidden >= 64 && hidden <= 256, `hidden ${hidden}`);
      assert.ok(dropout >= 0 && dropout <= 0.5, `dropout ${dropout}`);
      assert.ok(['rnn', 'lstm', 'gru'].includes(cell));
      assert.strictEqual(Number(eta.toPrecision(4)), eta, 'four significant digits');
    }
    // A log range spreads over the decades: both halves (below and above 1e-2) are drawn.
    assert.ok(a.some((r) => (r.varied.eta as number) < 1e-2) && a.some((r) => (r.varied.eta as number) > 1e-2));
    assert.strictEqual(new Set(a.map((r) => r.varied.cell)).size, 3);
  });

  it('--repeat K runs each setting with the seeds --seed ... --seed + K - 1, seed among what varies', () => {
    const runs = plan({ grid: 'eta=0.01,0.1', repeat: 3, common: { seed: 5 } });
    assert.deepStrictEqual(runs.map((r) => r.varied), [0.01, 0.1].flatMap((eta) => [5, 6, 7].map((seed) => ({ eta, seed }))));
    assert.deepStrictEqual(runs[1].args, ['--eta', '0.01', '--seed', '6']);
    assert.deepStrictEqual(plan({ repeat: 2 }).map((r) => r.varied), [{ seed: 42 }, { seed: 43 }]);
  });

  it('grid × random draws × repeats', () => {
    const runs = plan({ grid: 'hidden=8,16', random: 3, ranges: 'eta=0.01:0.1', repeat: 2 });
    assert.strictEqual(runs.length, 12);
    assert.deepStrictEqual(Object.keys(runs[0].varied), ['hidden', 'eta', 'seed']);
  });

  const refusals: [Partial<PlanRequest>, RegExp][] = [
    [{ grid: 'etaa=0.1' }, /^--grid: etaa is not an option of train that a sweep can vary; did you mean eta\?/],
    [{ grid: 'report=1' }, /^--grid: report is not an option of train/],
    [{ grid: 'eta=0.1,abc' }, /^--grid: --eta must be a number ≥ 1e-30 and ≤ 3.4e\+38, got "abc"$/],
    [{ grid: 'hidden=0' }, /^--grid: --hidden must be an integer from 1 to/],
    [{ grid: 'eta=0.1,' }, /^--grid: eta=0.1, has an empty value$/],
    [{ grid: 'eta' }, /^--grid: "eta" is not KEY=VALUES/],
    [{ grid: 'eta=0.1 eta=0.2' }, /^--grid: eta is given twice$/],
    [{ grid: 'eta=0.1', common: { eta: 0.2 } }, /^--eta is given to every run and also varied; give it one way$/],
    [{ grid: 'seed=1,2', repeat: 2 }, /^--repeat varies the seed/],
    [{ grid: 'epochs=1,2', common: { steps: 5 } }, /^use either --steps or --epochs, not both$/],
    [{ random: 3 }, /^--random needs --range/],
    [{ ranges: 'eta=0.1:1' }, /^--range needs --random N/],
    [{ random: 2, ranges: 'eta=0.1:0.01' }, /^--range: eta=0.1:0.01: the low end is above the high end$/],
    [{ random: 2, ranges: 'eta=0.01:0.1:int' }, /^--range: eta=0.01:0.1:int: the scale must be log/],
    [{ random: 2, ranges: 'dropout=0:0.5:log' }, /^--range: dropout=0:0.5:log: a log range must be above 0$/],
    [{ random: 2, ranges: 'cell=rnn:lstm' }, /^--range: cell is not numeric/],
    [{ random: 2, ranges: 'dropout=0:2' }, /^--range: --dropout must be a number ≥ 0 and ≤ 0.95, got "2"$/],
    [{ grid: 'hidden=1,2,3,4,5,6,7,8,9,10', random: 1001, ranges: 'eta=0.01:0.1' }, /^the sweep would have 10010 runs; at most 10000$/],
  ];
  for (const [request, message] of refusals) {
    it(`refuses ${JSON.stringify(request)}`, () => {
      assert.throws(() => plan(request), (error: Error) => error instanceof UserError && message.test(error.message));
    });
  }
});

describe('sweep: refusals on the command line (one line, exit 2, nothing written)', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-sweep-plan-'));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  const cases: [string[], RegExp][] = [
    [['sweep', '--grid', 'eta=0.1', '--hiden', '8'], /^rnn-native: unknown option --hiden; did you mean --hidden\?/],
    [['sweep', '--grid', 'eta=0.1', '--steps', '0'], /^rnn-native: --steps must be an integer from 1 to/],
    [['sweep', '--grid', 'bogus=1'], /^rnn-native: --grid: bogus is not an option of train/],
    [['sweep', '--grid', 'eta=-1'], /^rnn-native: --grid: --eta must be a number ≥ 1e-30/],
    [['sweep', '--steps', '10'], /^rnn-native: a sweep needs --grid, --random with --range, or --repeat/],
    [['sweep', '--grid', 'eta=0.1', '--slurm-mem', '2G'], /^rnn-native: --slurm-mem is for --emit slurm$/],
    [['sweep', '--grid', 'eta=0.1', '--emit', 'slurm', '--slurm-time', '1h'], /^rnn-native: --slurm-time must be a Slurm time limit/],
    [['sweep', '--grid', 'eta=0.1', '--emit', 'slurm', '--slurm-mem', '2 GB'], /^rnn-native: --slurm-mem must be a size such as 500M or 2G, got "2 GB"$/],
    [['sweep', '--grid', 'eta=0.1', '--emit', 'slurm', '--slurm-partition', 'a b'], /^rnn-native: --slurm-partition must be a partition name/],
    [['sweep', '--grid', 'eta=0.1', '--emit', 'pbs'], /^rnn-native: --emit must be one of parallel, slurm, got "pbs"$/],
    [['sweep', '--grid', 'eta=0.1', '--data', 'missing.txt'], /^rnn-native: --data .*missing.txt: no such file$/],
    [['sweep', '--resume', 'x', '--grid', 'eta=0.1'], /^rnn-native: a resumed sweep keeps its plan and options; leave out --grid$/],
    [['sweep', '--resume', 'nowhere'], /^rnn-native: nowhere: holds no sweep.json \(not a sweep directory\)$/],
    [['sweep-task', 'nowhere'], /^rnn-native: sweep-task needs a sweep directory and a run index/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), () => {
      const result = run(...args);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr.replace(/\n$/, ''), message);
      assert.strictEqual(result.stderr.split('\n').length, 2, 'one line');
      assert.deepStrictEqual(readdirSync(dir), [], 'nothing written');
    });
  }

  it('refuses a directory that holds a sweep (continue it with --resume) or other files, and a bad index', () => {
    const out = path.join(dir, '..', `${path.basename(dir)}-out`);
    const first = spawnSync(process.execPath, [cli, 'sweep', '--grid', 'eta=0.1,0.2', '--emit', 'parallel', '--out', out], { encoding: 'utf8' });
    assert.strictEqual(first.status, 0, first.stderr);
    const sweepJson = readFileSync(path.join(out, 'sweep.json'), 'utf8');
    const again = spawnSync(process.execPath, [cli, 'sweep', '--grid', 'eta=0.3', '--emit', 'parallel', '--out', out], { encoding: 'utf8' });
    assert.strictEqual(again.status, 2);
    assert.match(again.stderr, /^rnn-native: --out .*: already holds a sweep; continue it with: rnn-native sweep --resume /);
    assert.strictEqual(readFileSync(path.join(out, 'sweep.json'), 'utf8'), sweepJson, 'the plan is kept');
    const other = path.join(dir, '..', `${path.basename(dir)}-other`);
    mkdirSync(other);
    writeFileSync(path.join(other, 'notes.txt'), 'mine');
    const foreign = spawnSync(process.execPath, [cli, 'sweep', '--grid', 'eta=0.3', '--out', other], { encoding: 'utf8' });
    assert.strictEqual(foreign.status, 2);
    assert.match(foreign.stderr, /exists and is not an empty directory; choose another --out\n$/);
    assert.deepStrictEqual(readdirSync(other), ['notes.txt']);
    for (const index of ['2', '-1', 'x']) {
      const task = spawnSync(process.execPath, [cli, 'sweep-task', out, index], { encoding: 'utf8' });
      assert.strictEqual(task.status, 2);
      assert.match(task.stderr, /^rnn-native: (sweep-task: the index must be an integer from 0 to 1, got "(2|x)"|unknown option -1.*)\n$/);
    }
    assert.ok(!existsSync(path.join(out, 'run-000', 'config.json')));
  });
});

describe('sweep: the progress lines fit the terminal', () => {
  const run = plan({ grid: 'eta=0.0012345 hidden=4096 seq-length=1000 cell=lstm optimizer=rmsprop', repeat: 2, common: { data: '/a/long/path/to/a/corpus.txt' } })[1];
  const events: SweepEvent[] = [
    { event: 'start', index: 1, dir: run.dir, varied: run.varied },
    { event: 'finish', index: 1, dir: run.dir, step: 100000000, smoothLoss: 123.456, valLoss: 1.234, seconds: 123456.7 },
    { event: 'fail', index: 1, dir: run.dir, code: 2, signal: null, log: '/a/long/path/to/the/sweep/directory/logs/run-001.log' },
    { event: 'stopped', index: 1, dir: run.dir, step: 123456789, checkpoint: true },
    { event: 'stopped', index: 1, dir: run.dir, step: 0, checkpoint: false },
  ];
  for (const e of events) {
    it(`${e.event}: all of it in a log, within 79 columns on an 80-column terminal, naming the run`, () => {
      const full = eventLine(e, run, undefined);
      assert.ok(full.startsWith(`${run.dir} (eta=0.0012345 hidden=4096 seq-length=1000 cell=lstm optimizer=rmsprop seed=43): `), full);
      const fitted = eventLine(e, run, 80);
      assert.ok(Array.from(fitted).length < 80 && fitted.startsWith(`${run.dir}: `), fitted);
      assert.ok(!/\n/.test(fitted));
    });
  }
  it('the overall line', () => {
    const line = overallLine({ event: 'progress', done: 9999, running: 1024, failed: 9999, total: 10000 }, 'SIGINT', 80);
    assert.ok(line.length < 80 && /9999\/10000 done/.test(line), line);
    assert.strictEqual(overallLine({ event: 'progress', done: 1, running: 2, failed: 0, total: 4 }, undefined, undefined), 'sweep: 1/4 done, 2 running, 0 failed');
  });
});
