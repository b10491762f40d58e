// The library as README shows it: its example runs as written, from inside this checkout, and
// the exported functions refuse what the command line refuses.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { BackendChoice, Corpus, gradcheck, readCheckpoint, selectBackend, Trainer, UserError, writeCheckpoint, writeReport } from '../lib';
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
    refuses(() => selectBackend('gpu' as BackendChoice), /^backend must be one of auto, native, wasm, ts, got "gpu"$/);
    const trainer = new Trainer(corpus, { hidden: 8 });
    refuses(() => trainer.sample(10, { temprature: 1 } as object), /sample: unknown option "temprature"; did you mean "temperature"\?/);
    refuses(() => trainer.sample(10, { temperature: -1 }), /^temperature must be a number ≥ 0 and ≤ 100, got "-1"$/);
  });

  it('refuses values of any type with a UserError, never a TypeError', () => {
    refuses(() => new Trainer(corpus, { seed: 10n as unknown as number }), /^seed must be an integer from .*, got 10n$/);
    refuses(() => new Trainer(corpus, { hidden: Symbol('x') as unknown as number }), /^hidden must be an integer from 1 to \d+, got Symbol\(x\)$/);
    refuses(() => new Trainer(null as unknown as Corpus), /^Trainer: the corpus must be a Corpus/);
    refuses(() => Trainer.restore(corpus, {} as never, 'ts'), /^Trainer.restore: the state must be one that snapshot\(\)/);
    refuses(() => Corpus.fromText(5 as unknown as string), /^Corpus.fromText: the text must be a string, got number$/);
    refuses(() => corpus.decode([corpus.vocabSize]), /^symbol \d+ \(at 0\) is not in the vocabulary of \d+ symbols$/);
    refuses(() => gradcheck(corpus, { hidden: 3 }, 5 as never), /^gradcheck: analytic must be a gradient function/);
    const trainer = new Trainer(corpus, { hidden: 8 });
    refuses(() => trainer.sample(10, null as never), /^sample: the options must be an object$/);
    refuses(() => trainer.sample(10, [] as never), /^sample: the options must be an object$/);
    refuses(() => trainer.sample(10, { prime: 5 as unknown as string }), /^prime must be a string, got 5$/);
    assert.strictEqual(Array.from(trainer.sample(10, { prime: '' })).length, 10, 'an empty prime primes nothing');
    refuses(() => trainer.sample(1e12), /^length must be at most 100000000 for a text held in memory/);
    const saved = trainer.snapshot();
    refuses(() => Trainer.restore(corpus, { ...saved, step: -5 }), /^Trainer.restore: step must be an integer ≥ 0, got -5$/);
    refuses(() => Trainer.restore(corpus, { ...saved, epoch: 0 }), /^Trainer.restore: epoch must be an integer ≥ 1, got 0$/);
    refuses(() => Trainer.restore(corpus, { ...saved, smoothLoss: 'x' as never }), /^Trainer.restore: smoothLoss must be a finite number/);
    refuses(() => Trainer.restore(corpus, { ...saved, rngState: new Uint32Array(4) }), /^Trainer.restore: rngState must be/);
    const nan = saved.params.slice();
    nan[0] = NaN;
    refuses(() => Trainer.restore(corpus, { ...saved, params: nan }), /^Trainer.restore: params holds NaN/);
    const negative = saved.second.slice();
    negative[0] = -1;
    refuses(() => Trainer.restore(corpus, { ...saved, second: negative, accum: negative }), /^Trainer.restore: second holds negative values$/);
    const { second: _second, ...legacy } = saved;
    refuses(() => Trainer.restore(corpus, { ...legacy, accum: negative }), /^Trainer.restore: accum holds negative values$/);
    refuses(() => Trainer.restore(corpus, { ...saved, accum: negative }), /^Trainer.restore: second and accum \(its deprecated name\) differ: give second only$/);
    refuses(() => Trainer.restore(corpus, { ...saved, second: [1, 2] as never }), /^Trainer.restore: second must be a Float32Array or Float64Array of \d+ values$/);
    assert.strictEqual(Trainer.restore(corpus, saved).step, saved.step, 'a snapshot restores');
  });

  it('sample() leaves the training state alone; successive samples differ; a seed repeats them; includePrime returns what the CLI prints', () => {
    const trainer = new Trainer(corpus, { hidden: 8, seed: 3 });
    trainer.train(20);
    const before = trainer.snapshot();
    const [a, b] = [trainer.sample(40), trainer.sample(40)];
    assert.notStrictEqual(a, b, 'the sampling generator moves on');
    assert.deepStrictEqual(trainer.snapshot(), before, 'the training state (its generator too) is unchanged');
    assert.strictEqual(trainer.sample(40, { seed: 5 }), trainer.sample(40, { seed: 5 }));
    assert.notStrictEqual(trainer.sample(40, { seed: 5 }), trainer.sample(40, { seed: 6 }));
    const primed = trainer.sample(10, { prime: 'the ', includePrime: true, seed: 1 });
    assert.strictEqual(primed, 'the ' + trainer.sample(10, { prime: 'the ', seed: 1 }));
    refuses(() => trainer.sample(10, { includePrime: 'yes' as never }), /^includePrime must be true or false, got "yes"$/);
    refuses(() => trainer.sample(10, { seed: 0.5 }), /^seed must be an integer/);
    const trained = new Trainer(corpus, { hidden: 8, seed: 3 });
    trained.train(20);
    trained.train(5);
    trainer.train(5);
    assert.deepStrictEqual(trainer.snapshot(), trained.snapshot(), 'sampling between updates changes no later update');
  });

  it('writeCheckpoint refuses in one line what readCheckpoint would refuse, and writes nothing then', () => {
    const trainer = new Trainer(corpus, { hidden: 8, seed: 3 });
    trainer.train(3);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-write-'));
    const file = path.join(dir, 'c.safetensors');
    const run = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: 1, elapsedSeconds: 0 };
    try {
      refuses(() => writeCheckpoint(file, trainer.snapshot() as never), /^writeCheckpoint: give \{ training, run \}: training as trainer.snapshot\(\) returns it/);
      refuses(() => writeCheckpoint(file, { training: trainer.snapshot(), run: { ...run, corpusSha256: 'x' } }), /^writeCheckpoint: the file would not be readable: metadata "corpus_sha256" must be 64 hex digits$/);
      refuses(() => writeCheckpoint(file, { training: { ...trainer.snapshot(), step: 2 }, run }), /^writeCheckpoint: the file would not be readable: metadata "step" 2, "epoch" 1 and "position" 75 disagree/);
      refuses(() => writeCheckpoint(file, { training: trainer.snapshot(), run: {} as never }), /^writeCheckpoint: /);
      assert.ok(!existsSync(file), 'nothing written');
      writeCheckpoint(file, { training: trainer.snapshot(), run });
      assert.strictEqual(readCheckpoint(file).training.step, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trainer.score(text): nats and bits per character from a zero state, as the validation loss of that text', () => {
    const validating = new Trainer(corpus, { hidden: 8, seed: 3, valFraction: 0.2 });
    validating.train(30);
    const held = Array.from(generatedText(3000)).slice(-Math.floor(0.2 * Array.from(generatedText(3000)).length)).join('');
    const scored = validating.score(held);
    assert.strictEqual(scored.natsPerCharacter, validating.validationLoss());
    assert.strictEqual(scored.bitsPerCharacter, scored.natsPerCharacter / Math.LN2);
    assert.strictEqual(scored.characters, Array.from(held).length);
    refuses(() => validating.score(held.slice(0, 1)), /^score: the text needs at least two characters/);
    refuses(() => validating.score(5 as never), /^score: the text must be a string, got number$/);
    refuses(() => validating.score('ab€'), /€/);
  });

  it('the optimizer state is `second` (accum, its old name, is the same array and still read)', () => {
    const trainer = new Trainer(corpus, { hidden: 8, seed: 3 });
    trainer.train(5);
    const saved = trainer.snapshot();
    assert.ok(saved.second.some((v) => v > 0), 'AdaGrad has accumulated');
    assert.strictEqual(saved.accum, saved.second, 'one array under both names');
    const { second: _second, ...legacy } = saved;
    const [fromLegacy, fromSnapshot] = [Trainer.restore(corpus, legacy), Trainer.restore(corpus, saved)];
    fromLegacy.train(3);
    fromSnapshot.train(3);
    assert.deepStrictEqual(fromLegacy.snapshot().params, fromSnapshot.snapshot().params);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-second-'));
    try {
      const run = { corpusSha256: '0'.repeat(64), corpusCharacters: corpus.length, bestSmoothLoss: saved.smoothLoss!, elapsedSeconds: 0 };
      writeCheckpoint(path.join(dir, 'legacy.safetensors'), { training: legacy, run });
      writeCheckpoint(path.join(dir, 'snapshot.safetensors'), { training: saved, run });
      const [a, b] = ['legacy', 'snapshot'].map((name) => readFileSync(path.join(dir, `${name}.safetensors`)));
      assert.ok(a.equals(b), 'a state naming only accum writes the same file');
      const read = readCheckpoint(path.join(dir, 'legacy.safetensors')).training;
      assert.deepStrictEqual(read.second, saved.second);
      assert.strictEqual(read.accum, read.second);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
