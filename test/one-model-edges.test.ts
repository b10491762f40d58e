// Adversarial regressions of the one model: what the DD2424
// configuration on the one engine must still keep — the warnings, refusals and docs that follow
// from --threads now reaching the one-stream model, and checkpointVersion checked where it enters.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, Trainer, UserError, writeCheckpoint, readCheckpoint } from '../lib';
import { loadNative } from '../lib/engine/native';
import { generatedText } from './helpers';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const corpus = Corpus.fromText(generatedText(6000));
const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };

describe('the one model, adversarial', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-adv18-'));
  });

  it('--threads with --batch 1 on native: a warning that it has no effect, and a resume with other threads is bit for bit (it was 3–5× slower, silently)', () => {
    if (!loadNative().addon) return;
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(20000));
    const threaded = path.join(dir, 'threads-dd2424');
    const first = run(['train', '--data', text, '--hidden', '128', '--steps', '20', '--threads', '2', '--quiet', '--backend', 'native', '--out', threaded]);
    assert.strictEqual(first.status, 0, first.stderr);
    assert.strictEqual(first.stderr, 'rnn-native: warning: --threads has no effect with --batch 1 (the threads split the streams)\n');
    const resumed = run(['train', '--resume', threaded, '--steps', '40', '--threads', '1', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(resumed.stderr, '');
    const whole = path.join(dir, 'threads-dd2424-whole');
    assert.strictEqual(run(['train', '--data', text, '--hidden', '128', '--steps', '40', '--quiet', '--backend', 'native', '--out', whole]).status, 0);
    const params = (dir: string) => readCheckpoint(path.join(dir, 'latest.safetensors')).training.params;
    assert.deepStrictEqual(params(threaded), params(whole));
  });

  it('writeCheckpoint refuses a checkpointVersion that is neither 1 nor 2 (it wrote files no reader opens)', () => {
    const lstm = new Trainer(corpus, { hidden: 6, cell: 'lstm', backend: 'ts' });
    lstm.train(2);
    for (const version of [3, '1', 0, 2.5]) {
      const file = path.join(dir, `bad-version-${String(version)}.safetensors`);
      assert.throws(
        () => writeCheckpoint(file, { training: { ...lstm.snapshot(), checkpointVersion: version as unknown as 1 }, run: record }),
        (error: Error) => error instanceof UserError && /checkpointVersion/.test(error.message),
        `checkpointVersion ${JSON.stringify(version)}`
      );
      assert.ok(!existsSync(file), `a file was written for checkpointVersion ${JSON.stringify(version)}`);
    }
  });

  it('Trainer.restore refuses checkpointVersion 1 on a state that is not the DD2424 configuration (not later, at the first checkpoint)', () => {
    const lstm = new Trainer(corpus, { hidden: 6, cell: 'lstm', backend: 'ts' });
    lstm.train(2);
    assert.throws(
      () => Trainer.restore(corpus, { ...lstm.snapshot(), checkpointVersion: 1 }, 'ts'),
      (error: Error) => error instanceof UserError && /version.?1|checkpointVersion/i.test(error.message)
    );
  });

  it('a version-1 checkpoint written through the library is read back as version 1 (control)', () => {
    const file = path.join(dir, 'v1-control.safetensors');
    const dd = new Trainer(corpus, { hidden: 6, backend: 'ts' });
    dd.train(2);
    writeCheckpoint(file, { training: { ...dd.snapshot(), checkpointVersion: 1 }, run: record });
    assert.strictEqual(readCheckpoint(file).training.checkpointVersion, 1);
  });
});
