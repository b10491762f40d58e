// The model's options beyond the DD2424 configuration through the public surfaces: the Trainer, checkpoints version 2,
// validation, presets, and the train/sample commands end to end.
import assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { availableParallelism, tmpdir } from 'os';
import path from 'path';
import { Corpus, PRESETS, readCheckpoint, Trainer, writeCheckpoint } from '../lib';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/run/checkpoint';
import { loadNative } from '../lib/engine/native';
import { decodeSafetensors } from '../lib/run/safetensors';
import { TrainerOptions } from '../lib/run/trainer';
import { generatedText, resealed } from './helpers';

const corpus = Corpus.fromText(generatedText(6000));
const small: TrainerOptions = { cell: 'lstm', layers: 2, hidden: 12, batch: 3, seqLength: 10, optimizer: 'adam', dropout: 0.2, valFraction: 0.1 };
const backends = loadNative().addon ? (['ts', 'native', 'wasm'] as const) : (['ts', 'wasm'] as const);
const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };

describe('the general model through the Trainer', () => {
  it('defaults are the DD2424 configuration, saved as a version-2 checkpoint; a run from a version-1 file keeps writing version 1', () => {
    const trainer = new Trainer(corpus, { backend: 'ts', hidden: 8 });
    assert.deepStrictEqual([trainer.config.cell, trainer.config.layers, trainer.config.batch, trainer.config.optimizer], ['rnn', 1, 1, 'adagrad']);
    trainer.train(3);
    const written = encodeCheckpoint({ training: trainer.snapshot(), run: record });
    const { metadata, tensors } = decodeSafetensors(written, 'x');
    assert.strictEqual(metadata.format_version, '2');
    assert.deepStrictEqual(Object.keys(tensors).sort(), ['V', 'adagrad.V', 'adagrad.c', 'adagrad.layers.0.Wh', 'adagrad.layers.0.Wx', 'adagrad.layers.0.b', 'c', 'layers.0.Wh', 'layers.0.Wx', 'layers.0.b', 'state.h']);
    const version1 = encodeCheckpoint({ training: { ...trainer.snapshot(), checkpointVersion: 1 }, run: record });
    const resumed = Trainer.restore(corpus, decodeCheckpoint(version1, 'v1').training, 'ts');
    resumed.train(2);
    const again = decodeSafetensors(encodeCheckpoint({ training: resumed.snapshot(), run: record }), 'y');
    assert.strictEqual(again.metadata.format_version, '1');
    assert.deepStrictEqual(Object.keys(again.tensors).sort(), ['U', 'V', 'W', 'adagrad.U', 'adagrad.V', 'adagrad.W', 'adagrad.b', 'adagrad.c', 'b', 'c', 'h']);
    // The same numbers under either name table.
    assert.deepStrictEqual(decodeCheckpoint(version1, 'v1').training.params, decodeCheckpoint(written, 'v2').training.params);
  });

  for (const backend of backends) {
    it(`${backend}: N + N updates through a version-2 checkpoint equal 2N, byte for byte, for every cell × optimizer (2 layers, 3 streams, dropout, lr decay)`, () => {
      const short = Corpus.fromText(generatedText(600));
      const shortRecord = { ...record, corpusSha256: short.sha256, corpusCharacters: short.length };
      for (const cell of ['rnn', 'lstm', 'gru'] as const) {
        for (const optimizer of ['adagrad', 'rmsprop', 'adam'] as const) {
          // A short text: epochs of 18 updates, so the run crosses two, and η decays after the first.
          const options = { ...small, cell, optimizer, lrDecay: 0.9, lrDecayAfter: 1, backend };
          const what = `${cell} ${optimizer}`;
          const whole = new Trainer(short, options);
          const wholeLosses = whole.train(40);
          const half = new Trainer(short, options);
          const firstLosses = half.train(20);
          const bytes = encodeCheckpoint({ training: half.snapshot(), run: shortRecord });
          const resumed = Trainer.restore(short, decodeCheckpoint(bytes, 'half').training, backend);
          const secondLosses = resumed.train(20);
          assert.deepStrictEqual([...firstLosses, ...secondLosses], Array.from(wholeLosses), what);
          const a = resumed.snapshot();
          const b = whole.snapshot();
          for (const key of ['params', 'accum', 'first', 'state'] as const) assert.deepStrictEqual(a[key], b[key], `${what}: ${key}`);
          assert.deepStrictEqual([a.step, a.epoch, a.position, a.smoothLoss], [b.step, b.epoch, b.position, b.smoothLoss], what);
          assert.ok(a.epoch >= 3, `${what}: the run crossed epochs (${a.epoch})`);
          assert.strictEqual(resumed.sample(50, { temperature: 0.7 }), whole.sample(50, { temperature: 0.7 }), what);
        }
      }
    });
  }

  it('a version-2 file names every tensor by layer, the optimizer state by optimizer, and the streams’ states and positions', () => {
    const trainer = new Trainer(corpus, { ...small, backend: 'ts' });
    trainer.train(5);
    const { metadata, tensors } = decodeSafetensors(encodeCheckpoint({ training: trainer.snapshot(), run: record }), 'x');
    assert.strictEqual(metadata.format_version, '2');
    const names = Object.keys(tensors);
    for (const name of ['layers.0.Wx', 'layers.1.Wh', 'layers.1.b', 'V', 'c', 'adam.m.layers.0.Wx', 'adam.v.V', 'state.h', 'state.c']) assert.ok(names.includes(name), name);
    assert.deepStrictEqual(tensors['state.h'].shape, [2, 3, 12]);
    assert.deepStrictEqual(tensors['layers.0.Wx'].shape, [48, corpus.vocabSize]);
    const slice = Math.floor((corpus.length - Math.floor(0.1 * corpus.length)) / 3);
    assert.deepStrictEqual(JSON.parse(metadata.stream_positions), [0, 1, 2].map((b) => b * slice + trainer.position));
  });

  it('a gru without adam has no first moment and no cell state in its file', () => {
    const trainer = new Trainer(corpus, { cell: 'gru', hidden: 6, batch: 2, seqLength: 8, optimizer: 'rmsprop', backend: 'ts' });
    trainer.train(3);
    const { tensors } = decodeSafetensors(encodeCheckpoint({ training: trainer.snapshot(), run: record }), 'x');
    assert.ok(!Object.keys(tensors).some((name) => name.startsWith('adam.') || name === 'state.c'));
    assert.ok(tensors['rmsprop.layers.0.Wh']);
    assert.strictEqual(trainer.config.eta, 2e-3, 'rmsprop takes η = 0.002 unless given');
  });

  it('refuses a damaged version-2 file: a tensor of the wrong shape, a moved stream position', () => {
    const trainer = new Trainer(corpus, { ...small, backend: 'ts' });
    trainer.train(2);
    const good = decodeSafetensors(encodeCheckpoint({ training: trainer.snapshot(), run: record }), 'x');
    const { encodeSafetensors } = require('../lib/run/safetensors');
    const moved = resealed(encodeSafetensors(good.tensors, { ...good.metadata, stream_positions: '[0,1,2]' }));
    assert.throws(() => decodeCheckpoint(moved, 'moved.safetensors'), /moved\.safetensors: not an rnn-native checkpoint: metadata "stream_positions" must be/);
    const tensors = { ...good.tensors, 'state.h': { ...good.tensors['state.h'], shape: [2, 36] } };
    assert.throws(() => decodeCheckpoint(resealed(encodeSafetensors(tensors, good.metadata)), 'shape'), /tensor "state.h" has shape \[2,36\], expected \[2,3,12\]/);
  });

  it('holds out the last part of the text: trains on the rest, the validation loss reads all of it', () => {
    const trainer = new Trainer(corpus, { ...small, backend: 'ts' });
    const heldOut = Math.floor(0.1 * corpus.length);
    assert.strictEqual(trainer.heldOutText.length, heldOut);
    assert.strictEqual(trainer.trainingText.length, corpus.length - heldOut);
    const before = trainer.validationLoss()!;
    assert.ok(Math.abs(before - Math.log(corpus.vocabSize)) < 0.05, `an untrained model is near uniform: ${before}`);
    assert.strictEqual(new Trainer(corpus, { backend: 'ts', hidden: 8 }).validationLoss(), undefined);
  });

  it('refuses a model too big for the scratch limit before allocating, saying what it would need', () => {
    assert.throws(() => new Trainer(corpus, { cell: 'lstm', hidden: 512, layers: 4, batch: 4096, seqLength: 1000, backend: 'ts' }), /need \d+ values of scratch space \([\d.]+ GiB in float32\)/);
  });

  it('refuses a text too short for its streams, naming what to change', () => {
    assert.throws(() => new Trainer(Corpus.fromText('abcdefghij'.repeat(10)), { cell: 'gru', batch: 10, seqLength: 10, backend: 'ts' }), /cut into 10 streams leaves 10 per stream; seq-length 10 needs at least 11/);
  });
});

