// Reading and writing the user's files: a FIFO, socket or device is refused at once (never a
// hang), directories are made without looping, and write errors are given in words.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { describeWriteError, makeDirectory, writeFileAtomic } from '../lib/util/files';
import { UNICODE_TEXT } from './helpers';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
/** A hang is killed after 15 s and shows as status null. */
const run = (args: string[], cwd?: string) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, timeout: 15000, env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

/** The error `action` throws. */
function thrown(action: () => unknown): NodeJS.ErrnoException {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new assert.AssertionError({ message: 'expected an error' });
}

describe('files of the user', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-files-'));
  const fifo = path.join(dir, 'fifo');
  const text = path.join(dir, 'text.txt');
  const runDir = path.join(dir, 'run');

  before(function () {
    assert.strictEqual(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    writeFileSync(text, UNICODE_TEXT.repeat(20));
    const trained = run(['train', '--data', text, '--steps', '30', '--hidden', '8', '--log-every', '10', '--checkpoint-every', '30', '--out', runDir]);
    assert.strictEqual(trained.status, 0, trained.stderr);
  });

  const refusals: [string, string[], RegExp][] = [
    ['train --data', ['train', '--data', fifo, '--out', path.join(dir, 'never')], /fifo: not a regular file \(the text is read twice/],
    ['gradcheck --data', ['gradcheck', '--data', fifo], /fifo: not a regular file \(the text is read twice/],
    ['report --gradcheck-data', ['report', runDir, '--gradcheck-data', fifo], /fifo: not a regular file \(the text is read twice/],
    ['plot', ['plot', fifo], /fifo: not a regular file \(a pipe, socket or device\)/],
    ['sample --model', ['sample', '--model', fifo], /fifo: not a regular file \(a pipe, socket or device\)/],
    ['sample --model (a device)', ['sample', '--model', '/dev/zero'], /\/dev\/zero: not a regular file \(a pipe, socket or device\)/],
  ];
  for (const [name, args, message] of refusals) {
    it(`${name} refuses a FIFO or device at once with one line (exit 2)`, () => {
      const result = run(args);
      assert.notStrictEqual(result.status, null, `${name} hung on ${args.join(' ')}`);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it('train --data refuses a FIFO before making --out', () => {
    assert.strictEqual(existsSync(path.join(dir, 'never')), false);
  });

  it('makeDirectory makes missing parents, accepts an existing directory, and names what is in the way', () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    makeDirectory(nested);
    assert.ok(statSync(nested).isDirectory());
    makeDirectory(nested);
    assert.throws(() => makeDirectory(path.join(text, 'x'), '--out x'), /^UserError: --out x: cannot create the directory \(a part of the path is not a directory\)$/);
    assert.throws(() => makeDirectory(text), /text\.txt: cannot create the directory \(a file of that name is in the way\)$/);
  });

  it('makeDirectory fails at once where mkdir says ENOENT under a directory that exists (/proc/x)', function () {
    if (!existsSync('/proc/self')) this.skip();
    // In a child: a loop would block this process, and a mocha timeout cannot stop synchronous code.
    const script = `try { require(${JSON.stringify(path.join(root, 'dist', 'util', 'files'))}).makeDirectory('/proc/rnn-native-x/y'); }
      catch (error) { console.log(error.message); }`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
    assert.notStrictEqual(result.status, null, 'makeDirectory looped on /proc/rnn-native-x/y');
    assert.strictEqual(result.stdout, '/proc/rnn-native-x/y: cannot create the directory (the directory exists, but its file system allows no new files there)\n');
  });

  it('describeWriteError gives words for EISDIR, ENOTDIR and ENOENT, and says the directory is missing only when it is', () => {
    assert.strictEqual(describeWriteError(thrown(() => openSync(dir, 'w'))), 'is a directory');
    assert.strictEqual(describeWriteError(thrown(() => openSync(path.join(text, 'x'), 'w'))), 'a part of the path is not a directory');
    assert.strictEqual(describeWriteError(thrown(() => openSync(path.join(dir, 'missing', 'x'), 'w'))), 'the directory does not exist');
    if (existsSync('/proc/self')) {
      assert.strictEqual(describeWriteError(thrown(() => openSync('/proc/rnn-native-x', 'w'))), 'the directory exists, but its file system allows no new files there');
    }
    const other = thrown(() => openSync(path.join(dir, 'x'.repeat(300)), 'w'));
    assert.strictEqual(describeWriteError(other), 'the name is too long');
    const unknown = Object.assign(new Error("EXYZ: something odd, open 'f'"), { code: 'EXYZ' });
    assert.strictEqual(describeWriteError(unknown), 'something odd (EXYZ)');
  });

  it('writeFileAtomic over a directory says "is a directory"', () => {
    const target = path.join(dir, 'target');
    mkdirSync(path.join(target, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(target, 'x'), /target: could not write \(is a directory\); the previous file, if any, is intact$/);
  });

  it('sample --out /proc/version --force gives the accurate reason', function () {
    if (!existsSync('/proc/version')) this.skip();
    const result = run(['sample', '--model', runDir, '--length', '10', '--out', '/proc/version', '--force']);
    assert.strictEqual(result.status, 2, result.stderr);
    assert.match(result.stderr, /^rnn-native: \/proc\/version: could not write \(the directory exists, but its file system allows no new files there\)/);
  });
});
