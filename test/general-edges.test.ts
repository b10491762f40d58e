// LSTM/GRU and the model's other options at their edges, as a demanding user drives it: regressions of what
// trying to break it found.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, Trainer } from '../lib';
import { decodeCheckpoint, encodeCheckpoint, writeCheckpoint } from '../lib/run/checkpoint';
import { sampleCheckpoint } from '../lib/run/sample-checkpoint';
import { loadNative } from '../lib/engine/native';
import { decodeSafetensors, encodeSafetensors } from '../lib/run/safetensors';
import { generatedText, resealed } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const dir = mkdtempSync(path.join(tmpdir(), 'rnn-edges-'));
const text = path.join(dir, 'text.txt');
writeFileSync(text, generatedText(20000));
const small = ['--data', text, '--cell', 'gru', '--hidden', '8', '--quiet', '--backend', 'ts'];

describe('general model edges: train and resume', () => {
  it('a best validation loss at a sample step checkpoints after the sample: a resume draws the same samples', () => {
    const args = [...small, '--val-fraction', '0.1', '--eval-every', '5', '--sample-every', '5', '--sample-length', '40', '--log-every', '5'];
    const whole = path.join(dir, 'whole-samples');
    const halves = path.join(dir, 'halves-samples');
    assert.strictEqual(run(['train', ...args, '--steps', '10', '--out', whole]).status, 0);
    assert.strictEqual(run(['train', ...args, '--steps', '5', '--out', halves]).status, 0);
    const resumed = run(['train', '--resume', halves, '--steps', '10', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(readFileSync(path.join(halves, 'samples.txt'), 'utf8'), readFileSync(path.join(whole, 'samples.txt'), 'utf8'));
  });
});

describe('general model edges: a previous release’s version-1 checkpoint', () => {
  it('resumes twice from a directory that held only the checkpoint (the first resume writes a whole config.json)', () => {
    const golden = path.join(__dirname, 'golden');
    const out = path.join(dir, 'golden-only');
    mkdirSync(out);
    copyFileSync(path.join(golden, 'v1-ts-step50.safetensors'), path.join(out, 'latest.safetensors'));
    const first = run(['train', '--resume', out, '--data', path.join(golden, 'text.txt'), '--steps', '55', '--quiet']);
    assert.strictEqual(first.status, 0, first.stderr);
    const second = run(['train', '--resume', out, '--steps', '60', '--quiet']);
    assert.strictEqual(second.status, 0, second.stderr);
    assert.strictEqual(second.stderr, '');
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepStrictEqual([config.hidden, config.steps, config.resumed.map((r: { step: number }) => r.step)], [16, 60, [50, 55]]);
  });
});

describe('general model edges: config.json against the checkpoint', () => {
  it('refuses a config.json without an option of the general model that the checkpoint does not have at its default', () => {
    const out = path.join(dir, 'config-missing');
    assert.strictEqual(run(['train', ...small, '--batch', '2', '--val-fraction', '0.1', '--steps', '3', '--sample-every', '0', '--out', out]).status, 0);
    const file = path.join(out, 'config.json');
    const { valFraction: _valFraction, ...config } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(config));
    const resumed = run(['train', '--resume', out, '--steps', '6', '--quiet']);
    assert.strictEqual(resumed.status, 2);
    assert.match(resumed.stderr, /config\.json and .*latest\.safetensors are not of one run: valFraction missing \(so 0\) \(the checkpoint has 0\.1\)/);
  });
});

describe('general model edges: a text too short for its streams', () => {
  it('says that the training part is cut, without the held-out part', () => {
    const corpus = Corpus.fromText('abcdefghijklmnopqrstuvwxyz'.repeat(4), 'letters');
    const options = { cell: 'gru', hidden: 4, batch: 4, seqLength: 25, backend: 'ts' } as const;
    assert.throws(() => new Trainer(corpus, { ...options, valFraction: 0.02 }), /^UserError: the training part of letters, 102 characters \(2 are held out\), cut into 4 streams leaves 25 per stream; seq-length 25 needs at least 26/);
    assert.throws(() => new Trainer(Corpus.fromText('abcdefghijklmnopqrstuvwxyz'.repeat(3)), options), /^UserError: a text of 78 characters cut into 4 streams leaves 19 per stream/);
  });
});

describe('general model edges: flags that do nothing', () => {
  it('warns of each flag the other options make useless, and of none that has an effect', () => {
    const quiet = ['--steps', '2', '--sample-every', '0'];
    const useless = run(['train', ...small, ...quiet, '--eval-every', '5', '--rms-decay', '0.9', '--beta2', '0.99', '--lr-decay-after', '3', '--out', path.join(dir, 'useless')]);
    assert.strictEqual(useless.status, 0, useless.stderr);
    assert.deepStrictEqual(useless.stderr.trim().split('\n'), [
      'rnn-native: warning: --eval-every has no effect without --val-fraction',
      'rnn-native: warning: --rms-decay has no effect with --optimizer adagrad',
      'rnn-native: warning: --beta2 has no effect with --optimizer adagrad',
      'rnn-native: warning: --lr-decay-after has no effect without --lr-decay',
    ]);
    const used = run(['train', ...small, ...quiet, '--val-fraction', '0.1', '--eval-every', '5', '--optimizer', 'adam', '--beta2', '0.99', '--lr-decay', '0.9', '--lr-decay-after', '3', '--out', path.join(dir, 'used')]);
    assert.strictEqual(used.status, 0, used.stderr);
    assert.strictEqual(used.stderr, '');
  });
});

describe('general model edges: divergence', () => {
  it('a validation loss that overflows (float32, finite weights) stops the run as a divergence: no NaN row, no best', function () {
    if (!loadNative().addon) this.skip();
    const out = path.join(dir, 'val-overflow');
    const args = ['--data', text, '--cell', 'rnn', '--layers', '2', '--hidden', '32', '--optimizer', 'rmsprop', '--eta', '7e37', '--clip', '1e30'];
    const result = run(['train', ...args, '--val-fraction', '0.1', '--eval-every', '1', '--steps', '20', '--sample-every', '0', '--out', out, '--backend', 'native', '--quiet']);
    assert.strictEqual(result.status, 1, result.stderr);
    assert.match(result.stderr, /the validation loss became (NaN|Infinity) at step 1; training stopped/);
    assert.ok(!existsSync(path.join(out, 'best.safetensors')), 'a model whose validation loss is not a number is no best');
    const valCsv = path.join(out, 'val.csv');
    assert.ok(!existsSync(valCsv) || !/NaN|Infinity/.test(readFileSync(valCsv, 'utf8')), 'val.csv holds only numbers');
  });
});

describe('general model edges: library', () => {
  it('exports PRESETS, whose char-rnn options spread into a Trainer (as docs/library.md says)', () => {
    const lib = require('../lib');
    assert.ok(lib.PRESETS, 'PRESETS is exported');
    const trainer = new lib.Trainer(lib.Corpus.fromText(generatedText(3000)), { ...lib.PRESETS['char-rnn'], hidden: 8, batch: 2, backend: 'ts' });
    assert.deepStrictEqual([trainer.config.cell, trainer.config.layers, trainer.config.optimizer, trainer.config.valFraction], ['lstm', 2, 'rmsprop', 0.05]);
  });
});

describe('general model edges: handcrafted version-2 checkpoints', () => {
  const corpus = Corpus.fromText(generatedText(3000));
  const trainer = new Trainer(corpus, { cell: 'gru', layers: 2, hidden: 6, batch: 3, seqLength: 10, optimizer: 'rmsprop', valFraction: 0.1, backend: 'ts' });
  trainer.train(3);
  const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, bestValLoss: 1.5, elapsedSeconds: 0 };
  const good = decodeSafetensors(encodeCheckpoint({ training: trainer.snapshot(), run: record }), 'x');
  const withMetadata = (changes: Record<string, string>) => resealed(encodeSafetensors(good.tensors, { ...good.metadata, ...changes }));

  it('reads the file as written', () => {
    assert.strictEqual(decodeCheckpoint(withMetadata({}), 'good').run.bestValLoss, 1.5);
  });

  it('refuses a position beyond the streams’ slices, though its stream positions agree with it', () => {
    const slice = Math.floor((corpus.length - Math.floor(0.1 * corpus.length)) / 3);
    const position = Math.ceil(slice / 10) * 10; // a multiple of seq-length, past the slice's end
    const positions = JSON.stringify([0, 1, 2].map((b) => b * slice + position));
    assert.throws(() => decodeCheckpoint(withMetadata({ position: String(position), stream_positions: positions }), 'far'), /far: not an rnn-native checkpoint: metadata "position" \d+ is not a window start of a \d+-character slice/);
  });

  it('refuses a negative best validation loss', () => {
    assert.throws(() => decodeCheckpoint(withMetadata({ best_val_loss: '-1' }), 'neg'), /neg: not an rnn-native checkpoint: metadata "best_val_loss" must be ≥ 0/);
  });

  it('names the file when its config holds out nothing of its text', () => {
    assert.throws(() => decodeCheckpoint(withMetadata({ corpus_characters: '15', position: '0', stream_positions: '[0,0,0]' }), 'tiny'), /^UserError: tiny: not an rnn-native checkpoint: .*val-fraction 0.1 holds out 1/);
  });
});

