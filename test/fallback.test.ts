// Without the addon, the library falls back to the WebAssembly backend, and without that too to
// the TypeScript backend; the CLI says so in one warning line. The package is copied without its
// build/ folder (and without wasm/), so the addon (and the module) are truly absent.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib';

const root = path.join(__dirname, '..');

describe('fallback when the addon is absent', function () {
  let copy: string;
  before(function () {
    assert.ok(existsSync(path.join(root, 'dist', 'cli.js')), 'dist/ must be built (npm run build:ts) first');
    copy = mkdtempSync(path.join(tmpdir(), 'rnn-no-addon-'));
    cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
    cpSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(copy, 'dist', 'cli.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, RNN_NATIVE_BACKEND: '', ...env },
    });

  it('trains with the ts backend and prints one warning line', () => {
    const result = run(['train', '--steps', '20', '--log-every', '10', '--hidden', '8', '--out', path.join(copy, 'run'), '--json']);
    assert.strictEqual(result.status, 0, result.stderr);
    const warnings = result.stderr.trim().split('\n');
    assert.strictEqual(warnings.length, 1, result.stderr);
    assert.match(warnings[0], /^rnn-native: warning: native addon unavailable \(.+\); using the slower TypeScript backend$/);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepStrictEqual(events.map((e) => e.event), ['log', 'log', 'checkpoint', 'done']);
  });

  it('reports the reason through the library', () => {
    const script = `const r = require(${JSON.stringify(path.join(copy, 'dist'))});
      const sel = r.selectBackend('auto');
      console.log(JSON.stringify({ name: sel.name, warning: sel.warning, load: r.loadNative().error }));`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
    assert.strictEqual(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.strictEqual(out.name, 'ts');
    assert.ok(out.load.length > 0);
    assert.ok(out.warning.includes(out.load));
  });

  it('refuses --backend native with one clear line and exit code 2', () => {
    const result = run(['train', '--steps', '5', '--backend', 'native', '--out', path.join(copy, 'refused')]);
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /^rnn-native: the native backend cannot load: .+\n$/);
  });
});

describe('fallback to the WebAssembly backend when the addon is absent', function () {
  let copy: string;
  before(function () {
    assert.ok(existsSync(path.join(root, 'dist', 'cli.js')), 'dist/ must be built (npm run build:ts) first');
    assert.ok(existsSync(path.join(root, 'wasm', 'rnn_native.wasm')), 'wasm/rnn_native.wasm must be built (npm run build:wasm) first');
    copy = mkdtempSync(path.join(tmpdir(), 'rnn-wasm-only-'));
    for (const part of ['dist', 'wasm', 'package.json']) cpSync(path.join(root, part), path.join(copy, part), { recursive: true });
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  });

  const run = (args: string[]) =>
    spawnSync(process.execPath, [path.join(copy, 'dist', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
  const train = ['train', '--log-every', '10', '--hidden', '8', '--sample-every', '0', '--json'];

  it('trains with the wasm backend, says so in one warning line, and a resume stays on it, exactly', () => {
    const whole = path.join(copy, 'whole');
    const a = run([...train, '--steps', '40', '--out', whole]);
    assert.strictEqual(a.status, 0, a.stderr);
    assert.match(a.stderr, /^rnn-native: warning: native addon unavailable \(.+\); using the WebAssembly backend\n$/);
    assert.strictEqual(JSON.parse(readFileSync(path.join(whole, 'config.json'), 'utf8')).backend, 'wasm');
    const halves = path.join(copy, 'halves');
    assert.strictEqual(run([...train, '--steps', '20', '--out', halves]).status, 0);
    const b = run(['train', '--resume', halves, '--steps', '40', '--json']);
    assert.strictEqual(b.status, 0, b.stderr);
    const params = (dir: string) => readCheckpoint(path.join(dir, 'latest.safetensors')).training.params;
    assert.deepStrictEqual(params(halves), params(whole));
  });

  it('a run trained on wasm resumes on wasm where the addon loads too (the other backend would not continue bit for bit)', function () {
    const cli = path.join(root, 'dist', 'cli.js');
    const here = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
    const out = path.join(copy, 'resumed-here');
    assert.strictEqual(here([...train, '--backend', 'wasm', '--steps', '10', '--out', out]).status, 0);
    const resumed = here(['train', '--resume', out, '--steps', '20', '--json']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepStrictEqual(config.resumed.map((r: { backend: string }) => r.backend), ['wasm']);
  });

  it('--backend wasm needs no warning; --threads does nothing on it and says so', () => {
    const result = run(['train', '--backend', 'wasm', '--cell', 'lstm', '--hidden', '8', '--threads', '2', '--steps', '2', '--quiet', '--out', path.join(copy, 'threads')]);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.strictEqual(result.stderr, 'rnn-native: warning: --threads has no effect on the wasm backend (it runs one thread)\n');
  });

  it('refuses --backend wasm with one clear line and exit code 2 when the module is missing', () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'rnn-no-wasm-'));
    cpSync(path.join(copy, 'dist'), path.join(bare, 'dist'), { recursive: true });
    cpSync(path.join(copy, 'package.json'), path.join(bare, 'package.json'));
    symlinkSync(path.join(root, 'node_modules'), path.join(bare, 'node_modules'), 'dir');
    const result = spawnSync(process.execPath, [path.join(bare, 'dist', 'cli.js'), 'train', '--backend', 'wasm', '--steps', '2', '--out', path.join(bare, 'run')], { encoding: 'utf8' });
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /^rnn-native: the wasm backend cannot load: .*rnn_native\.wasm is missing \(npm run build:wasm builds it\)\n$/);
  });
});

describe('RNN_WASM_FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-wasm-file-'));
  const cli = path.join(root, 'dist', 'cli.js');
  const train = (file: string) =>
    spawnSync(process.execPath, [cli, 'train', '--backend', 'wasm', '--steps', '2', '--quiet', '--out', path.join(dir, 'run')], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, RNN_NATIVE_BACKEND: '', RNN_WASM_FILE: file },
    });

  it('loads another build of the module', () => {
    const copy = path.join(dir, 'copy.wasm');
    cpSync(path.join(root, 'wasm', 'rnn_native.wasm'), copy);
    const result = train(copy);
    assert.strictEqual(result.status, 0, result.stderr);
  });

  it('refuses a file that is no module, and a FIFO (reading would wait for ever), with one line', () => {
    const text = path.join(dir, 'text.wasm');
    writeFileSync(text, 'just text\n');
    const fifo = path.join(dir, 'fifo.wasm');
    spawnSync('mkfifo', [fifo]);
    for (const [file, reason] of [[text, /does not load \(.+\)/], [fifo, /is not a regular file/]] as const) {
      const result = train(file);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`^rnn-native: the wasm backend cannot load: ${file}`));
      assert.match(result.stderr, reason);
    }
  });

  it('refuses a valid module that is not rnn-native\'s (an empty one), naming what it lacks', () => {
    const empty = path.join(dir, 'empty-module.wasm');
    writeFileSync(empty, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const result = train(empty);
    assert.strictEqual(result.status, 2, result.stderr);
    assert.strictEqual(result.stderr, `rnn-native: the wasm backend cannot load: ${empty} is not rnn-native's WebAssembly module (it lacks memory, _initialize, malloc, …)\n`);
  });
});

