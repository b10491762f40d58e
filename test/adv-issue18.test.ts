// Adversarial regressions for issue 18 ("one model, one layered tree"): what the DD2424
// configuration on the one engine must still keep — the warnings, refusals and docs that follow
// from --threads now reaching the one-stream model, and checkpointVersion checked where it enters.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
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

describe('issue 18, adversarial', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-adv18-'));
  });

  it('a resume of a DD2424 (batch 1) native run with other --threads says it is not bit for bit', () => {
    if (!loadNative().addon) return;
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(20000));
    const out = path.join(dir, 'threads-dd2424');
    const first = run(['train', '--data', text, '--hidden', '128', '--steps', '20', '--threads', '2', '--quiet', '--backend', 'native', '--out', out]);
    assert.strictEqual(first.status, 0, first.stderr);
    // --threads now gives the one stream's multiplies OpenBLAS threads: another count is another sum order.
    const resumed = run(['train', '--resume', out, '--steps', '40', '--threads', '1', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(resumed.stderr, 'rnn-native: warning: the run trained with --threads 2; --threads 1 continues it, not bit for bit as --threads 2 would\n');
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

  it('the docs no longer describe what 0.4.0 removed: the DD2424 configuration ignoring --threads, parameters() as U…c, gradcheck’s 0.3.0 analytic form', () => {
    const library = readFileSync(path.join(root, 'docs', 'library.md'), 'utf8').replace(/\s+/g, ' ');
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const training = readFileSync(path.join(root, 'docs', 'training.md'), 'utf8').replace(/\s+/g, ' ');
    assert.doesNotMatch(library, /\(layout, params, grads, h, x, y\)/, 'library.md documents the analytic form gradcheck no longer calls');
    assert.doesNotMatch(library, /Float64Arrays \(U, W, V, b, c; or/, 'library.md says parameters() of the DD2424 configuration are U, W, V, b, c');
    assert.doesNotMatch(library, /the DD2424 configuration and the wasm and ts backends run one thread and ignore it/, 'library.md says setThreads is ignored by the DD2424 configuration');
    assert.doesNotMatch(readme, /no effect \(a warning line says so\) on the DD2424 configuration/, 'README says --threads has no effect on the DD2424 configuration');
    assert.doesNotMatch(training, /on the native backend beyond the DD2424 configuration, the same `--threads`/, 'training.md says the DD2424 configuration resumes bit for bit whatever --threads');
  });
});
