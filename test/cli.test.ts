import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

describe('command line', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-cli-'));
  const text = path.join(dir, 'unicode.txt');
  writeFileSync(text, UNICODE_TEXT.repeat(20));

  let runs = 0;
  const out = () => path.join(dir, `run-${++runs}`);

  it('train --json prints log, checkpoint and done events with the documented fields', () => {
    const runDir = out();
    const result = run(['train', '--data', text, '--steps', '250', '--log-every', '100', '--checkpoint-every', '200', '--hidden', '16', '--seed', '3', '--out', runDir, '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepStrictEqual(
      events.map((e) => [e.event, e.step ?? e.steps]),
      [['log', 100], ['log', 200], ['checkpoint', 200], ['log', 250], ['checkpoint', 250], ['done', 250]]
    );
    for (const log of events.filter((e) => e.event === 'log')) {
      assert.deepStrictEqual(Object.keys(log), ['event', 'step', 'epoch', 'loss', 'smoothLoss', 'elapsed', 'smoothNatsPerCharacter', 'smoothBitsPerCharacter']);
      assert.ok(log.epoch >= 1 && log.loss > 0 && log.smoothLoss > 0 && log.elapsed >= 0);
      assert.strictEqual(log.smoothNatsPerCharacter, log.smoothLoss / 25);
      assert.strictEqual(log.smoothBitsPerCharacter, log.smoothLoss / 25 / Math.LN2);
    }
    const checkpoint = events[2];
    assert.deepStrictEqual(checkpoint, { event: 'checkpoint', step: 200, path: path.join(runDir, 'latest.safetensors'), best: true });
    const done = events[5];
    assert.deepStrictEqual(Object.keys(done), ['event', 'steps', 'seconds', 'updatesPerSecond', 'smoothLoss', 'smoothBitsPerCharacter', 'bestSmoothLoss', 'out', 'stop', 'reason']);
    assert.deepStrictEqual([done.stop, done.reason], ['steps', 'reached step 250']);
    assert.ok(done.seconds > 0 && done.updatesPerSecond > 0 && done.smoothLoss === events[3].smoothLoss);
    assert.strictEqual(done.out, runDir);
  });

  it('train prints what its figures are, and each smooth loss in bits per character too', () => {
    const result = run(['train', '--data', text, '--steps', '100', '--log-every', '100', '--sample-every', '0', '--hidden', '8', '--out', out()]);
    assert.strictEqual(result.status, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.strictEqual(lines[1], '(loss: −Σ log p over a window of 25 characters, in nats; smooth loss: 0.999 × its last value + 0.001 × the loss; bits/char: smooth loss ÷ 25 ÷ ln 2)');
    const [, smooth, bits] = /^step 100 .* smooth loss (\d+\.\d+) \((\d+\.\d+) bits\/char\)/.exec(lines[2])!;
    assert.strictEqual(bits, (Number(smooth) / 25 / Math.LN2).toFixed(3));
    assert.match(result.stdout, /done: .*smooth loss \d+\.\d+ \(\d+\.\d\d bits\/char\), best/);
  });

  it('train prints samples every --sample-every updates', () => {
    const result = run(['train', '--data', text, '--steps', '40', '--log-every', '40', '--sample-every', '20', '--sample-length', '30', '--hidden', '8', '--out', out(), '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const samples = result.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((e) => e.event === 'sample');
    assert.deepStrictEqual(samples.map((s) => s.step), [20, 40]);
    assert.ok(samples.every((s) => Array.from(s.text as string).length === 30));
  });

  it('the same seed gives the same run in both backends separately', () => {
    for (const backend of ['native', 'ts']) {
      const args = ['train', '--data', text, '--steps', '30', '--log-every', '10', '--hidden', '8', '--backend', backend, '--json'];
      const losses = (stdout: string) =>
        stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'log').map((e) => [e.loss, e.smoothLoss]);
      const first = losses(run([...args, '--out', out()]).stdout);
      assert.strictEqual(first.length, 3);
      assert.deepStrictEqual(losses(run([...args, '--out', out()]).stdout), first);
    }
  });

  it('gradcheck --json prints the max relative errors and meets the targets', () => {
    const result = run(['gradcheck', '--data', text, '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.deepStrictEqual(Object.keys(out).slice(0, 2), ['numeric', 'native']);
    for (const p of ['U', 'W', 'V', 'b', 'c']) {
      assert.ok(out.numeric[p] <= 1e-6, `numeric ${p} ${out.numeric[p]}`);
      assert.ok(out.native[p] <= 1e-4, `native ${p} ${out.native[p]}`);
    }
  });

  it('gradcheck prints a table', () => {
    const result = run(['gradcheck', '--data', text, '--hidden', '3', '--seq-length', '10']);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.match(result.stdout, /\n +numeric +native\nparameter\s+rel\.\s+abs\.\s+scaled\s+rel\.\s+abs\.\s+scaled\n/);
    assert.match(result.stdout, /\nW\s+\d\.\d\de-\d+/);
    assert.match(result.stdout, /: OK\n$/);
  });

  const bad: [string, string[], RegExp][] = [
    ['a non-integer --steps', ['train', '--steps', '1.5'], /--steps must be an integer from 1 to/],
    ['a zero --hidden', ['train', '--hidden', '0'], /--hidden must be an integer from 1 to 8192, got "0"/],
    ['a negative --eta', ['train', '--eta=-1'], /--eta must be a number ≥ 1e-30/],
    ['a negative value out of range', ['train', '--eta', '-1'], /--eta must be a number ≥ 1e-30 and ≤ 3.4e\+38, got "-1"/],
    ['an unknown backend', ['train', '--backend', 'gpu'], /--backend must be one of auto, native, wasm, ts, got "gpu"/],
    ['an unknown option', ['train', '--nope'], /unknown option --nope \(see --help\)\n$/],
    ['a misspelt option', ['train', '--hiden', '8'], /unknown option --hiden; did you mean --hidden\? \(see --help\)\n$/],
    ['a misspelt option of sample', ['sample', '--lenght', '8'], /unknown option --lenght; did you mean --length\? \(see --help\)\n$/],
    ['an option given twice', ['train', '--out', 'a', '--out', 'b'], /--out is given twice \(a and b\); give it once\n$/],
    ['a flag given twice', ['train', '--quiet', '--quiet'], /--quiet is given twice; give it once\n$/],
    ['a stray argument', ['plot', 'run', 'file.txt'], /unexpected argument "file\.txt" \(see --help\)/],
    ['a stray argument of train', ['train', 'file.txt'], /unexpected argument "file\.txt": give each text with --data \(repeat it\), a folder, or a glob in quotes/],
    ['a missing file', ['train', '--data', '/nonexistent/x.txt'], /\/nonexistent\/x.txt: no such file/],
    ['a directory', ['gradcheck', '--data', '/tmp'], /\/tmp: is a directory/],
    ['an unknown command', ['fly'], /unknown command "fly"/],
    ['a gradcheck step of 0', ['gradcheck', '--step', '0'], /--step must be a number > 0/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what} with one line and exit code 2`, () => {
      const result = run(args);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.strictEqual(result.stdout, '');
    });
  }

  it('rejects a text shorter than seq-length + 1 and invalid UTF-8 naming the offset', () => {
    const short = path.join(dir, 'short.txt');
    writeFileSync(short, 'abc');
    let result = run(['train', '--data', short, '--seq-length', '3']);
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /short.txt has 3 characters; seqLength \(--seq-length\) 3 needs at least 4/);
    const invalid = path.join(dir, 'invalid.txt');
    writeFileSync(invalid, Buffer.from([0x61, 0x62, 0xfe, 0x63]));
    result = run(['gradcheck', '--data', invalid]);
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /invalid UTF-8 at byte offset 2/);
  });

  it('--help on each command exits 0', () => {
    for (const command of ['train', 'gradcheck']) {
      const result = run([command, '--help']);
      assert.strictEqual(result.status, 0);
      assert.match(result.stdout, /--seed/);
    }
  });
});
