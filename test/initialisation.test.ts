// The initialisation of a new run: DD2424's N(0, σ²) for one rnn layer (the default model, which
// must not move), PyTorch's U(±1/√m) for lstm, gru and stacked layers unless --sigma or a preset
// says otherwise; the scheme recorded in config.json and the checkpoint, runs of earlier versions
// (no "init") read as the N(0, σ²) they were, and every backend starting from the same weights.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, PRESETS, Trainer } from '../lib';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../lib/run/checkpoint';
import { decodeSafetensors, encodeSafetensors } from '../lib/run/safetensors';
import { initialParams } from '../lib/model/initialisation';
import { parameterTable } from '../lib/model/reference';
import { Rng } from '../lib/util/random';
import { COMPILED_BACKENDS, generatedText, resealed } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

describe('initialisation: the default scheme per cell and layers', function () {
  this.timeout(60_000);
  const corpus = Corpus.fromText(generatedText(3000));
  const small = { hidden: 9, seqLength: 5, backend: 'ts' as const };

  it('normal for one rnn layer (the DD2424 model, unchanged), uniform for lstm, gru and two layers; --sigma, a preset and --init win', () => {
    const init = (options: object) => new Trainer(corpus, { ...small, ...options }).config.init;
    assert.strictEqual(init({}), 'normal');
    assert.strictEqual(init({ cell: 'lstm' }), 'uniform');
    assert.strictEqual(init({ cell: 'gru' }), 'uniform');
    assert.strictEqual(init({ layers: 2 }), 'uniform');
    assert.strictEqual(init({ cell: 'lstm', sigma: 0.05 }), 'normal');
    assert.strictEqual(init({ ...PRESETS['char-rnn'], hidden: 4, batch: 2 }), 'normal');
    assert.strictEqual(init({ init: 'uniform' }), 'uniform');
    assert.strictEqual(init({ cell: 'gru', init: 'normal' }), 'normal');
    // The default model draws exactly what it drew before the option: N(0, 0.01²) from seed 42.
    const dd2424 = new Trainer(corpus, small);
    const shape = { cell: 'rnn' as const, vocab: corpus.vocabSize, hidden: 9, layers: 1 };
    assert.deepStrictEqual(dd2424.snapshot().params, initialParams(shape, 0.01, Rng.fromSeed(42)));
  });

  it('uniform: every weight matrix from U(±1/√m) in float32 (spread as a uniform is), the biases 0 but the lstm forget gates', () => {
    const m = 16;
    const trainer = new Trainer(corpus, { ...small, hidden: m, cell: 'lstm', layers: 2, forgetBias: 1 });
    const params = trainer.snapshot().params;
    for (const p of parameterTable({ cell: 'lstm', vocab: corpus.vocabSize, hidden: m, layers: 2 }).parameters) {
      const values = Array.from(params.subarray(p.offset, p.offset + p.length));
      if (p.shape.length === 1) {
        const expected = p.name === 'c' ? Array(p.length).fill(0) : Array.from({ length: p.length }, (_, i) => (i >= m && i < 2 * m ? 1 : 0));
        assert.deepStrictEqual(values, expected, p.name);
        continue;
      }
      assert.ok(values.every((v) => Math.abs(v) <= Math.fround(1 / Math.sqrt(m)) && v === Math.fround(v)), `${p.name} within ±1/√m, float32`);
      const sd = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
      // U(±a) has standard deviation a/√3 = 0.144 here; N(0, 0.01²) would give 0.01.
      assert.ok(Math.abs(sd - 1 / Math.sqrt(3 * m)) < 0.15 / Math.sqrt(3 * m), `${p.name}: standard deviation ${sd}`);
    }
  });

  it('the reference, native and wasm start from the same weights for the same seed (and train alike)', () => {
    const options = { hidden: 8, seqLength: 6, cell: 'gru' as const, layers: 2, batch: 2, seed: 5 };
    const reference = new Trainer(corpus, { ...options, backend: 'ts' });
    const start = Float32Array.from(reference.snapshot().params);
    const first = reference.train(3);
    for (const backend of COMPILED_BACKENDS) {
      const trainer = new Trainer(corpus, { ...options, backend });
      assert.deepStrictEqual(trainer.snapshot().params, start, backend);
      const losses = trainer.train(3);
      first.forEach((loss, i) => assert.ok(Math.abs(losses[i] - loss) <= 1e-5 * loss, `${backend} update ${i + 1}: ${losses[i]} vs ${loss}`));
    }
  });

  it("the checkpoint reader's bound starts from the uniform draw's 1/√m (not 5.8σ), and still refuses beyond it", () => {
    const trainer = new Trainer(corpus, { ...small, hidden: 4, cell: 'lstm', backend: 'native' });
    const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };
    const good = encodeCheckpoint({ training: trainer.snapshot(), run: record });
    // Step 0: U(±0.5) weights, far beyond 2 × 5.8 × 0.01.
    assert.strictEqual(decodeCheckpoint(good, 'x').training.config.init, 'uniform');
    const { tensors, metadata } = decodeSafetensors(good, 'good');
    const data = Float32Array.from(tensors['layers.0.Wh'].data);
    data[3] = 1.01;
    const crafted = resealed(encodeSafetensors({ ...tensors, 'layers.0.Wh': { ...tensors['layers.0.Wh'], data } }, metadata));
    assert.throws(() => decodeCheckpoint(crafted, 'x'), /tensor "layers\.0\.Wh" holds 1\.00999\d*, beyond ±1\.00, the most 0 updates of adagrad at η 0\.1 can reach from U\(±1\/√4\): the file is damaged$/);
  });

  it('on the command line: --init recorded in config.json and the checkpoint, checked, --sigma beside uniform warned of', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-init-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(5000));
    const common = ['--data', text, '--hidden', '6', '--steps', '4', '--sample-every', '0', '--quiet', '--backend', 'ts'];
    const config = (name: string) => JSON.parse(readFileSync(path.join(dir, name, 'config.json'), 'utf8'));
    assert.strictEqual(run(['train', ...common, '--cell', 'lstm', '--out', path.join(dir, 'lstm')]).status, 0);
    assert.strictEqual(config('lstm').init, 'uniform');
    assert.strictEqual(readCheckpoint(path.join(dir, 'lstm', 'latest.safetensors')).training.config.init, 'uniform');
    assert.strictEqual(run(['train', ...common, '--out', path.join(dir, 'rnn')]).status, 0);
    assert.strictEqual(config('rnn').init, 'normal');
    const both = run(['train', ...common, '--init', 'uniform', '--sigma', '0.1', '--out', path.join(dir, 'both')]);
    assert.strictEqual(both.status, 0, both.stderr);
    assert.strictEqual(both.stderr, 'rnn-native: warning: --sigma has no effect with --init uniform (it draws from U(±1/√m))\n');
    const bad = run(['train', ...common, '--init', 'xavier', '--out', path.join(dir, 'bad')]);
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /^rnn-native: --init must be one of normal, uniform/);
    const changed = run(['train', '--resume', path.join(dir, 'lstm'), '--init', 'normal', '--steps', '8', '--quiet']);
    assert.strictEqual(changed.status, 2);
    assert.match(changed.stderr, /cannot change the model of a resumed run: --init normal \(the run has uniform\)/);
  });

  it('a run of an earlier version (no "init" in config.json or the checkpoint) resumes as the N(0, σ²) run it was, lstm included', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-init-old-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(5000));
    const common = ['--data', text, '--hidden', '6', '--cell', 'lstm', '--sample-every', '0', '--quiet', '--backend', 'ts'];
    const old = path.join(dir, 'old');
    const whole = path.join(dir, 'whole');
    // The run of an earlier version: N(0, 0.01²) (given here as --init normal), then its files without "init".
    assert.strictEqual(run(['train', ...common, '--init', 'normal', '--steps', '4', '--out', old]).status, 0);
    assert.strictEqual(run(['train', ...common, '--init', 'normal', '--steps', '8', '--out', whole]).status, 0);
    const configPath = path.join(old, 'config.json');
    const { init, ...without } = JSON.parse(readFileSync(configPath, 'utf8'));
    assert.strictEqual(init, 'normal');
    writeFileSync(configPath, JSON.stringify(without));
    const latest = path.join(old, 'latest.safetensors');
    const checkpoint = readCheckpoint(latest);
    const { init: _init, ...olderConfig } = checkpoint.training.config;
    writeCheckpoint(latest, { ...checkpoint, training: { ...checkpoint.training, config: olderConfig as typeof checkpoint.training.config } });
    assert.ok(!JSON.parse(decodeSafetensors(readFileSync(latest), latest).metadata.config).init);
    const resumed = run(['train', '--resume', old, '--steps', '8', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(resumed.stderr, '');
    assert.strictEqual(JSON.parse(readFileSync(configPath, 'utf8')).init, undefined, 'config.json keeps what the run wrote');
    assert.deepStrictEqual(readCheckpoint(latest).training.params, readCheckpoint(path.join(whole, 'latest.safetensors')).training.params);
  });

  it('a sweep of lstm runs resumes, today\'s and an earlier version\'s (no "init"): the changed default is no edit of sweep.json', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-init-sweep-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(5000));
    const out = path.join(dir, 'sweep');
    const ran = run(['sweep', '--grid', 'eta=0.05', '--data', text, '--cell', 'lstm', '--hidden', '6', '--steps', '4', '--backend', 'ts', '--out', out]);
    assert.strictEqual(ran.status, 0, ran.stderr);
    // Today's run: its config.json holds uniform, which the plan's defaults give.
    const again = run(['sweep', '--resume', out]);
    assert.strictEqual(again.status, 0, again.stderr);
    const configPath = path.join(out, 'run-000', 'config.json');
    const { init: _init, ...without } = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify(without));
    const resumed = run(['sweep', '--resume', out]);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
  });
});
