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

  it('train --json prints log lines and a done line with the documented fields', () => {
    const result = run(['train', '--data', text, '--steps', '250', '--log-every', '100', '--hidden', '16', '--seed', '3', '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepStrictEqual(events.map((e) => [e.event, e.step ?? e.steps]), [['log', 100], ['log', 200], ['log', 250], ['done', 250]]);
    for (const log of events.slice(0, 3)) {
      assert.deepStrictEqual(Object.keys(log), ['event', 'step', 'epoch', 'loss', 'smoothLoss']);
      assert.ok(log.epoch >= 1 && log.loss > 0 && log.smoothLoss > 0);
    }
    const done = events[3];
    assert.deepStrictEqual(Object.keys(done), ['event', 'steps', 'seconds', 'updatesPerSecond', 'smoothLoss']);
    assert.ok(done.seconds > 0 && done.updatesPerSecond > 0 && done.smoothLoss === events[2].smoothLoss);
  });

  it('train prints samples every --sample-every updates', () => {
    const result = run(['train', '--data', text, '--steps', '40', '--log-every', '40', '--sample-every', '20', '--sample-length', '30', '--hidden', '8', '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const samples = result.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((e) => e.event === 'sample');
    assert.deepStrictEqual(samples.map((s) => s.step), [20, 40]);
    assert.ok(samples.every((s) => Array.from(s.text as string).length === 30));
  });

  it('the same seed gives the same run in both backends separately', () => {
    for (const backend of ['native', 'ts']) {
      const args = ['train', '--data', text, '--steps', '30', '--log-every', '10', '--hidden', '8', '--backend', backend, '--json'];
      const strip = (out: string) => out.split('\n').filter((l) => l.includes('"log"')).join('\n');
      assert.strictEqual(strip(run(args).stdout), strip(run(args).stdout));
    }
  });

  it('gradcheck --json prints the max relative errors and meets the targets', () => {
    const result = run(['gradcheck', '--data', text, '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.deepStrictEqual(Object.keys(out), ['numeric', 'native']);
    for (const p of ['U', 'W', 'V', 'b', 'c']) {
      assert.ok(out.numeric[p] <= 1e-6, `numeric ${p} ${out.numeric[p]}`);
      assert.ok(out.native[p] <= 1e-4, `native ${p} ${out.native[p]}`);
    }
  });

  it('gradcheck prints a table', () => {
    const result = run(['gradcheck', '--data', text, '--hidden', '3', '--seq-length', '10']);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.match(result.stdout, /parameter\s+numeric rel\.\s+numeric abs\.\s+native rel\.\s+native abs\./);
    assert.match(result.stdout, /\nW\s+\d\.\d\de-\d+/);
    assert.match(result.stdout, /: OK\n$/);
  });

  const bad: [string, string[], RegExp][] = [
    ['a non-integer --steps', ['train', '--steps', '1.5'], /--steps must be an integer from 1 to/],
    ['a zero --hidden', ['train', '--hidden', '0'], /--hidden must be an integer from 1 to 8192, got "0"/],
    ['a negative --eta', ['train', '--eta=-1'], /--eta must be a number ≥ 1e-30/],
    ['a dash value without =', ['train', '--eta', '-1'], /use '--eta=-XYZ'/],
    ['an unknown backend', ['train', '--backend', 'gpu'], /--backend must be one of auto, native, ts, got "gpu"/],
    ['an unknown option', ['train', '--nope'], /Unknown option '--nope'/],
    ['a stray argument', ['train', 'file.txt'], /positional argument/],
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
    assert.match(result.stderr, /has 3 characters; it needs at least seqLength \+ 1 = 4/);
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
