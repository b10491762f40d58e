// Golden tests of the LSTM/GRU model: numbers made once by scripts/make-golden-general.ts and
// reviewed, so that a consistent change in the reference and the kernels alike (gate order,
// initialisation order, dropout masks, an optimizer's rule) cannot pass unnoticed. Each case
// names every model option it was made with, so a change of a default does not move it.
// The reference reproduces them exactly; native and wasm (float32) free-running within
// COMPILED_TOLERANCE relative (measured when made: at most 4.2e-8).
import assert from 'assert';
import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, readCheckpoint, Trainer, TrainerOptions } from '../lib';
import { decodeSafetensors } from '../lib/run/safetensors';
import { COMPILED_BACKENDS } from './helpers';

const dir = path.join(__dirname, 'golden');
const golden = JSON.parse(readFileSync(path.join(dir, 'general.json'), 'utf8'));
const textPath = path.join(dir, 'text.txt');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const COMPILED_TOLERANCE = 1e-6;
const UPDATES = golden.settings.updates as number;
const HALF = UPDATES / 2;

interface GoldenCase {
  config: TrainerOptions;
  losses: number[];
  smoothLoss: number;
  epoch: number;
  position: number;
  validationLoss: number | null;
  trainerSample: string;
  samples: { seed: number; temperature: number; text: string }[];
}

/**
 * Every model option a case was made with: those general.json names, and the options added since
 * at what the code then did (N(0, σ²) weights, validation read as one stream, all of it).
 */
const madeWith = (c: GoldenCase) => ({ ...c.config, init: golden.settings.initialisation, valStreams: 1, valMaxChars: 0 });
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const checkpointFile = (name: string, backend: string, step: number) => path.join(dir, `v2-${name}-${backend}-step${step}.safetensors`);