describe('general model edges: a ts state beyond float32 on the native backend', () => {
  it('is refused, by restore and by sampling, instead of turning infinite', function () {
    if (!loadNative().addon) this.skip();
    const corpus = Corpus.fromText(generatedText(3000));
    // η 1e37: two updates may reach 1e39 (the reader refuses what no run of the file's settings reaches).
    const trainer = new Trainer(corpus, { cell: 'lstm', hidden: 6, batch: 2, seqLength: 10, optimizer: 'adam', eta: 1e37, backend: 'ts' });
    trainer.train(2);
    const state = trainer.snapshot();
    state.params[0] = 1e39; // finite in float64, infinite in float32
    assert.throws(() => Trainer.restore(corpus, state, 'native'), /beyond float32's range .* use the ts backend/);
    assert.strictEqual(Trainer.restore(corpus, state, 'ts').parameters()['layers.0.Wx'][0], 1e39);
    const file = path.join(dir, 'beyond.safetensors');
    writeCheckpoint(file, { training: state, run: { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 } });
    const sample = (backend: 'ts' | 'native') => Array.from(sampleCheckpoint(file, { length: 10, temperature: 1, seed: 1, backend }).pieces).join('');
    assert.throws(() => sample('native'), /beyond\.safetensors: the model holds values beyond float32's range/);
    assert.strictEqual(Array.from(sample('ts')).length, 10);
  });
});

describe('general model edges: native models made per call', () => {
  // A native model's memory is freed only when the event loop turns: a library loop that validates
  // or samples must not make new ones each time (it grew by megabytes per call).
  it('validationLoss of the DD2424 model on native makes its models once; sampling shares one gradient buffer', function () {
    const { addon } = loadNative();
    if (!addon) this.skip();
    const original = addon.Model;
    const gradBuffers = new Set<unknown>();
    let made = 0;
    (addon as { Model: unknown }).Model = function (spec: { grads: unknown }) {
      made++;
      gradBuffers.add(spec.grads);
      return new original(spec as never);
    };
    try {
      const corpus = Corpus.fromText(generatedText(3000));
      const vanilla = new Trainer(corpus, { hidden: 8, valFraction: 0.1, backend: 'native' });
      const losses = [1, 2, 3].map(() => vanilla.validationLoss());
      assert.strictEqual(made, 2, 'the one-step model and the validation window model, once');
      assert.ok(losses.every((loss) => loss === losses[0]));
      const general = new Trainer(corpus, { cell: 'gru', hidden: 8, batch: 2, backend: 'native' });
      const before = gradBuffers.size;
      for (let i = 0; i < 3; i++) general.sample(5);
      assert.strictEqual(gradBuffers.size, before + 1);
    } finally {
      (addon as { Model: unknown }).Model = original;
    }
  });
});
