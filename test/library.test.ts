// The library as README shows it: its example runs as written, from inside this checkout, and
// the exported functions refuse what the command line refuses.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import path from 'path';
import { BackendChoice, Corpus, gradcheck, selectBackend, Trainer, UserError, writeReport } from '../lib';
import { generatedText } from './helpers';

const root = path.join(__dirname, '..');

describe('library API', () => {
  it("README's library example runs as written from the repository checkout", function () {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const example = /## Library\n+```js\n([\s\S]*?)```/.exec(readme);
    assert.ok(example, 'README has a js block under "## Library"');
    const result = spawnSync(process.execPath, ['-e', example[1]], { cwd: root, encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
    assert.strictEqual(result.status, 0, result.stderr);
    const steps = result.stdout.split('\n').filter((line) => /^\d+ \d+ \d+\.\d\d$/.test(line));
    assert.deepStrictEqual(steps.map((line) => Number(line.split(' ')[0])), [10000, 20000, 30000, 40000, 50000, 60000, 70000, 80000, 90000, 100000]);
  });

  const corpus = Corpus.fromText(generatedText(3000));
  const refuses = (f: () => unknown, message: RegExp) =>
    assert.throws(f, (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'), String(message));

  it('every exported function with options refuses an unknown name and a bad value', () => {
    refuses(() => new Trainer(corpus, { hiden: 10 } as object), /Trainer: unknown option "hiden"; did you mean "hidden"\?/);
    refuses(() => gradcheck(corpus, { hiden: 10 } as object), /gradcheck: unknown option "hiden"; did you mean "hidden"\?/);
    refuses(() => gradcheck(corpus, { hidden: -1 }), /^hidden must be an integer from 1 to/);
    refuses(() => writeReport('/nonexistent', { sed: 1 } as object), /writeReport: unknown option "sed"; did you mean "seed"\?/);
    refuses(() => writeReport('/nonexistent', { temperature: -1 }), /^temperature must be a number ≥ 0 and ≤ 100, got "-1"$/);
    refuses(() => selectBackend('gpu' as BackendChoice), /^backend must be one of auto, native, ts, got "gpu"$/);
    const trainer = new Trainer(corpus, { hidden: 8 });
    refuses(() => trainer.sample(10, { temprature: 1 } as object), /sample: unknown option "temprature"; did you mean "temperature"\?/);
    refuses(() => trainer.sample(10, { temperature: -1 }), /^temperature must be a number ≥ 0 and ≤ 100, got "-1"$/);
  });
});