describe('train with the general model, end to end', function () {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');
  const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-general-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, generatedText(20000));
  const events = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line));
  const args = ['train', '--data', text, '--cell', 'gru', '--layers', '2', '--hidden', '16', '--batch', '4', '--seq-length', '20', '--val-fraction', '0.1', '--eval-every', '30', '--log-every', '10', '--sample-every', '0', '--json', '--backend', 'ts'];

  it('logs val events and val.csv; best.safetensors is the lowest validation loss; resume is exact', () => {
    const whole = path.join(dir, 'whole');
    const a = run([...args, '--steps', '90', '--out', whole]);
    assert.strictEqual(a.status, 0, a.stderr);
    const vals = events(a.stdout).filter((e) => e.event === 'val');
    assert.deepStrictEqual(vals.map((e) => e.step), [30, 60, 90]);
    const rows = readFileSync(path.join(whole, 'val.csv'), 'utf8').trim().split('\n');
    assert.strictEqual(rows[0], 'step,epoch,val_loss,elapsed_s');
    assert.deepStrictEqual(rows.slice(1).map((row) => Number(row.split(',')[2])), vals.map((e) => e.valLoss));
    const bestVal = Math.min(...vals.map((e) => e.valLoss));
    const best = readCheckpoint(path.join(whole, 'best.safetensors'));
    assert.strictEqual(best.run.bestValLoss, bestVal);
    assert.strictEqual(best.training.step, vals.find((e) => e.valLoss === bestVal).step);
    const config = JSON.parse(readFileSync(path.join(whole, 'config.json'), 'utf8'));
    assert.deepStrictEqual([config.cell, config.layers, config.batch, config.valFraction, config.evalEvery], ['gru', 2, 4, 0.1, 30]);

    const halves = path.join(dir, 'halves');
    assert.strictEqual(run([...args, '--steps', '45', '--out', halves]).status, 0);
    const b = run(['train', '--resume', halves, '--steps', '90', '--json']);
    assert.strictEqual(b.status, 0, b.stderr);
    const logs = (out: string) => events(out).filter((e) => e.event === 'log' && e.step > 45).map(({ step, loss, smoothLoss }) => ({ step, loss, smoothLoss }));
    assert.deepStrictEqual(logs(b.stdout), logs(a.stdout));
    assert.deepStrictEqual(readCheckpoint(path.join(halves, 'latest.safetensors')).training.params, readCheckpoint(path.join(whole, 'latest.safetensors')).training.params);
    // The first half also evaluated at its last step (45), which the whole run did not.
    const valRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((r) => r.split(',').slice(0, 3).join());
    assert.deepStrictEqual(valRows(path.join(halves, 'val.csv')).filter((row) => !row.startsWith('45,')), valRows(path.join(whole, 'val.csv')));
  });

  it('--threads 2: recorded in config.json, a resume keeps it and is exact; refused out of range; warned where it does nothing', () => {
    const threaded = [...args.filter((a) => a !== 'ts' && a !== '--backend'), '--backend', 'native', '--threads', '2'];
    if (!loadNative().addon) return;
    const whole = path.join(dir, 'threads-whole');
    const halves = path.join(dir, 'threads-halves');
    const a = run([...threaded, '--steps', '60', '--out', whole]);
    assert.strictEqual(a.status, 0, a.stderr);
    assert.strictEqual(JSON.parse(readFileSync(path.join(whole, 'config.json'), 'utf8')).threads, 2);
    assert.strictEqual(run([...threaded, '--steps', '30', '--out', halves]).status, 0);
    const b = run(['train', '--resume', halves, '--steps', '60', '--json']);
    assert.strictEqual(b.status, 0, b.stderr);
    assert.deepStrictEqual(readCheckpoint(path.join(halves, 'latest.safetensors')).training.params, readCheckpoint(path.join(whole, 'latest.safetensors')).training.params);
    const refused = run([...threaded.slice(0, -2), '--threads', '17', '--steps', '2', '--out', path.join(dir, 'threads-17')]);
    assert.strictEqual(refused.status, 2);
    assert.match(refused.stderr, /--threads must be an integer from 1 to 16, got "17"/);
    const reference = run(['train', '--data', text, '--backend', 'ts', '--threads', '2', '--steps', '2', '--quiet', '--out', path.join(dir, 'threads-ts')]);
    assert.strictEqual(reference.status, 0, reference.stderr);
    assert.match(reference.stderr, /--threads has no effect on the ts backend \(it runs one thread\)/);
  });

  it('--threads beyond the scratch limit (a copy of the gradients per thread): one line, exit 2, no run directory', () => {
    if (!loadNative().addon) return;
    const out = path.join(dir, 'threads-too-many');
    const big = ['train', '--data', text, '--cell', 'lstm', '--hidden', '2100', '--batch', '16', '--seq-length', '5', '--steps', '1', '--quiet', '--backend', 'native', '--out', out];
    const refused = run([...big, '--threads', '16']);
    assert.strictEqual(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /^rnn-native: --threads 16 with lstm 1×2100, batch 16 and seq-length 5 needs \d+ values of scratch space \(a copy of the gradients per thread\); at most \d+ are supported: use fewer threads\n$/);
    assert.strictEqual(existsSync(out), false);
  });

  it('out of memory (an address space of 1.5 GB, a model needing 0.9 GB of scratch): one line of advice, not an internal error', () => {
    if (!loadNative().addon) return;
    const out = path.join(dir, 'out-of-memory');
    const big = ['train', '--data', text, '--cell', 'lstm', '--hidden', '1024', '--batch', '150', '--seq-length', '100', '--steps', '1', '--quiet', '--backend', 'native', '--out', out];
    const quoted = [process.execPath, cli, ...big].map((a) => `'${a}'`).join(' ');
    const result = spawnSync('bash', ['-c', `ulimit -v 1500000 && exec ${quoted}`], { encoding: 'utf8', env, timeout: 60_000 });
    assert.strictEqual(result.status, 1, result.stderr);
    assert.strictEqual(result.stderr, "rnn-native: out of memory: the model and its scratch space do not fit in this process's memory; a smaller --hidden, --layers, --batch or --seq-length needs less\n");
    assert.strictEqual(existsSync(out), false);
  });

  it('--threads beyond the streams or beyond the CPUs: a warning line each, and the run goes on', () => {
    if (!loadNative().addon) return;
    const small = ['train', '--data', text, '--cell', 'gru', '--hidden', '8', '--batch', '4', '--seq-length', '10', '--steps', '2', '--quiet', '--backend', 'native'];
    const cpus = availableParallelism();
    const beyondBatch = run([...small, '--threads', '8', '--out', path.join(dir, 'threads-8-of-4')]);
    assert.strictEqual(beyondBatch.status, 0, beyondBatch.stderr);
    assert.match(beyondBatch.stderr, /^rnn-native: warning: --threads 8 with --batch 4: 4 threads are used \(one per stream\)$/m);
    if (cpus >= 16) return;
    const threads = cpus + 1;
    const otherBatch = small.map((a, i) => (small[i - 1] === '--batch' ? String(threads) : a));
    const beyondCpus = run([...otherBatch, '--threads', String(threads), '--out', path.join(dir, 'threads-beyond-cpus')]);
    assert.strictEqual(beyondCpus.status, 0, beyondCpus.stderr);
    assert.strictEqual(beyondCpus.stderr, `rnn-native: warning: --threads ${threads} is more than the ${cpus} CPUs this process may use: the threads take turns, slower than --threads ${cpus}\n`);
    const within = run([...small, '--threads', String(Math.min(cpus, 4)), '--out', path.join(dir, 'threads-within')]);
    assert.strictEqual(within.stderr, '');
  });

  it('a resume on another backend or another split of the streams says it is not bit for bit; the same one says nothing', () => {
    if (!loadNative().addon) return;
    const small = ['train', '--data', text, '--cell', 'gru', '--hidden', '8', '--batch', '4', '--seq-length', '10', '--steps', '2', '--quiet'];
    const out = path.join(dir, 'drift');
    assert.strictEqual(run([...small, '--backend', 'wasm', '--out', out]).status, 0);
    const resume = (steps: number, ...more: string[]) => run(['train', '--resume', out, '--steps', String(steps), '--quiet', ...more]);
    const onNative = resume(4, '--backend', 'native', '--threads', '2');
    assert.strictEqual(onNative.status, 0, onNative.stderr);
    assert.strictEqual(onNative.stderr, 'rnn-native: warning: the run trained on the wasm backend; it continues on native, not bit for bit as on wasm\n');
    assert.strictEqual(resume(6, '--backend', 'native').stderr, '');
    assert.strictEqual(resume(8, '--backend', 'native', '--threads', '1').stderr, 'rnn-native: warning: the run trained with --threads 2; --threads 1 continues it, not bit for bit as --threads 2 would\n');
  });

  it('--preset char-rnn sets char-rnn’s model; flags beside it win; --resume refuses it', () => {
    const out = path.join(dir, 'preset');
    const result = run(['train', '--data', text, '--preset', 'char-rnn', '--hidden', '8', '--batch', '2', '--steps', '2', '--log-every', '1', '--sample-every', '0', '--eval-every', '1000', '--out', out, '--quiet', '--backend', 'ts']);
    assert.strictEqual(result.status, 0, result.stderr);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepStrictEqual(
      [config.cell, config.layers, config.hidden, config.batch, config.seqLength, config.optimizer, config.eta, config.lrDecay, config.lrDecayAfter, config.valFraction],
      ['lstm', 2, 8, 2, 50, 'rmsprop', 0.002, 0.97, 10, 0.05]
    );
    assert.ok(existsSync(path.join(out, 'best.safetensors')), 'the final evaluation writes best.safetensors');
    const refused = run(['train', '--resume', out, '--preset', 'char-rnn', '--steps', '4']);
    assert.strictEqual(refused.status, 2);
    assert.match(refused.stderr, /--preset chooses the model of a new run/);
  });

  it('answers Ctrl-C within a second during a long validation pass: a checkpoint, exit 130, and the pass skipped', async () => {
    const big = path.join(dir, 'big.txt');
    writeFileSync(big, generatedText(400_000));
    const out = path.join(dir, 'stopped');
    // 200,000 held-out characters on the float64 reference: a pass of many seconds.
    const child = spawn(process.execPath, [cli, 'train', '--data', big, '--cell', 'gru', '--hidden', '32', '--val-fraction', '0.5', '--eval-every', '1', '--log-every', '1', '--steps', '100', '--json', '--backend', 'ts', '--out', out], { env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((stdout += d), stdout.includes('"event":"log"') && resolve())));
    await new Promise((resolve) => setTimeout(resolve, 300)); // into the pass
    const sent = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    const status = await exited;
    assert.ok(Date.now() - sent < 1000, `took ${Date.now() - sent} ms`);
    assert.strictEqual(status, 130, stderr);
    assert.ok(!stdout.includes('"event":"val"'), 'the interrupted pass logged nothing');
    assert.strictEqual(readCheckpoint(path.join(out, 'latest.safetensors')).training.step, 1);
  });

  it('Ctrl-C during the last validation pass: the printed resume command does the pass and finishes the run (then report works)', async () => {
    const text = path.join(dir, 'final-pass.txt');
    writeFileSync(text, generatedText(60_000));
    const out = path.join(dir, 'final-pass');
    // 30,000 held-out characters on the float64 reference: a pass of about a second, the last thing of the run.
    const args = ['--data', text, '--cell', 'gru', '--hidden', '32', '--val-fraction', '0.5', '--steps', '1', '--json', '--backend', 'ts', '--out', out];
    const child = spawn(process.execPath, [cli, 'train', ...args], { env });
    let [stdout, stderr] = ['', ''];
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((stdout += d), stdout.includes('"event":"log"') && resolve())));
    await new Promise((resolve) => setTimeout(resolve, 200)); // into the pass
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    assert.strictEqual(await exited, 130, stderr);
    assert.ok(!existsSync(path.join(out, 'val.csv')) && !existsSync(path.join(out, 'best.safetensors')), 'the pass was stopped');
    // The stopped run: sample and report use latest.safetensors and say so; the report says the run is unfinished.
    const sampled = run(['sample', '--model', out, '--length', '20']);
    assert.strictEqual(sampled.status, 0, sampled.stderr);
    assert.match(sampled.stderr, /note: .*final-pass has no best.safetensors yet \(the run stopped before its first\): using latest.safetensors\n/);
    const reported = run(['report', out]);
    assert.strictEqual(reported.status, 0, reported.stderr);
    const markdown = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(markdown, /Unfinished: the run stopped at step 1 of 1 \(latest.safetensors\), during its last evaluation; rnn-native train --resume .*final-pass continues it\. This report is of latest.safetensors \(step 1\)\./);
    assert.match(markdown, /A passage from the latest checkpoint/);
    const printed = /resume with: npx rnn-native (train --resume .*)\n/.exec(stderr);
    assert.ok(printed, stderr);
    const resumed = run(printed[1].split(' ').map((word) => word.replace(/^'(.*)'$/, '$1')));
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /note: the validation of step 1 was stopped before it ended: it runs first/);
    const val = readFileSync(path.join(out, 'val.csv'), 'utf8').trim().split('\n');
    assert.strictEqual(val.length, 2, 'the header and the row of step 1');
    assert.match(val[1], /^1,1,[\d.]+,/);
    assert.strictEqual(readCheckpoint(path.join(out, 'best.safetensors')).run.bestValLoss, Number(val[1].split(',')[2]));
    assert.strictEqual(run(['report', out]).status, 0);
    assert.doesNotMatch(readFileSync(path.join(out, 'report.md'), 'utf8'), /Unfinished/);
    const again = run(['train', '--resume', out]);
    assert.strictEqual(again.status, 2, 'a finished run has nothing to do');
    assert.match(again.stderr, /is already at step 1; give --steps/);
  });

  it('Ctrl-C during an intermediate validation pass: the resume does that evaluation first, so val.csv has every row an uninterrupted run has', async () => {
    const text = path.join(dir, 'middle-pass.txt');
    writeFileSync(text, generatedText(60_000));
    const [out, whole] = [path.join(dir, 'middle-pass'), path.join(dir, 'middle-pass-whole')];
    const args = ['--data', text, '--cell', 'gru', '--hidden', '32', '--val-fraction', '0.5', '--eval-every', '1', '--log-every', '1', '--steps', '2', '--backend', 'ts'];
    const child = spawn(process.execPath, [cli, 'train', ...args, '--json', '--out', out], { env });
    let [stdout, stderr] = ['', ''];
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((stdout += d), stdout.includes('"event":"log"') && resolve())));
    await new Promise((resolve) => setTimeout(resolve, 200)); // into the pass of step 1
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    assert.strictEqual(await exited, 130, stderr);
    assert.strictEqual(readCheckpoint(path.join(out, 'latest.safetensors')).training.step, 1);
    const resumed = run(['train', '--resume', out, '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(run(['train', ...args, '--quiet', '--out', whole]).status, 0);
    const rows = (d: string) => readFileSync(path.join(d, 'val.csv'), 'utf8').trim().split('\n').map((line) => line.split(',').slice(0, 3).join(','));
    assert.deepStrictEqual(rows(out), rows(whole), 'the same evaluations, with the same losses');
  });

  it('samples a version-2 checkpoint with the sample command', () => {
    const file = path.join(dir, 'whole', 'best.safetensors');
    const a = run(['sample', '--model', file, '--length', '80', '--seed', '3']);
    assert.strictEqual(a.status, 0, a.stderr);
    assert.strictEqual(Array.from(a.stdout.replace(/\n$/, '')).length, 80);
    assert.strictEqual(run(['sample', '--model', file, '--length', '80', '--seed', '3']).stdout, a.stdout);
  });
});

