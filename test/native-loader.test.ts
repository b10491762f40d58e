// RNN_NATIVE_ADDON names a compiled addon (.node): nothing else is ever loaded or run through it.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');

describe('RNN_NATIVE_ADDON', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-addon-'));
  const marker = path.join(dir, 'ran');
  const script = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');`;
  writeFileSync(path.join(dir, 'evil.js'), script);
  writeFileSync(path.join(dir, 'missing.node.js'), script);
  writeFileSync(path.join(dir, 'text.txt'), 'just text\n');

  const gradcheck = (addon: string) =>
    spawnSync(process.execPath, [cli, 'gradcheck', '--hidden', '5', '--entries', '3'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, RNN_NATIVE_BACKEND: '', RNN_NATIVE_ADDON: addon },
    });

  const cases: [string, string, RegExp][] = [
    ['a .js file', 'evil.js', /not a compiled addon: the path must end in \.node/],
    ['a text file', 'text.txt', /not a compiled addon: the path must end in \.node/],
    ['a missing .node file beside a .node.js one', 'missing.node', /cannot open shared object file/],
    ['a FIFO named .node (dlopen would wait for ever)', 'fifo.node', /not a regular file/],
  ];
  spawnSync('mkfifo', [path.join(dir, 'fifo.node')]);
  for (const [name, file, reason] of cases) {
    it(`refuses ${name} with one line naming the variable, running nothing`, () => {
      const addon = path.join(dir, file);
      const result = gradcheck(addon);
      assert.strictEqual(existsSync(marker), false, `${file} was run`);
      const line = result.stderr.split('\n').find((l) => l.includes('RNN_NATIVE_ADDON'));
      assert.ok(line, result.stderr);
      assert.ok(line!.includes(`RNN_NATIVE_ADDON=${addon}: could not load ${addon}`), line);
      assert.match(line!, reason);
    });
  }

  it('loads a real addon', () => {
    const result = gradcheck(path.join(__dirname, '..', 'build', 'Release', 'rnn_native.node'));
    assert.strictEqual(result.status, 0, result.stderr);
    assert.strictEqual(result.stderr, '');
  });
});
