// Integrity edge cases an adversarial pass found (interrupted evaluations, sweeps, checkpoint fields, the library): each a test that failed before its fix. Budget: 30 s.
import assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, readCheckpoint, Trainer, writeCheckpoint } from '../lib';
import { generatedText, resealed } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the CLI, resolves once `ready` matches its stdout or stderr so far. */
function started(args: string[], ready: RegExp): { child: ChildProcess; out: () => string; at: Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { env });
  let text = '';
  let resolveAt: () => void = () => undefined;
  const at = new Promise<void>((resolve) => (resolveAt = resolve));
  const take = (d: Buffer) => {
    text += d;
    if (ready.test(text)) resolveAt();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, out: () => text, at, exit };
}

describe('adv19', function () {
  this.timeout(120000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-adv19-'));

  it('a stop during the redone last evaluation of a resume that raises --steps: the next resume still does that evaluation (val.csv keeps its row, best.safetensors is the best)', async () => {
    const text = path.join(dir, 'redone.txt');
    writeFileSync(text, generatedText(60_000));
    const [out, whole] = [path.join(dir, 'redone'), path.join(dir, 'redone-whole')];
    // 30,000 held-out characters on the float64 reference at m = 100: passes of about a second.
    const args = ['--data', text, '--hidden', '100', '--val-fraction', '0.5', '--backend', 'ts'];
    // Uninterrupted: 2 steps (the evaluation of step 2 is its last), then a resume to 4.
    assert.strictEqual(run(['train', ...args, '--steps', '2', '--quiet', '--out', whole]).status, 0);
    assert.strictEqual(run(['train', '--resume', whole, '--steps', '4', '--quiet']).status, 0);
    // Stopped during the last evaluation (step 2).
    const first = started(['train', ...args, '--steps', '2', '--json', '--out', out], /"event":"log","step":2/);
    await first.at;
    await sleep(200);
    first.child.kill('SIGINT');
    assert.strictEqual(await first.exit, 130, first.out());
    assert.ok(!existsSync(path.join(out, 'val.csv')), 'the pass of step 2 was stopped');
    // The resume to step 4 redoes that evaluation first; it is stopped during it too.
    const second = started(['train', '--resume', out, '--steps', '4', '--json'], /it runs first/);
    await second.at;
    await sleep(200);
    second.child.kill('SIGINT');
    assert.strictEqual(await second.exit, 130, second.out());
    assert.ok(!existsSync(path.join(out, 'val.csv')), 'the redone pass of step 2 was stopped');
    // Resumed once more, as printed: the evaluation of step 2 is still owed.
    const third = run(['train', '--resume', out, '--quiet']);
    assert.strictEqual(third.status, 0, third.stderr);
    const rows = (d: string) => readFileSync(path.join(d, 'val.csv'), 'utf8').trim().split('\n').map((line) => line.split(',').slice(0, 3).join(','));
    assert.deepStrictEqual(rows(out), rows(whole), 'the evaluations of steps 2 and 4');
    assert.strictEqual(readCheckpoint(path.join(out, 'best.safetensors')).training.step, readCheckpoint(path.join(whole, 'best.safetensors')).training.step);
  });

  it('a sweep-task started by hand while the sweep runner runs: the runner does not report the run as failed', async () => {
    const text = path.join(dir, 'sweep.txt');
    writeFileSync(text, generatedText(5000));
    const sweep = path.join(dir, 'sweep');
    // run-000 takes a few seconds, run-001 long: the runner reaches run-001 while the hand-started task trains it.
    const runner = started(['sweep', '--grid', 'steps=3000,200000', '--data', text, '--hidden', '32', '--backend', 'ts', '--checkpoint-every', '1000', '--jobs', '1', '--out', sweep], /run-000 \(steps=3000\): started/);
    await runner.at;
    const task = started(['sweep-task', sweep, '1'], /training into|in use/);
    const taskEarly = await Promise.race([task.exit, sleep(1500).then(() => 'running' as const)]);
    try {
      if (taskEarly !== 'running') {
        // Refused at once because a runner runs the sweep: also fine.
        assert.strictEqual(taskEarly, 2, task.out());
        assert.match(task.out(), /in use/);
        return;
      }
      // The runner reaches run-001 while the task trains it.
      await Promise.race([runner.exit, sleep(20000)]);
      assert.doesNotMatch(runner.out(), /run-001 \(steps=200000\): failed/, runner.out());
    } finally {
      task.child.kill('SIGINT');
      runner.child.kill('SIGINT');
      await Promise.all([task.exit, runner.exit]);
    }
  });

  it('readCheckpoint refuses a config key no writer wrote (a renamed "dropout" read as dropout 0)', () => {
    const corpus = Corpus.fromText(generatedText(3000));
    const trainer = new Trainer(corpus, { cell: 'lstm', hidden: 8, dropout: 0.25, backend: 'ts' });
    trainer.train(3);
    const file = path.join(dir, 'renamed.safetensors');
    writeCheckpoint(file, { training: trainer.snapshot(), run: { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 } });
    const bytes = readFileSync(file);
    const at = bytes.indexOf('\\"dropout\\"');
    assert.ok(at > 0);
    bytes.write('\\"dropouT\\"', at, 'latin1'); // same length: one bit
    writeFileSync(file, resealed(bytes));
    assert.throws(() => readCheckpoint(file), /dropouT/);
  });
});

describe('adv19 (more)', function () {
  this.timeout(120000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-adv19b-'));

  it('compare calls a run stopped during its last evaluation unfinished, as report does', () => {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(4000));
    const out = path.join(dir, 'last-pass');
    assert.strictEqual(run(['train', '--data', text, '--hidden', '8', '--val-fraction', '0.2', '--steps', '20', '--quiet', '--out', out]).status, 0);
    // What a stop during the last pass leaves: the step's checkpoint without its val.csv row or best.safetensors.
    for (const file of ['val.csv', 'best.safetensors']) spawnSync('rm', [path.join(out, file)]);
    assert.strictEqual(run(['report', out]).status, 0);
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /Unfinished: .*during its last evaluation/);
    const compared = run(['compare', out, '--json', '-o', path.join(dir, 'cmp')]);
    assert.strictEqual(compared.status, 0, compared.stderr);
    assert.strictEqual(JSON.parse(compared.stdout).runs[0].status, 'unfinished');
  });

  it('sample and report on a run without a checkpoint advise a command that works (train --resume refuses such a run)', () => {
    const text = path.join(dir, 'text2.txt');
    writeFileSync(text, generatedText(4000));
    const out = path.join(dir, 'no-checkpoint');
    assert.strictEqual(run(['train', '--data', text, '--hidden', '8', '--steps', '20', '--quiet', '--out', out]).status, 0);
    for (const file of ['latest.safetensors', 'best.safetensors']) spawnSync('rm', [path.join(out, file)]);
    for (const args of [['sample', '--model', out], ['report', out]]) {
      const r = run(args);
      assert.strictEqual(r.status, 2);
      const advised = /train --resume (\S+)/.exec(r.stderr);
      if (advised) {
        const resumed = run(['train', '--resume', advised[1], '--quiet']);
        assert.strictEqual(resumed.status, 0, `${args[0]} advised train --resume, which says: ${resumed.stderr}`);
      }
    }
  });

  it('the checkpoint reader refuses a negative loss (−Σ log p is never below 0): best_smooth_loss -5 kept best.safetensors forever', () => {
    const corpus = Corpus.fromText(generatedText(3000));
    const trainer = new Trainer(corpus, { hidden: 8, backend: 'ts' });
    trainer.train(3);
    const file = path.join(dir, 'negative.safetensors');
    writeCheckpoint(file, { training: trainer.snapshot(), run: { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: trainer.smoothLoss, elapsedSeconds: 0 } });
    const bytes = readFileSync(file);
    for (const key of ['smooth_loss', 'last_loss', 'best_smooth_loss']) {
      const header = Number(bytes.readBigUInt64LE(0));
      const parsed = JSON.parse(bytes.subarray(8, 8 + header).toString('utf8'));
      parsed.__metadata__[key] = '-5';
      let json = Buffer.from(JSON.stringify(parsed));
      json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      const edited = path.join(dir, `negative-${key}.safetensors`);
      writeFileSync(edited, resealed(Buffer.concat([length, json, bytes.subarray(8 + header)])));
      assert.throws(() => readCheckpoint(edited), new RegExp(`"${key}"`), key);
    }
  });
});

