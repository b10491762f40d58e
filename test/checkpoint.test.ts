import assert from 'assert';
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import path from 'path';
import { Corpus, Trainer, UserError } from '../lib';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/run/checkpoint';
import { decodeSafetensors, encodeSafetensors } from '../lib/run/safetensors';
import { resealed, UNICODE_TEXT } from './helpers';

describe('checkpoints', () => {
  const corpus = Corpus.fromText(UNICODE_TEXT.repeat(10));
  const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: 50.5, elapsedSeconds: 1.25 };

  for (const backend of ['native', 'ts'] as const) {
    it(`round-trips the whole training state (${backend}) and continues exactly`, () => {
      const a = new Trainer(corpus, { backend, hidden: 12, seed: 4 });
      a.train(37);
      a.trainingSample(10, 1); // a run's periodic sample advances the generator, which the checkpoint must keep
      const before = a.snapshot();
      a.sample(10); // the library's samples leave the training state as it is
      assert.deepStrictEqual(a.snapshot(), before);
      const { training, run } = decodeCheckpoint(encodeCheckpoint({ training: a.snapshot(), run: record }), 'mem');
      assert.deepStrictEqual(run, record);
      assert.strictEqual(training.params.constructor, backend === 'native' ? Float32Array : Float64Array);
      assert.deepStrictEqual(training, a.snapshot());
      const b = Trainer.restore(corpus, training, backend);
      assert.deepStrictEqual(Array.from(b.train(20)), Array.from(a.train(20)));
      assert.strictEqual(b.trainingSample(50, 1), a.trainingSample(50, 1));
      assert.strictEqual(b.sample(50, { seed: 9 }), a.sample(50, { seed: 9 }));
      assert.deepStrictEqual(b.snapshot(), a.snapshot());
    });
  }

  it('is read by an independent reader as the documented tensors', function () {
    // The safetensors test checks the format itself against numpy; here, the names and shapes.
    const trainer = new Trainer(corpus, { backend: 'native', hidden: 5 });
    const headerOf = (bytes: Uint8Array) => {
      const headerLength = Number(Buffer.from(bytes).readBigUInt64LE(0));
      return JSON.parse(Buffer.from(bytes).subarray(8, 8 + headerLength).toString('utf8'));
    };
    const shapesOf = (header: object) => Object.fromEntries(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, (v as { shape: number[] }).shape]));
    const K = corpus.vocabSize;
    const header = headerOf(encodeCheckpoint({ training: trainer.snapshot(), run: record }));
    assert.deepStrictEqual(shapesOf(header), {
      'layers.0.Wx': [5, K], 'layers.0.Wh': [5, 5], 'layers.0.b': [5], V: [K, 5], c: [K],
      'adagrad.layers.0.Wx': [5, K], 'adagrad.layers.0.Wh': [5, 5], 'adagrad.layers.0.b': [5], 'adagrad.V': [K, 5], 'adagrad.c': [K],
      'state.h': [1, 1, 5],
    });
    // A run that started from a version-1 file keeps its names (in their order).
    const version1 = headerOf(encodeCheckpoint({ training: { ...trainer.snapshot(), checkpointVersion: 1 }, run: record }));
    assert.strictEqual(version1.__metadata__.format_version, '1');
    assert.deepStrictEqual(Object.entries(shapesOf(version1)), [
      ['U', [5, K]], ['W', [5, 5]], ['V', [K, 5]], ['b', [5]], ['c', [K]],
      ['adagrad.U', [5, K]], ['adagrad.W', [5, 5]], ['adagrad.V', [K, 5]], ['adagrad.b', [5]], ['adagrad.c', [K]],
      ['h', [5]],
    ]);
    const meta = header.__metadata__;
    assert.strictEqual(meta.format, 'rnn-native-checkpoint');
    assert.strictEqual(meta.corpus_sha256, corpus.sha256);
    assert.deepStrictEqual(JSON.parse(meta.vocabulary), corpus.vocabulary);
    for (const key of ['step', 'epoch', 'position', 'smooth_loss', 'best_smooth_loss', 'rng_state', 'config', 'format_version']) {
      assert.ok(key in meta, key);
    }
  });

  it('rejects foreign, inconsistent and damaged files with one clear line', () => {
    const trainer = new Trainer(corpus, { backend: 'ts', hidden: 4 });
    const good = encodeCheckpoint({ training: trainer.snapshot(), run: record });
    const rejects = (bytes: Uint8Array, words: string) =>
      assert.throws(
        () => decodeCheckpoint(bytes, 'x.safetensors'),
        (e: Error) => e instanceof UserError && e.message.includes(words) && !e.message.includes('\n'),
        words
      );
    rejects(encodeSafetensors({ weight: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }), 'not an rnn-native checkpoint');
    rejects(good.subarray(0, good.length - 1), 'x.safetensors');
    rejects(good.subarray(0, 5), 'x.safetensors');
    const withMetadata = (change: (meta: Record<string, string>) => void) => {
      const snapshot = trainer.snapshot();
      const headerLength = Number(good.readBigUInt64LE(0));
      const meta = JSON.parse(good.subarray(8, 8 + headerLength).toString('utf8')).__metadata__;
      change(meta);
      const decoded = decodeCheckpoint(good, 'ok');
      assert.ok(decoded.training.step === snapshot.step);
      const tensors: Record<string, { dtype: 'F64'; shape: number[]; data: Float64Array }> = {};
      const headerJson = JSON.parse(good.subarray(8, 8 + headerLength).toString('utf8'));
      const data = good.subarray(8 + headerLength);
      for (const [name, entry] of Object.entries(headerJson)) {
        if (name === '__metadata__') continue;
        const { shape, data_offsets: [begin, end] } = entry as { shape: number[]; data_offsets: [number, number] };
        tensors[name] = { dtype: 'F64', shape, data: new Float64Array(Uint8Array.from(data.subarray(begin, end)).buffer) };
      }
      return { tensors, meta };
    };
    const rebuilt = (change: (meta: Record<string, string>, tensors: Record<string, { dtype: 'F64'; shape: number[]; data: Float64Array }>) => void) => {
      const { tensors, meta } = withMetadata(() => {});
      change(meta, tensors);
      return resealed(encodeSafetensors(tensors, meta));
    };
    assert.doesNotThrow(() => decodeCheckpoint(rebuilt(() => {}), 'rebuilt'));
    rejects(rebuilt((m) => (m.format_version = '99')), 'format version 99');
    rejects(rebuilt((m) => (m.vocabulary = '["b","a"]')), 'vocabulary');
    rejects(rebuilt((m) => delete m.step), 'metadata "step" is missing');
    rejects(rebuilt((m) => (m.step = '-3')), 'metadata "step"');
    rejects(rebuilt((m) => (m.rng_state = '[0,0,0,0]')), 'rng_state');
    rejects(rebuilt((m) => (m.config = '{"hidden":4}')), 'config.seqLength');
    rejects(rebuilt((m) => (m.corpus_sha256 = 'abc')), 'corpus_sha256');
    rejects(rebuilt((_, t) => delete t['state.h']), 'tensor "state.h" is missing');
    rejects(rebuilt((_, t) => (t['layers.0.Wh'].shape = [2, 8])), 'tensor "layers.0.Wh" has shape [2,8], expected [4,4]');
    rejects(rebuilt((_, t) => (t.extra = { dtype: 'F64', shape: [1], data: new Float64Array(1) })), 'unexpected tensors: extra');
    rejects(rebuilt((_, t) => (t['layers.0.Wh'].data[3] = NaN)), 'tensor "layers.0.Wh" holds NaN or infinite values');
    rejects(rebuilt((_, t) => (t['adagrad.V'].data[0] = -1)), 'tensor "adagrad.V" holds negative values');
    rejects(rebuilt((m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), hidden: 1e8 }))), 'config.hidden must be an integer from 1 to 8192');
    rejects(rebuilt((m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), hidden: 20 }))), 'tensor "layers.0.Wx" has shape');
    rejects(rebuilt((m) => (m.position = '13')), 'metadata "position" 13 is not a window start');
    rejects(rebuilt((m) => (m.epoch = '999')), 'metadata "epoch" 999 is more than step + 1');
    rejects(rebuilt((m) => (m.step = String(1e12 + 1))), 'metadata "step" must be an integer ≥ 0 and ≤ 1000000000000');
  });

  it('carries a digest of every byte: the file as written reads, any edit is refused, an older writer\'s file reads unverified', () => {
    const trainer = new Trainer(corpus, { backend: 'native', hidden: 4, seqLength: 5 });
    trainer.train(9);
    const good = encodeCheckpoint({ training: trainer.snapshot(), run: record });
    assert.strictEqual(decodeCheckpoint(good, 'good').integrity, 'sha256');
    assert.deepStrictEqual(decodeCheckpoint(resealed(good), 'resealed').training, decodeCheckpoint(good, 'good').training, 'the tests\' resealing matches the writer');
    const refused = (bytes: Buffer, words: RegExp) => assert.throws(() => decodeCheckpoint(bytes, 'x.safetensors'), (e: Error) => e instanceof UserError && words.test(e.message));
    // The step of a real file edited as text, 9 → 8 (the digest not redone).
    const header = good.subarray(8, 8 + Number(good.readBigUInt64LE(0))).toString('latin1');
    const at = 8 + header.indexOf('"step":"9"') + '"step":"'.length;
    const edited = Buffer.from(good);
    edited.write('8', at, 'latin1');
    refused(edited, /^x\.safetensors: not an rnn-native checkpoint: its contents do not match its digest: the file is damaged/);
    // Resealed, the same edit meets the walk's cross-check: 8 updates end elsewhere than where 9 do.
    refused(resealed(edited), /metadata "step" 8, "epoch" 1 and "position" 45 disagree: 8 updates of a \d+-character slice end at epoch 1, position 40$/);
    // Without the digest key the metadata must be exactly an older writer's.
    const { tensors, metadata } = decodeSafetensors(good, 'good');
    const { digest_sha256: _digest, ...stripped } = metadata;
    // rnn-native 0.5.0 always writes the digest: its file without one had it removed.
    refused(encodeSafetensors(tensors, stripped), /no "digest_sha256", which rnn-native 0\.5\.\d+ always writes/);
    const older = { ...stripped, created_by: 'rnn-native 0.4.0' };
    assert.strictEqual(decodeCheckpoint(encodeSafetensors(tensors, older), 'older').integrity, 'none');
    refused(encodeSafetensors(tensors, { ...older, comment: 'x' }), /its metadata has no "digest_sha256" but is not that of an older rnn-native either: the file is damaged$/);
    refused(encodeSafetensors(tensors, { ...older, digest_sha257: metadata.digest_sha256 }), /no "digest_sha256"/);
  });

  it('refuses a parameter no correct run reaches (a weight of 3e38), naming the tensor and the bound', () => {
    const trainer = new Trainer(corpus, { backend: 'native', hidden: 4, seqLength: 5 });
    trainer.train(9);
    const { tensors, metadata } = decodeSafetensors(encodeCheckpoint({ training: trainer.snapshot(), run: record }), 'good');
    const data = Float32Array.from(tensors['layers.0.Wh'].data);
    data[5] = 3e38;
    const crafted = resealed(encodeSafetensors({ ...tensors, 'layers.0.Wh': { ...tensors['layers.0.Wh'], data } }, metadata));
    assert.throws(
      () => decodeCheckpoint(crafted, 'x.safetensors'),
      /^UserError: x\.safetensors: not an rnn-native checkpoint: tensor "layers\.0\.Wh" holds 3\.0000000\d*e\+38, beyond ±1\.92, the most 9 updates of adagrad at η 0\.1 can reach from σ 0\.01: the file is damaged$/
    );
  });

  it('reads the committed files of earlier releases (no digest) unverified, and `sample` says so in one note', () => {
    for (const name of ['v1-native-step50', 'v2-lstm-adam-ts-step25']) {
      const file = path.join(__dirname, 'golden', `${name}.safetensors`);
      assert.strictEqual(decodeCheckpoint(readFileSync(file), file).integrity, 'none', name);
      const cli = path.join(__dirname, '..', 'dist', 'cli.js');
      const result = spawnSync(process.execPath, [cli, 'sample', '--model', file, '--length', '5'], { encoding: 'utf8' });
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(result.stderr, `rnn-native: note: ${file} carries no digest (written before rnn-native 0.5.0): damage to it cannot be detected; the next checkpoint written will carry one\n`);
    }
  });
});