function cliRun(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
  assert.strictEqual(result.status, 0, `rnn-native ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The tensors of a checkpoint file, by name, as raw bytes. */
function tensorBytes(file: string): Record<string, Buffer> {
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

describe('golden: the LSTM and GRU model (2 layers, 3 streams, dropout, Adam and RMSprop)', function () {
  this.timeout(60_000);
  let corpus: Corpus;
  before(() => {
    corpus = Corpus.fromFile(textPath);
    assert.deepStrictEqual({ sha256: corpus.sha256, characters: corpus.length, vocabSize: corpus.vocabSize }, golden.text);
  });

  for (const [name, c] of Object.entries(golden.cases as Record<string, GoldenCase>)) {
    describe(name, () => {
      it(`reference: the first ${UPDATES} losses, the smooth loss, the walk, the validation loss and a sample, exactly`, () => {
        const trainer = new Trainer(corpus, { ...madeWith(c), backend: 'ts' });
        assert.deepStrictEqual(Array.from(trainer.train(UPDATES)), c.losses);
        assert.strictEqual(trainer.smoothLoss, c.smoothLoss);
        assert.deepStrictEqual([trainer.epoch, trainer.position], [c.epoch, c.position]);
        assert.strictEqual(trainer.validationLoss() ?? null, c.validationLoss);
        assert.strictEqual(trainer.sample(golden.settings.sampleLength, { temperature: 0.8 }), c.trainerSample);
      });

      for (const backend of COMPILED_BACKENDS) {
        it(`${backend} (free-running): every loss, the smooth and validation losses within ${COMPILED_TOLERANCE} relative; the same sample`, () => {
          const trainer = new Trainer(corpus, { ...madeWith(c), backend });
          const losses = trainer.train(UPDATES);
          c.losses.forEach((loss, i) => assert.ok(relative(losses[i], loss) <= COMPILED_TOLERANCE, `update ${i + 1}: ${losses[i]} vs ${loss}`));
          assert.ok(relative(trainer.smoothLoss!, c.smoothLoss) <= COMPILED_TOLERANCE, `${trainer.smoothLoss} vs ${c.smoothLoss}`);
          assert.deepStrictEqual([trainer.epoch, trainer.position], [c.epoch, c.position]);
          if (c.validationLoss !== null) assert.ok(relative(trainer.validationLoss()!, c.validationLoss) <= COMPILED_TOLERANCE);
          assert.strictEqual(trainer.sample(golden.settings.sampleLength, { temperature: 0.8 }), c.trainerSample);
        });
      }

      it('its committed version-2 checkpoints load, with the options they were made with', () => {
        for (const backend of ['ts', 'native']) {
          const { training, run } = readCheckpoint(checkpointFile(name, backend, HALF));
          assert.strictEqual(training.step, HALF);
          // Made before --init and --val-streams: their config has neither, and reads as what they were made with.
          assert.deepStrictEqual(training.config, madeWith(c));
          assert.strictEqual(run.corpusSha256, golden.text.sha256);
          assert.ok(training.params instanceof (backend === 'ts' ? Float64Array : Float32Array));
        }
      });

      for (const backend of ['ts', ...COMPILED_BACKENDS]) {
        it(`samples ${golden.settings.sampleLength} characters from a committed checkpoint and seed, as when made (${backend})`, () => {
          for (const { seed, temperature, text } of c.samples) {
            const args = ['--length', String(golden.settings.sampleLength), '--seed', String(seed), '--temperature', String(temperature)];
            const out = cliRun(['sample', '--model', checkpointFile(name, 'ts', UPDATES), '--backend', backend, ...args]);
            assert.strictEqual(out, text + '\n', `seed ${seed}, temperature ${temperature}`);
          }
        });
      }

      it(`resumes (library, reference) from step ${HALF} to the committed step ${UPDATES}, byte for byte`, () => {
        const trainer = Trainer.restore(corpus, readCheckpoint(checkpointFile(name, 'ts', HALF)).training, 'ts');
        trainer.train(HALF);
        const expected = readCheckpoint(checkpointFile(name, 'ts', UPDATES)).training;
        const actual = trainer.snapshot();
        for (const key of ['params', 'accum', 'first', 'state'] as const) assert.deepStrictEqual(actual[key], expected[key], key);
        assert.deepStrictEqual(Array.from(actual.rngState), Array.from(expected.rngState));
        assert.deepStrictEqual(
          [actual.step, actual.epoch, actual.position, actual.smoothLoss, actual.lastLoss],
          [expected.step, expected.epoch, expected.position, expected.smoothLoss, expected.lastLoss]
        );
      });

      it('resumes (train --resume, reference) to the committed tensors, byte for byte', () => {
        const run = mkdtempSync(path.join(tmpdir(), 'rnn-golden-general-'));
        copyFileSync(checkpointFile(name, 'ts', HALF), path.join(run, 'latest.safetensors'));
        cliRun(['train', '--resume', run, '--data', textPath, '--backend', 'ts', '--steps', String(UPDATES), '--quiet']);
        const actual = tensorBytes(path.join(run, 'latest.safetensors'));
        const expected = tensorBytes(checkpointFile(name, 'ts', UPDATES));
        assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
        for (const tensor of Object.keys(expected)) assert.ok(actual[tensor].equals(expected[tensor]), `tensor ${tensor} differs`);
      });

      it(`resumes a native float32 checkpoint on native to the committed step ${UPDATES} (within ${COMPILED_TOLERANCE} of the largest value)`, () => {
        const trainer = Trainer.restore(corpus, readCheckpoint(checkpointFile(name, 'native', HALF)).training, 'native');
        trainer.train(HALF);
        const expected = readCheckpoint(checkpointFile(name, 'native', UPDATES)).training;
        const actual = trainer.snapshot();
        for (const key of ['params', 'accum', 'first', 'state'] as const) {
          const want = expected[key] ?? new Float32Array(0);
          const got = actual[key] ?? new Float32Array(0);
          assert.strictEqual(got.length, want.length, key);
          const scale = Math.max(0, ...Array.from(want, Math.abs));
          const worst = Math.max(0, ...Array.from(got, (v, i) => Math.abs(v - want[i])));
          assert.ok(worst <= COMPILED_TOLERANCE * scale, `${key}: max difference ${worst}, largest value ${scale}`);
        }
        assert.deepStrictEqual([actual.step, actual.epoch, actual.position], [expected.step, expected.epoch, expected.position]);
      });
    });
  }
});