describe('adv19 (digest)', () => {
  it('a file whose created_by names a writer that always writes a digest, without one, is refused (not read as an older writer\'s)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-adv19c-'));
    const corpus = Corpus.fromText(generatedText(3000));
    const trainer = new Trainer(corpus, { hidden: 8, backend: 'ts' });
    trainer.train(3);
    const file = path.join(dir, 'x.safetensors');
    writeCheckpoint(file, { training: trainer.snapshot(), run: { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 } });
    const bytes = readFileSync(file);
    const header = Number(bytes.readBigUInt64LE(0));
    const parsed = JSON.parse(bytes.subarray(8, 8 + header).toString('utf8'));
    assert.match(parsed.__metadata__.created_by, /^rnn-native 0\.5\./);
    delete parsed.__metadata__.digest_sha256;
    let json = Buffer.from(JSON.stringify(parsed));
    json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    const stripped = path.join(dir, 'stripped.safetensors');
    writeFileSync(stripped, Buffer.concat([length, json, bytes.subarray(8 + header)]));
    assert.throws(() => readCheckpoint(stripped), /digest/);
  });
});

describe('adv19 (library)', () => {
  it('trainer.train with a bad count is a UserError naming the value as given (docs/library.md: errors in what the caller gave are UserErrors)', () => {
    const trainer = new Trainer(Corpus.fromText(generatedText(2000)), { hidden: 4, backend: 'ts' });
    for (const bad of [-1, 1.5, NaN, '3']) {
      assert.throws(() => trainer.train(bad as number), (e: Error) => e.name === 'UserError' && /n must be an integer/.test(e.message), String(bad));
    }
    assert.throws(() => trainer.train('3' as unknown as number), /got "3"/);
  });
});