describe('the packed package without the addon', function () {
  this.timeout(120_000);

  it('holds the .wasm, and trains on it (no build/, the addon disabled)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-packed-'));
    // --ignore-scripts: pack what pretest and setup built (npm pack alone would rebuild both).
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    assert.strictEqual(pack.status, 0, pack.stderr);
    const [{ filename, files }] = JSON.parse(pack.stdout);
    assert.ok(files.some((f: { path: string }) => f.path === 'wasm/rnn_native.wasm'), 'wasm/rnn_native.wasm is in the package');
    assert.strictEqual(spawnSync('tar', ['-xzf', path.join(dir, filename), '-C', dir]).status, 0);
    const unpacked = path.join(dir, 'package');
    symlinkSync(path.join(root, 'node_modules'), path.join(unpacked, 'node_modules'), 'dir');
    const out = path.join(dir, 'run');
    const result = spawnSync(process.execPath, [path.join(unpacked, 'dist', 'cli.js'), 'train', '--steps', '20', '--hidden', '8', '--quiet', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, RNN_NATIVE_BACKEND: '', RNN_NATIVE_DISABLE: '1' },
    });
    assert.strictEqual(result.status, 0, result.stderr);
    assert.match(result.stderr, /using the WebAssembly backend/);
    assert.strictEqual(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).backend, 'wasm');
  });
});

describe('the install hook without the addon (RNN_NATIVE_SKIP_BUILD=1)', () => {
  const skip = (copy: string) =>
    spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_SKIP_BUILD: '1' } });
  const copyOf = (withWasm: boolean) => {
    const copy = mkdtempSync(path.join(tmpdir(), 'rnn-install-'));
    cpSync(path.join(root, 'scripts', 'install.js'), path.join(copy, 'scripts', 'install.js'));
    if (withWasm) cpSync(path.join(root, 'wasm', 'rnn_native.wasm'), path.join(copy, 'wasm', 'rnn_native.wasm'));
    return copy;
  };

  it('names the backend that will run: wasm when the package has the module, else ts', () => {
    const withWasm = skip(copyOf(true));
    assert.strictEqual(withWasm.status, 0, withWasm.stderr);
    assert.strictEqual(withWasm.stderr, 'rnn-native: RNN_NATIVE_SKIP_BUILD=1, not building the addon; the WebAssembly backend will be used.\n');
    const without = skip(copyOf(false));
    assert.strictEqual(without.stderr, 'rnn-native: RNN_NATIVE_SKIP_BUILD=1, not building the addon; the slower TypeScript backend will be used.\n');
  });
});
