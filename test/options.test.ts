// Option values on the command line: negative numbers are values, checked like any other.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { parseOptions } from '../lib/util/options';
import { UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

describe('negative option values', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-options-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, UNICODE_TEXT.repeat(20));
  const model = path.join(dir, 'run');

  before(() => {
    const result = run(['train', '--data', text, '--steps', '20', '--hidden', '8', '--out', model, '--quiet']);
    assert.strictEqual(result.status, 0, result.stderr);
  });

  const refused: [string[], string][] = [
    [['train', '--steps', '-5'], '--steps must be an integer from 1 to 1000000000000, got "-5"'],
    [['train', '--steps=-5'], '--steps must be an integer from 1 to 1000000000000, got "-5"'],
    [['train', '--eta', '-0.1'], '--eta must be a number ≥ 1e-30 and ≤ 3.4e+38, got "-0.1"'],
    [['train', '--eta', '-.5'], '--eta must be a number ≥ 1e-30 and ≤ 3.4e+38, got "-.5"'],
    [['train', '--hidden', '-1e3'], '--hidden must be an integer from 1 to'],
    [['sample', '--model', model, '--temperature', '-1'], '--temperature must be a number ≥ 0 and ≤ 100, got "-1"'],
    [['sample', '--model', model, '--length', '-10'], '--length must be an integer from 1 to 100000000, got "-10"'],
    [['gradcheck', '--step', '-1e-4'], '--step must be a number > 0'],
    [['report', model, '--temperature', '-2'], '--temperature must be a number ≥ 0 and ≤ 100, got "-2"'],
  ];
  for (const [args, message] of refused) {
    it(`${args.filter((a) => a !== model).join(' ')}: one line naming what is accepted, exit 2`, () => {
      const result = run(args);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.ok(result.stderr.startsWith(`rnn-native: ${message}`), result.stderr);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1);
    });
  }

  it('--seed -3 is a valid seed (train, sample, gradcheck), the same as --seed=-3', () => {
    const train = run(['train', '--data', text, '--steps', '20', '--hidden', '8', '--seed', '-3', '--out', path.join(dir, 'seeded'), '--quiet']);
    assert.strictEqual(train.status, 0, train.stderr);
    const a = run(['sample', '--model', model, '--length', '50', '--seed', '-3']);
    assert.strictEqual(a.status, 0, a.stderr);
    assert.strictEqual(run(['sample', '--model', model, '--length', '50', '--seed=-3']).stdout, a.stdout);
    assert.notStrictEqual(run(['sample', '--model', model, '--length', '50', '--seed', '3']).stdout, a.stdout);
    const check = run(['gradcheck', '--data', text, '--hidden', '3', '--seq-length', '5', '--seed', '-3', '--json']);
    assert.strictEqual(check.status, 0, check.stderr);
  });

  it('a short option takes a negative value; a missing value is still refused', () => {
    const specs = { out: { kind: 'string', short: 'o', help: '' }, n: { kind: 'integer', min: -9, max: 9, help: '' }, q: { kind: 'flag', help: '' } } as const;
    assert.deepStrictEqual(parseOptions(['-o', '-5.svg', '--n', '-9'], specs), { out: '-5.svg', n: -9 });
    assert.throws(() => parseOptions(['--n', '--q'], specs), /argument is ambiguous/);
    assert.throws(() => parseOptions(['--q', '-5'], specs), /unknown option -5 \(see --help\)/);
  });
});