// A library round trip through a file, for docs/library.md's claim that readCheckpoint + Trainer.restore continue a run.
describe('library: writeCheckpoint / readCheckpoint of the general model', () => {
  it('PRESETS spread into the Trainer’s options, the caller’s own winning', () => {
    const trainer = new Trainer(corpus, { ...PRESETS['char-rnn'], hidden: 8, batch: 2, backend: 'ts' });
    const { cell, layers, hidden, batch, seqLength, optimizer, eta, valFraction } = trainer.config;
    assert.deepStrictEqual({ cell, layers, hidden, batch, seqLength, optimizer, eta, valFraction }, { cell: 'lstm', layers: 2, hidden: 8, batch: 2, seqLength: 50, optimizer: 'rmsprop', eta: 2e-3, valFraction: 0.05 });
    assert.throws(() => new Trainer(corpus, { ...PRESETS['char-rnn'], cel: 'gru' } as object), /unknown option "cel"; did you mean "cell"\?/);
  });

  it('continues from the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-lib-'));
    const trainer = new Trainer(corpus, { ...small, backend: 'ts' });
    trainer.train(4);
    const file = path.join(dir, 'x.safetensors');
    writeCheckpoint(file, { training: trainer.snapshot(), run: record });
    const restored = Trainer.restore(corpus, readCheckpoint(file).training, 'ts');
    assert.deepStrictEqual(restored.parameters(), trainer.parameters());
  });
});
