// Without the addon, the library falls back to the TypeScript backend and the CLI says so in
// one warning line. The package is copied without its build/ folder, so the addon is truly absent.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, symlinkSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

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
