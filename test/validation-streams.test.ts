// Validation with streams: the held-out part cut into --val-streams slices (--batch's by default
// for a new run) as the training part is cut, read side by side forward only, each slice its own
// stream from a zero state; --val-max-chars bounds what a pass reads; a run keeps the definition
// it recorded (runs of earlier versions: one stream); the three backends agree; and the live line
// shows a long pass's progress.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, Trainer } from '../lib';
import { readCheckpoint, writeCheckpoint } from '../lib/run/checkpoint';
import { decodeSafetensors } from '../lib/run/safetensors';
import { statusLine } from '../lib/run/reporter';
import { validationSlices } from '../lib/model/stream-walk';
import { COMPILED_BACKENDS, generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('validation with streams', function () {
  this.timeout(60_000);
  const corpus = Corpus.fromText(generatedText(4000));
  const model = { cell: 'lstm', layers: 2, hidden: 8, seqLength: 6, batch: 3, valFraction: 0.2, seed: 3 } as const;
  /** The reference trained a little, so that the states it carries matter. */
  const trained = (options: object) => {
    const trainer = new Trainer(corpus, { ...model, backend: 'ts', ...options });
    trainer.train(5);
    return trainer;
  };
  const text = (symbols: ArrayLike<number>) => corpus.decode(Array.from(symbols));

  it('the definition: the mean over the slices (⌊N/S⌋ characters each) of each slice read as one stream from a zero state', () => {
    for (const valStreams of [2, 3, 7]) {
      const trainer = trained({ valStreams });
      const held = trainer.heldOutText;
      const { streams, slice } = validationSlices(held.length, valStreams);
      assert.strictEqual(streams, valStreams);
      // Every slice has slice − 1 predictions: the mean over all of them is the mean of the slices'.
      const perSlice = Array.from({ length: streams }, (_, b) => trainer.score(text(held.subarray(b * slice, (b + 1) * slice))).natsPerCharacter);
      const expected = perSlice.reduce((s, v) => s + v, 0) / streams;
      const got = trainer.validationLoss()!;
      assert.ok(relative(got, expected) < 1e-12, `${valStreams} streams: ${got} vs ${expected}`);
    }
  });

  it('a new run takes --batch streams; 1 reads the held-out part as one stream, as before; --val-max-chars its first N characters', () => {
    assert.strictEqual(new Trainer(corpus, { ...model, backend: 'ts' }).config.valStreams, 3);
    assert.strictEqual(new Trainer(corpus, { ...model, batch: 1, backend: 'ts' }).config.valStreams, 1);
    const one = trained({ valStreams: 1 });
    assert.strictEqual(one.validationLoss(), one.score(text(one.heldOutText)).natsPerCharacter);
    const bounded = trained({ valStreams: 1, valMaxChars: 100 });
    assert.strictEqual(bounded.validationLoss(), bounded.score(text(bounded.heldOutText.subarray(0, 100))).natsPerCharacter);
    const boundedStreams = trained({ valMaxChars: 100 });
    const perSlice = [0, 1, 2].map((b) => boundedStreams.score(text(boundedStreams.heldOutText.subarray(b * 33, (b + 1) * 33))).natsPerCharacter);
    assert.ok(relative(boundedStreams.validationLoss()!, (perSlice[0] + perSlice[1] + perSlice[2]) / 3) < 1e-12);
    // At most one stream per two characters: each slice predicts at least one.
    assert.deepStrictEqual(validationSlices(5, 4), { streams: 2, slice: 2 });
    assert.deepStrictEqual(validationSlices(3, 50), { streams: 1, slice: 3 });
    const tiny = trained({ valStreams: 50, valMaxChars: 5 });
    assert.ok(relative(tiny.validationLoss()!, (tiny.score(text(tiny.heldOutText.subarray(0, 2))).natsPerCharacter + tiny.score(text(tiny.heldOutText.subarray(2, 4))).natsPerCharacter) / 2) < 1e-12);
    assert.throws(() => new Trainer(corpus, { ...model, valMaxChars: 1 }), /valMaxChars \(--val-max-chars\) 1 leaves no character to predict: give 0 \(all the held-out part\) or at least 2/);
  });

  for (const backend of COMPILED_BACKENDS) {
    it(`parity: ${backend} gives the reference's validation loss (lstm and gru, 2 layers, 1, 3 and 40 streams) within 1e-5 relative`, () => {
      for (const cell of ['lstm', 'gru'] as const) {
        for (const valStreams of [1, 3, 40]) {
          const options = { ...model, cell, valStreams };
          const reference = new Trainer(corpus, { ...options, backend: 'ts' });
          const compiled = new Trainer(corpus, { ...options, backend });
          reference.train(5);
          compiled.train(5);
          const [want, got] = [reference.validationLoss()!, compiled.validationLoss()!];
          assert.ok(relative(got, want) <= 1e-5, `${cell}, ${valStreams} streams: ${got} vs ${want}`);
          // The same weights read again give the same number (the states start from zero each pass).
          assert.strictEqual(compiled.validationLoss(), got);
        }
      }
    });
  }

  it('on the command line: recorded in config.json, checked, warned of without --val-fraction; a resume keeps its definition', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-val-streams-'));
    const data = path.join(dir, 'text.txt');
    writeFileSync(data, generatedText(6000));
    const common = ['--data', data, '--hidden', '6', '--batch', '2', '--sample-every', '0', '--quiet', '--backend', 'ts'];
    const config = (name: string) => JSON.parse(readFileSync(path.join(dir, name, 'config.json'), 'utf8'));
    assert.strictEqual(run(['train', ...common, '--val-fraction', '0.1', '--steps', '2', '--out', path.join(dir, 'new')]).status, 0);
    assert.deepStrictEqual([config('new').valStreams, config('new').valMaxChars], [2, 0]);
    const report = run(['report', path.join(dir, 'new')]);
    assert.strictEqual(report.status, 0, report.stderr);
    assert.match(readFileSync(path.join(dir, 'new', 'report.md'), 'utf8'), /the held-out text \(cut into 2 slices, each read as its own stream\), averaged/);
    const bounded = run(['train', ...common, '--val-fraction', '0.1', '--val-streams', '5', '--val-max-chars', '300', '--steps', '2', '--out', path.join(dir, 'bounded')]);
    assert.strictEqual(bounded.status, 0, bounded.stderr);
    assert.deepStrictEqual([config('bounded').valStreams, config('bounded').valMaxChars], [5, 300]);
    assert.strictEqual(readCheckpoint(path.join(dir, 'bounded', 'latest.safetensors')).training.config.valStreams, 5);
    for (const [flag, value, rule] of [['val-streams', '0', /^rnn-native: --val-streams must be an integer from 1 to \d+, got "0"\n$/], ['val-max-chars', '-1', /^rnn-native: --val-max-chars must be an integer from 0 to/], ['val-max-chars', '1', /--val-max-chars\) 1 leaves no character to predict/]] as const) {
      const bad = run(['train', ...common, '--val-fraction', '0.1', `--${flag}`, value, '--steps', '2', '--out', path.join(dir, `bad-${flag}-${value}`)]);
      assert.strictEqual(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, rule);
    }
    const useless = run(['train', ...common, '--val-streams', '4', '--val-max-chars', '100', '--steps', '2', '--out', path.join(dir, 'useless')]);
    assert.strictEqual(useless.status, 0, useless.stderr);
    assert.strictEqual(useless.stderr, 'rnn-native: warning: --val-streams has no effect without --val-fraction\nrnn-native: warning: --val-max-chars has no effect without --val-fraction\n');
    const changed = run(['train', '--resume', path.join(dir, 'new'), '--val-streams', '1', '--steps', '4']);
    assert.strictEqual(changed.status, 2);
    assert.match(changed.stderr, /cannot change the model of a resumed run: --val-streams 1 \(the run has 2\)/);
  });

  it('a run of an earlier version (no valStreams in config.json or the checkpoint) resumes reading one stream, as it did', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-val-old-'));
    const data = path.join(dir, 'text.txt');
    writeFileSync(data, generatedText(6000));
    const common = ['--data', data, '--hidden', '6', '--batch', '2', '--val-fraction', '0.1', '--eval-every', '2', '--sample-every', '0', '--quiet', '--backend', 'ts'];
    const [old, whole] = [path.join(dir, 'old'), path.join(dir, 'whole')];
    // The run of an earlier version read one stream: made here with --val-streams 1, its files then stripped of the options.
    assert.strictEqual(run(['train', ...common, '--val-streams', '1', '--steps', '4', '--out', old]).status, 0);
    assert.strictEqual(run(['train', ...common, '--val-streams', '1', '--steps', '8', '--out', whole]).status, 0);
    const configPath = path.join(old, 'config.json');
    const { valStreams, valMaxChars, ...without } = JSON.parse(readFileSync(configPath, 'utf8'));
    assert.deepStrictEqual([valStreams, valMaxChars], [1, 0]);
    writeFileSync(configPath, JSON.stringify(without));
    const latest = path.join(old, 'latest.safetensors');
    const checkpoint = readCheckpoint(latest);
    const { valStreams: _s, valMaxChars: _m, ...olderConfig } = checkpoint.training.config;
    writeCheckpoint(latest, { ...checkpoint, training: { ...checkpoint.training, config: olderConfig as typeof checkpoint.training.config } });
    assert.ok(!('valStreams' in JSON.parse(decodeSafetensors(readFileSync(latest), latest).metadata.config)));
    const resumed = run(['train', '--resume', old, '--steps', '8', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(resumed.stderr, '');
    const losses = (dir: string) => readFileSync(path.join(dir, 'val.csv'), 'utf8').trim().split('\n').slice(1).map((row) => row.split(',').slice(0, 3).join(','));
    assert.deepStrictEqual(losses(old), losses(whole));
  });

  it('a sweep of an earlier version (its runs of 2 streams have no valStreams) resumes: the changed default is no edit of sweep.json', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-val-sweep-'));
    const data = path.join(dir, 'text.txt');
    writeFileSync(data, generatedText(5000));
    const out = path.join(dir, 'sweep');
    const ran = run(['sweep', '--grid', 'eta=0.05', '--data', data, '--batch', '2', '--val-fraction', '0.1', '--hidden', '6', '--steps', '4', '--backend', 'ts', '--out', out]);
    assert.strictEqual(ran.status, 0, ran.stderr);
    const configPath = path.join(out, 'run-000', 'config.json');
    assert.strictEqual(run(['sweep', '--resume', out]).status, 0, "today's run: its config.json holds 2, which the plan's defaults give");
    const { valStreams: _s, ...without } = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify(without));
    const resumed = run(['sweep', '--resume', out]);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
  });

  it('the live line shows a validation pass in progress, most important after the step', () => {
    const p = { step: 12345, steps: 100000, epoch: 3, smoothLoss: 94.7, updatesPerSecond: 3559.4, eta: 25, validation: 0.437 };
    assert.strictEqual(statusLine(p, 120), '[###---------------------]  12345/100000  validating 43%  epoch 3  smooth loss 94.700  3559 updates/s  ETA 0:25');
    assert.strictEqual(statusLine(p, 30), '12345/100000 val 43%');
    const { validation: _v, ...after } = p;
    assert.doesNotMatch(statusLine(after, 120), /validating/);
  });
});
