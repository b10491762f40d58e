// The library as README shows it: its example runs as written, from inside this checkout, and
// the exported functions refuse what the command line refuses. The async library (loadModel,
// train in a worker) gives what the commands give.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { BackendChoice, Corpus, demoText, gradcheck, loadModel, readCheckpoint, selectBackend, train, Trainer, TrainEvent, TrainResult, UserError, writeCheckpoint, writeReport } from '../lib';
import { beamCheckpoint, sampleCheckpoint } from '../lib/run/sample-checkpoint';
import { scoreCheckpoint } from '../lib/run/score-checkpoint';
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

describe('async library: loadModel and train', function () {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-async-'));
  const data = path.join(dir, 'text.txt');
  const run = path.join(dir, 'run');
  const tiny = { data, hidden: 16, seqLength: 10, seed: 7, logEvery: 50, sampleEvery: 100, sampleLength: 20, checkpointEvery: 0 };
  const isUserError = (message: RegExp) => (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n');
  /** The events without what differs from one run to the next: times, speeds and the run directory. */
  const steady = (events: object[]) =>
    events.map((e) => Object.fromEntries(Object.entries(e).filter(([key]) => !['elapsed', 'seconds', 'updatesPerSecond', 'path', 'out'].includes(key))));
  let events: TrainEvent[] = [];
  let result: TrainResult;
  let longestGap = 0;

  before(async function () {
    writeFileSync(data, generatedText(20000));
    let last = Date.now();
    const tick = () => {
      longestGap = Math.max(longestGap, Date.now() - last);
      last = Date.now();
    };
    const ticking = setInterval(tick, 5);
    try {
      // Big enough to take seconds on the ts backend: a run on the main thread would stop the ticks that long.
      result = await train({ ...tiny, hidden: 96, steps: 1000, out: run, backend: 'ts' }, { onProgress: (e) => events.push(e) });
    } finally {
      // The gap up to the end too: a loop blocked until the promise settled never ticks again.
      tick();
      clearInterval(ticking);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('train() runs in a worker: the event loop keeps ticking; the events are the objects train --json prints', () => {
    assert.deepStrictEqual({ status: result.status, step: result.step, out: result.out }, { status: 'done', step: 1000, out: run });
    const trainedMs = (result.last as { seconds: number }).seconds * 1000;
    assert.ok(longestGap < Math.min(1000, trainedMs / 2), `a 5 ms interval went ${longestGap} ms without a tick (training took ${trainedMs.toFixed(0)} ms)`);
    const cli = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'train', '--json', '--data', data, '--hidden', '96', '--seq-length', '10', '--seed', '7',
      '--log-every', '50', '--sample-every', '100', '--sample-length', '20', '--checkpoint-every', '0', '--steps', '1000', '--backend', 'ts', '--out', path.join(dir, 'cli-run')], { encoding: 'utf8' });
    assert.strictEqual(cli.status, 0, cli.stderr);
    const printed = cli.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepStrictEqual(steady(events), steady(printed));
    assert.deepStrictEqual(result.last, events[events.length - 1]);
    assert.deepStrictEqual(readdirSync(run).sort(), ['best.safetensors', 'config.json', 'latest.safetensors', 'loss.csv', 'samples.txt'], 'the run directory is released (no .lock)');
  });

  it("text() is sampleCheckpoint's text for the same options; generate() gives it in pieces", async () => {
    const model = await loadModel(run, { backend: 'ts' });
    assert.deepStrictEqual({ ...model.info, vocabulary: model.info.vocabulary.length }, {
      cell: 'rnn', layers: 1, hidden: 96, vocabulary: new Set(generatedText(20000)).size, step: 1000, backend: 'ts', checkpoint: path.join(run, 'best.safetensors'), notes: [],
    });
    const options = { prime: 'the ', length: 300, temperature: 0.8, seed: 3, topK: 5, repetitionPenalty: 1.3 };
    const { pieces } = sampleCheckpoint(path.join(run, 'best.safetensors'), { ...options, rules: { topK: 5, repetitionPenalty: 1.3 }, backend: 'ts' });
    const expected = Array.from(pieces).join('');
    assert.strictEqual(await model.text(options), expected);
    const streamed: string[] = [];
    for await (const piece of model.generate({ ...options, chunk: 7 })) streamed.push(piece);
    assert.strictEqual(streamed.join(''), expected);
    assert.ok(streamed.length > 40 && streamed.slice(1).every((piece) => Array.from(piece).length <= 7), 'pieces of 7 characters after the prime');
    const stopAt = expected.indexOf(' ', 'the '.length);
    assert.strictEqual(await model.text({ ...options, stop: ' ' }), expected.slice(0, stopAt + 1), 'stop ends after the first " " of the drawn text');
    assert.strictEqual(await model.text({ length: 50 }), await model.text({ length: 50, seed: 42, temperature: 1 }), "sample's defaults");
  });

  it('generate() lets timers fire between its pieces', async () => {
    const model = await loadModel(run, { backend: 'ts' });
    let fired = 0;
    const timer = setInterval(() => fired++, 1);
    let pieces = 0;
    const started = Date.now();
    try {
      for await (const _piece of model.generate({ length: 30000 })) pieces++;
    } finally {
      clearInterval(timer);
    }
    assert.ok(Date.now() - started > 20, 'a long generate');
    assert.ok(fired >= 5, `a 1 ms interval fired ${fired} times during ${pieces} pieces in ${Date.now() - started} ms`);
  });

  it('score(text) gives the figures of scoreCheckpoint (rnn-native score) for the same text', async () => {
    const text = generatedText(3000).slice(500);
    const file = path.join(dir, 'scored.txt');
    writeFileSync(file, text);
    for (const backend of ['ts', 'native'] as const) {
      const { checkpoint: _c, backend: _b, ...expected } = scoreCheckpoint(path.join(run, 'best.safetensors'), file, backend);
      assert.deepStrictEqual(await (await loadModel(run, { backend })).score(text), expected);
    }
  });

  it("next(prefix): every character, most likely first, summing to 1, the beam search's log-probabilities", async () => {
    const model = await loadModel(run, { backend: 'ts' });
    const vocabulary = model.info.vocabulary.length;
    for (const prefix of ['the', '']) {
      const next = await model.next(prefix);
      assert.strictEqual(next.length, vocabulary);
      assert.ok(Math.abs(next.reduce((sum, { probability }) => sum + probability, 0) - 1) < 1e-12);
      assert.ok(next.every((c, i) => i === 0 || next[i - 1].probability >= c.probability), 'most likely first');
      const { beams } = beamCheckpoint(path.join(run, 'best.safetensors'), { prime: prefix || undefined, length: 1, width: vocabulary, count: vocabulary, backend: 'ts' });
      assert.deepStrictEqual(
        next.map((c) => [c.symbol, c.logProb]),
        beams.map((beam) => [beam.text.slice(prefix.length), beam.logProb])
      );
    }
  });

  it('an AbortSignal (or an error of onProgress) stops the run with a checkpoint, as Ctrl-C does; train --resume goes on from it', async () => {
    const out = path.join(dir, 'stopped');
    const controller = new AbortController();
    const seen: TrainEvent[] = [];
    const stopped = await train({ ...tiny, steps: 1e9, out, sampleEvery: 0 }, { signal: controller.signal, onProgress: (e) => (seen.push(e), e.event === 'log' && controller.abort()) });
    assert.strictEqual(stopped.status, 'stopped');
    assert.deepStrictEqual(stopped.last, { event: 'stopped', step: stopped.step, signal: 'abort', path: path.join(out, 'latest.safetensors') });
    assert.strictEqual(readCheckpoint(path.join(out, 'latest.safetensors')).training.step, stopped.step);
    assert.deepStrictEqual(seen.slice(-2).map((e) => e.event), ['checkpoint', 'stopped']);
    const resumed = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'train', '--resume', out, '--steps', String(stopped.step + 30), '--json'], { encoding: 'utf8' });
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(JSON.parse(resumed.stdout.trim().split('\n').pop()!).steps, stopped.step + 30);
    const thrown = path.join(dir, 'thrown');
    const failing = () => {
      throw new Error('a bug in onProgress');
    };
    await assert.rejects(train({ ...tiny, steps: 1e9, out: thrown }, { onProgress: failing }), /^Error: a bug in onProgress$/);
    assert.ok(readCheckpoint(path.join(thrown, 'latest.safetensors')).training.step > 0, 'the run stopped with a checkpoint');
    const aborted = AbortSignal.abort();
    await assert.rejects(train({ ...tiny, out: path.join(dir, 'never') }, { signal: aborted }), (e: Error) => e.name === 'AbortError');
    assert.ok(!existsSync(path.join(dir, 'never')), 'nothing written');
  });

  it('a second train() into a directory this process trains is refused; a rejecting async onProgress, or a throw of undefined, rejects with a checkpoint', async () => {
    const out = path.join(dir, 'twice');
    const controller = new AbortController();
    const first = train({ ...tiny, steps: 1e9, out }, { signal: controller.signal, onProgress: (e) => e.event === 'log' && controller.abort() });
    await assert.rejects(train({ ...tiny, resume: out }), isUserError(/twice: in use by another train\(\) of this process/));
    assert.strictEqual((await first).status, 'stopped');
    const asyncFailing = path.join(dir, 'async-failing');
    await assert.rejects(train({ ...tiny, steps: 1e9, out: asyncFailing }, { onProgress: async (e) => { if (e.event === 'log') throw new Error('async boom'); } }), /^Error: async boom$/);
    assert.ok(readCheckpoint(path.join(asyncFailing, 'latest.safetensors')).training.step > 0, 'the run stopped with a checkpoint');
    let rejected = false;
    await train({ ...tiny, steps: 1e9, out: path.join(dir, 'undefined') }, { onProgress: () => { throw undefined; } }).catch((error) => (rejected = error === undefined));
    assert.ok(rejected, 'rejects with what was thrown');
  });

  it('next() of a long prefix and score() of a long text let timers fire; score() reuses its backends', async () => {
    const model = await loadModel(run, { backend: 'ts' });
    const text = generatedText(60000);
    for (const call of [() => model.next(text), () => model.score(text)]) {
      let [ticks, last, longest] = [0, Date.now(), 0];
      const ticking = setInterval(() => ((longest = Math.max(longest, Date.now() - last)), (last = Date.now()), ticks++), 1);
      const started = Date.now();
      await call();
      clearInterval(ticking);
      assert.ok(ticks >= 5 && longest < Math.max(250, (Date.now() - started) / 4), `${ticks} ticks, the longest gap ${longest} ms, in ${Date.now() - started} ms`);
    }
    const idle = (model as unknown as { idleScorers: unknown[] }).idleScorers;
    await Promise.all([model.score(text), model.score(text)]);
    await model.score('the');
    assert.strictEqual(idle.length, 2, 'one backend per score running at once, kept');
  });

  it("README's async examples run as written, `rnn-native` being this checkout's dist/", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = /\n## Use it as a library \(async\)\n([\s\S]*?)\n## /.exec(readme);
    assert.ok(section, 'README has a section "Use it as a library (async)"');
    const examples = [...section[1].matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]);
    assert.strictEqual(examples.length, 2);
    const cwd = path.join(dir, 'readme');
    mkdirSync(path.join(cwd, 'node_modules'), { recursive: true });
    symlinkSync(root, path.join(cwd, 'node_modules', 'rnn-native'), 'dir');
    writeFileSync(path.join(cwd, 'input.txt'), demoText().slice(0, 200000));
    const outputs = examples.map((code, i) => {
      const file = path.join(cwd, `example-${i + 1}.mjs`);
      writeFileSync(file, code);
      const ran = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
      assert.strictEqual(ran.status, 0, `example ${i + 1}: ${ran.stderr}`);
      return ran.stdout;
    });
    assert.match(outputs[0], /^done 2000 runs\/small$/m);
    assert.match(outputs[1], /^The [\s\S]*natsPerCharacter[\s\S]*symbol: 'e'/);
  });

  it('bad input: one UserError of one line, and nothing written', async () => {
    const never = path.join(dir, 'never');
    await assert.rejects(train({ ...tiny, hiden: 8, out: never } as object), isUserError(/^train: unknown option "hiden"; did you mean "hidden"\?/));
    await assert.rejects(train({ ...tiny, hidden: -1, out: never }), isUserError(/^hidden must be an integer from 1 to \d+, got "-1"$/));
    await assert.rejects(train({ ...tiny, steps: 10, epochs: 1, out: never }), isUserError(/^use either --steps or --epochs, not both$/));
    await assert.rejects(train({ ...tiny, out: run }), isUserError(/already holds a run/));
    await assert.rejects(train(tiny, { signal: 'stop' as never }), isUserError(/^train: signal must be an AbortSignal$/));
    assert.ok(!existsSync(never), 'nothing written');
    await assert.rejects(loadModel(path.join(dir, 'missing')), isUserError(/missing/));
    await assert.rejects(loadModel(run, { backend: 'gpu' as never }), isUserError(/^backend must be one of auto, native, wasm, ts, got "gpu"$/));
    await assert.rejects(loadModel(run, { backnd: 'ts' } as object), isUserError(/^loadModel: unknown option "backnd"; did you mean "backend"\?/));
    const model = await loadModel(run);
    assert.throws(() => model.generate({ temperature: -1 }), isUserError(/^temperature must be a number ≥ 0 and ≤ 100, got "-1"$/));
    await assert.rejects(model.text({ lenght: 5 } as object), isUserError(/^text: unknown option "lenght"; did you mean "length"\?/));
    await assert.rejects(model.text(null as never), isUserError(/^text: the options must be an object$/));
    const [a, b] = model.info.vocabulary;
    await assert.rejects(model.score(`${a}${b}€`), isUserError(/^score: character 2 "€" \(U\+20AC\) is not one of the model's \d+ characters/));
    await assert.rejects(model.score(model.info.vocabulary[0]), isUserError(/^score: one character: scoring needs at least two/));
    await assert.rejects(model.next('€'), isUserError(/^characters not in the vocabulary: "€"$/));
  });
});
