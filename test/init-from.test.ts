// train --init-from: a new run on another text from a trained model's weights (char-rnn's
// init_from). The model and its vocabulary come from the checkpoint, training flags apply, a resume
// is exact, and the reader still refuses a damaged checkpoint of such a run.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, readCheckpoint, train, Trainer, UserError, Vocabulary } from '../lib';
import { loadNative } from '../lib/engine/native';
import { decodeCheckpoint } from '../lib/run/checkpoint';
import { decodeSafetensors, encodeSafetensors } from '../lib/run/safetensors';
import { generatedText, resealed } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const events = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const expectStatus = (result: { status: number | null; stderr: string }, status: number) => assert.strictEqual(result.status, status, `exit ${result.status}: ${result.stderr}`);

describe('train --init-from', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-init-from-'));
  const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
  const source = generatedText(20_000);
  const sourceText = file('a.txt', source);
  // Another text in part of the model's vocabulary: no "q" and no "u" (only "queen" has them).
  const newText = file('b.txt', generatedText(30_000).slice(5000).replace(/queen /g, ''));
  let count = 0;
  const fresh = () => path.join(dir, `run-${++count}`);
  const src = path.join(dir, 'source');
  const model = ['--cell', 'lstm', '--layers', '2', '--hidden', '16', '--seq-length', '20'];

  before(() => {
    expectStatus(run(['train', '--data', sourceText, ...model, '--steps', '200', '--backend', 'ts', '--sample-every', '0', '--quiet', '--out', src]), 0);
  });

  it("starts from the model's weights: its first loss on the model's own text is the model's loss there", () => {
    const out = fresh();
    const result = run(['train', '--init-from', src, '--data', sourceText, '--seq-length', '20', '--steps', '1', '--log-every', '1', '--backend', 'ts', '--json', '--out', out]);
    expectStatus(result, 0);
    const first = events(result.stdout).find((e) => e.event === 'log');
    const checkpoint = readCheckpoint(path.join(src, 'best.safetensors'));
    const trained = Trainer.restore(Corpus.fromText(source), checkpoint.training, 'ts');
    const expected = trained.score(source.slice(0, 21)).natsPerCharacter * 20;
    assert.ok(Math.abs(first.loss - expected) < 1e-9 * expected, `first loss ${first.loss}, the model's ${expected}`);
    // A run from σ-initialised weights starts near ln K per character, far above.
    assert.ok(expected < 0.5 * 20 * Math.log(checkpoint.training.vocabulary.length), `the model's loss ${expected} is a trained model's`);
    const fresh16 = run(['train', '--data', sourceText, ...model, '--steps', '1', '--log-every', '1', '--backend', 'ts', '--json', '--out', fresh()]);
    assert.ok(events(fresh16.stdout).find((e) => e.event === 'log').loss > 2 * first.loss);
  });

  it("keeps the model and its vocabulary, applies the training flags, and records where the weights came from", () => {
    const out = fresh();
    const args = ['train', '--init-from', src, '--data', newText, '--optimizer', 'adam', '--eta', '0.003', '--batch', '2', '--seq-length', '10', '--hidden', '16'];
    expectStatus(run([...args, '--steps', '5', '--sample-every', '0', '--backend', 'ts', '--quiet', '--out', out]), 0);
    const best = path.join(src, 'best.safetensors');
    const source = readCheckpoint(best);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepStrictEqual(config.initFrom, { path: best, sha256: createHash('sha256').update(readFileSync(best)).digest('hex'), step: 200 });
    assert.deepStrictEqual([config.cell, config.layers, config.hidden, config.optimizer, config.eta, config.batch, config.seqLength], ['lstm', 2, 16, 'adam', 0.003, 2, 10]);
    assert.strictEqual(config.corpus.vocabSize, source.training.vocabulary.length);
    const latest = readCheckpoint(path.join(out, 'latest.safetensors'));
    assert.deepStrictEqual(latest.training.vocabulary, source.training.vocabulary);
    assert.ok(!readFileSync(newText, 'utf8').includes('q'), 'the new text uses part of the vocabulary');
    assert.strictEqual(latest.training.step, 5);
    assert.strictEqual(latest.training.initialMaxWeight, Math.max(...Array.from(source.training.params, Math.abs)));
    assert.strictEqual(readCheckpoint(path.join(src, 'latest.safetensors')).training.initialMaxWeight, undefined, 'a run from σ-initialised weights records none');
    const plain = run(['train', '--init-from', path.join(src, 'latest.safetensors'), '--data', newText, '--steps', '2', '--sample-every', '0', '--backend', 'ts', '--out', fresh()]);
    expectStatus(plain, 0);
    assert.match(plain.stdout, /^training into \S+ from \S+latest\.safetensors \(step 200\): 25000 characters, K=16, lstm 2×16,/);
    // sample reads the run as any other.
    const sampled = run(['sample', '--model', out, '--length', '20', '--seed', '1']);
    expectStatus(sampled, 0);
  });

  it('refuses characters the model does not know, listing them, and writes nothing', () => {
    const out = fresh();
    const result = run(['train', '--init-from', src, '--data', file('c.txt', source.slice(0, 3000) + 'Ωé€'), '--out', out]);
    expectStatus(result, 2);
    assert.match(result.stderr, /^rnn-native: .*c\.txt has 3 characters not in the vocabulary of the model of .*best\.safetensors \(16 characters, which it keeps\): "é", "Ω", "€"\n$/);
    assert.ok(!existsSync(out));
  });

  it('refuses model flags that differ from the weights, --resume and --preset, in one line, writing nothing', () => {
    const out = fresh();
    const refused = (args: string[], message: RegExp) => {
      const result = run(['train', '--init-from', src, '--data', newText, ...args]);
      expectStatus(result, 2);
      assert.match(result.stderr, message);
      assert.strictEqual(result.stderr.split('\n').length, 2, result.stderr);
    };
    refused(['--hidden', '32', '--cell', 'gru', '--layers', '2', '--out', out], /^rnn-native: --init-from takes the model from .*best\.safetensors: --hidden 32 \(the model has 16\), --cell gru \(the model has lstm\); leave them out\n$/);
    refused(['--sigma', '0.1', '--out', out], /--sigma 0\.1 \(the model has 0\.01\)/);
    refused(['--resume', src], /^rnn-native: --init-from starts a new run; --resume continues one: give one of them\n$/);
    refused(['--preset', 'char-rnn', '--out', out], /^rnn-native: --init-from takes the model from its checkpoint; leave out --preset\n$/);
    assert.ok(!existsSync(out));
  });

  const backends = loadNative().addon ? ['ts', 'native'] : ['ts'];
  for (const backend of backends) {
    it(`a resume of a fine-tuned run is exact (${backend}): 2N updates equal N resumed to 2N, byte for byte; another text is refused`, () => {
      // RMSprop at a small η moves weights little per update: the trained weights are far beyond
      // what N updates could reach from σ-initialised ones.
      const args = ['train', '--init-from', src, '--data', newText, '--backend', backend, '--optimizer', 'rmsprop', '--dropout', '0.2', '--batch', '2'];
      const logs = ['--log-every', '5', '--sample-every', '10', '--sample-length', '30', '--checkpoint-every', '15', '--json'];
      const [whole, halves] = [fresh(), fresh()];
      const a = run([...args, ...logs, '--steps', '40', '--out', whole]);
      expectStatus(a, 0);
      expectStatus(run([...args, ...logs, '--steps', '20', '--out', halves]), 0);
      const b = run(['train', '--resume', halves, '--steps', '40', '--json']);
      expectStatus(b, 0);
      const losses = (stdout: string) => events(stdout).filter((e) => e.event === 'log' && e.step > 20).map(({ step, loss, smoothLoss }) => ({ step, loss, smoothLoss }));
      assert.deepStrictEqual(losses(b.stdout), losses(a.stdout));
      assert.strictEqual(losses(a.stdout).length, 4);
      // Every tensor and every metadata value but the training time and the digest over it.
      const saved = (run: string) => {
        const { tensors, metadata } = decodeSafetensors(readFileSync(path.join(run, 'latest.safetensors')), run);
        const { elapsed_seconds: _e, digest_sha256: _d, ...rest } = metadata;
        return { metadata: rest, tensors: Object.entries(tensors).map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')]) };
      };
      assert.deepStrictEqual(saved(halves), saved(whole));
      assert.ok(saved(whole).metadata.initial_max_weight !== undefined);
      const rows = (out: string) => readFileSync(path.join(out, 'loss.csv'), 'utf8').split('\n').map((r) => r.split(',').slice(0, 4).join(','));
      assert.deepStrictEqual(rows(halves), rows(whole));
      assert.strictEqual(readFileSync(path.join(halves, 'samples.txt'), 'utf8'), readFileSync(path.join(whole, 'samples.txt'), 'utf8'));
      const other = run(['train', '--resume', halves, '--steps', '50', '--data', sourceText]);
      expectStatus(other, 2);
      assert.match(other.stderr, /a\.txt is not the text this run was trained on/);
    });
  }

  it('the reader bounds a fine-tuned run from its starting weights: a damaged file is still refused', () => {
    const out = fresh();
    expectStatus(run(['train', '--init-from', src, '--data', newText, '--optimizer', 'rmsprop', '--steps', '3', '--backend', 'ts', '--quiet', '--out', out]), 0);
    const bytes = readFileSync(path.join(out, 'latest.safetensors'));
    const { training } = decodeCheckpoint(bytes, 'good');
    const initial = training.initialMaxWeight!;
    // rmsprop: at most η / √(1 − ρ) a update.
    const reach = 2 * (initial + 3 * 0.002 / Math.sqrt(1 - 0.95));
    const { tensors, metadata } = decodeSafetensors(bytes, 'good');
    const refused = (edited: Buffer, message: RegExp) => assert.throws(() => decodeCheckpoint(edited, 'x.safetensors'), (e: Error) => e instanceof UserError && message.test(e.message), String(message));
    const withWeight = (value: number) => {
      const data = Float64Array.from(tensors['layers.1.Wh'].data);
      data[3] = value;
      return resealed(encodeSafetensors({ ...tensors, 'layers.1.Wh': { ...tensors['layers.1.Wh'], data } }, metadata));
    };
    refused(withWeight(3e38), /tensor "layers\.1\.Wh" holds 3e\+38, beyond ±\d\.\d\d, the most 3 updates of rmsprop at η 0\.002 can reach from weights of largest \|value\| \d\.\d+: the file is damaged$/);
    refused(withWeight(reach * 1.001), /tensor "layers\.1\.Wh" holds .* the file is damaged$/);
    assert.strictEqual(decodeCheckpoint(withWeight(reach * 0.999), 'x').training.step, 3);
    // Without its starting bound the trained weights are beyond what 3 updates reach from the draws.
    const { initial_max_weight: _i, ...without } = metadata;
    refused(resealed(encodeSafetensors(tensors, without)), /the most 3 updates of rmsprop at η 0\.002 can reach from U\(±1\/√\d+\): the file is damaged$/);
    for (const value of ['-1', 'null', '"1"', 'x']) refused(resealed(encodeSafetensors(tensors, { ...metadata, initial_max_weight: value })), /metadata "initial_max_weight" (must be|is not JSON)/);
    // A copy that is not resealed is refused by its digest.
    refused(encodeSafetensors(tensors, { ...metadata, initial_max_weight: '1e30' }), /do not match its digest/);
  });

  it('Corpus.inVocabulary indexes a text in a larger vocabulary, keeping its SHA-256, and lists what it lacks', () => {
    const corpus = Corpus.fromText('abba', 'small');
    const vocab = new Vocabulary(['\n', 'a', 'b', 'c']);
    const indexed = corpus.inVocabulary(vocab);
    assert.deepStrictEqual(Array.from(indexed.indices), [1, 2, 2, 1]);
    assert.deepStrictEqual([indexed.vocabulary, indexed.sha256, indexed.source], [vocab.symbols, corpus.sha256, 'small']);
    assert.strictEqual(corpus.inVocabulary(new Vocabulary(['a', 'b'])), corpus);
    assert.throws(() => Corpus.fromText('abcd', 'x').inVocabulary(new Vocabulary(['a', 'c'])), /^UserError: x has 2 characters not in the vocabulary of the model \(2 characters, which it keeps\): "b", "d"$/);
  });

  it("the library's train() takes initFrom, and refuses it beside resume", async () => {
    const out = fresh();
    const result = await train({ initFrom: src, data: newText, steps: 3, sampleEvery: 0, backend: 'ts', out });
    assert.strictEqual(result.status, 'done');
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.strictEqual(config.initFrom.path, path.join(src, 'best.safetensors'));
    assert.strictEqual(config.hidden, 16);
    await assert.rejects(train({ initFrom: src, resume: out }), (e: Error) => e instanceof UserError && /--init-from starts a new run; --resume continues one/.test(e.message));
    await assert.rejects(train({ initFrom: 5 as unknown as string }), UserError);
  });
});
