// Golden tests of the vanilla DD2424 model: numbers made once by scripts/make-golden.ts and
// reviewed, so that a refactor or a new model cannot change the default model unnoticed.
// Every other behavioural test compares one backend or run with another; these compare with
// what the model computed when they were made. The reference backend must reproduce them
// exactly; the native float32 backend within its stated tolerance (docs/model.md: free-running at
// η = 0.01, every loss within 1e-4 relative), since at η = 0.1 float32 rounding grows chaotically.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, demoCorpus, loadNative, readCheckpoint, Trainer } from '../lib';
import { decodeSafetensors } from '../lib/safetensors';

const dir = path.join(__dirname, 'golden');
const golden = JSON.parse(readFileSync(path.join(dir, 'vanilla.json'), 'utf8'));
const textPath = path.join(dir, 'text.txt');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const NATIVE_TOLERANCE = 1e-4;

interface GoldenRun {
  eta: number;
  losses: number[];
  smoothLoss: number;
  epoch: number;
  position: number;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const fixture = (name: string) => path.join(dir, name);
const checkpointSteps = golden.settings.checkpoint.steps as number;

function cliRun(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
  assert.strictEqual(result.status, 0, `rnn-native ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The tensors of a checkpoint file, by name, as raw bytes. */
function tensorBytes(file: string): Record<string, Buffer> {
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)])
  );
}

describe('golden: the vanilla DD2424 model', () => {
  let corpus: Corpus;
  before(() => {
    corpus = Corpus.fromFile(textPath);
  });

  it('reads the fixture text and the built-in demo corpus as when the goldens were made', () => {
    assert.deepStrictEqual({ sha256: corpus.sha256, characters: corpus.length, vocabSize: corpus.vocabSize }, golden.text);
    const demo = demoCorpus();
    assert.deepStrictEqual({ sha256: demo.sha256, characters: demo.length, vocabSize: demo.vocabSize }, golden.demoCorpus);
  });

  for (const run of golden.runs as GoldenRun[]) {
    it(`reference (η = ${run.eta}): the first ${run.losses.length} losses, the smooth loss after them and the walk, exactly`, () => {
      const trainer = new Trainer(corpus, { backend: 'ts', eta: run.eta });
      assert.deepStrictEqual(Array.from(trainer.train(run.losses.length)), run.losses);
      assert.strictEqual(trainer.smoothLoss, run.smoothLoss);
      assert.deepStrictEqual([trainer.epoch, trainer.position], [run.epoch, run.position]);
    });
  }

  it(`native (η = 0.01, free-running): every loss and the smooth loss within ${NATIVE_TOLERANCE} relative`, () => {
    assert.ok(!loadNative().error, `the native addon must load: ${loadNative().error}`);
    const run = (golden.runs as GoldenRun[]).find((r) => r.eta === 0.01)!;
    const trainer = new Trainer(corpus, { backend: 'native', eta: run.eta });
    const losses = trainer.train(run.losses.length);
    run.losses.forEach((loss, i) => assert.ok(relative(losses[i], loss) <= NATIVE_TOLERANCE, `update ${i + 1}: ${losses[i]} vs ${loss}`));
    assert.ok(relative(trainer.smoothLoss!, run.smoothLoss) <= NATIVE_TOLERANCE, `${trainer.smoothLoss} vs ${run.smoothLoss}`);
    assert.deepStrictEqual([trainer.epoch, trainer.position], [run.epoch, run.position]);
  });

  for (const backend of ['ts', 'native']) {
    it(`samples 200 characters from a fixed checkpoint and seed, as when made (${backend})`, () => {
      const model = fixture(`v1-ts-step${2 * checkpointSteps}.safetensors`);
      for (const { seed, temperature, text } of golden.samples) {
        const args = ['--length', String(golden.settings.sampleLength), '--seed', String(seed), '--temperature', String(temperature)];
        const out = cliRun(['sample', '--model', model, '--backend', backend, ...args]);
        assert.strictEqual(out, text + '\n', `seed ${seed}, temperature ${temperature}`);
      }
    });
  }

  describe('a committed version-1 checkpoint', () => {
    const halfway = fixture(`v1-ts-step${checkpointSteps}.safetensors`);
    const end = fixture(`v1-ts-step${2 * checkpointSteps}.safetensors`);

    it('still loads, with the state it was written with', () => {
      const { training, run } = readCheckpoint(halfway);
      assert.strictEqual(training.step, checkpointSteps);
      assert.strictEqual(training.config.hidden, golden.settings.checkpoint.hidden);
      assert.ok(training.params instanceof Float64Array);
      assert.strictEqual(run.corpusSha256, golden.text.sha256);
      assert.strictEqual(readCheckpoint(fixture(`v1-native-step${checkpointSteps}.safetensors`)).training.params instanceof Float32Array, true);
    });

    it('resumes (library, reference) to byte-identical tensors of the uninterrupted run', () => {
      const trainer = Trainer.restore(corpus, readCheckpoint(halfway).training, 'ts');
      trainer.train(checkpointSteps);
      const expected = readCheckpoint(end).training;
      const actual = trainer.snapshot();
      for (const key of ['params', 'accum', 'state'] as const) assert.deepStrictEqual(actual[key], expected[key], key);
      assert.deepStrictEqual(Array.from(actual.rngState), Array.from(expected.rngState));
      assert.deepStrictEqual(
        [actual.step, actual.epoch, actual.position, actual.smoothLoss, actual.lastLoss],
        [expected.step, expected.epoch, expected.position, expected.smoothLoss, expected.lastLoss]
      );
    });

    it('resumes (train --resume, reference) to byte-identical tensors', () => {
      const run = mkdtempSync(path.join(tmpdir(), 'rnn-golden-'));
      copyFileSync(halfway, path.join(run, 'latest.safetensors'));
      cliRun(['train', '--resume', run, '--data', textPath, '--backend', 'ts', '--steps', String(2 * checkpointSteps), '--quiet']);
      const actual = tensorBytes(path.join(run, 'latest.safetensors'));
      const expected = tensorBytes(end);
      assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
      for (const name of Object.keys(expected)) assert.ok(actual[name].equals(expected[name]), `tensor ${name} differs`);
    });

    it(`resumes a native float32 checkpoint on native to the uninterrupted run's tensors (within ${NATIVE_TOLERANCE})`, () => {
      const saved = readCheckpoint(fixture(`v1-native-step${checkpointSteps}.safetensors`)).training;
      const trainer = Trainer.restore(corpus, saved, 'native');
      trainer.train(checkpointSteps);
      const expected = readCheckpoint(fixture(`v1-native-step${2 * checkpointSteps}.safetensors`)).training;
      const actual = trainer.snapshot();
      for (const key of ['params', 'accum', 'state'] as const) {
        const scale = Math.max(...Array.from(expected[key], Math.abs));
        const worst = Math.max(...Array.from(actual[key], (v, i) => Math.abs(v - expected[key][i])));
        assert.ok(worst <= NATIVE_TOLERANCE * scale, `${key}: max difference ${worst}, largest value ${scale}`);
      }
      assert.deepStrictEqual([actual.step, actual.epoch, actual.position], [expected.step, expected.epoch, expected.position]);
    });
  });
});
