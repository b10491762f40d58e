// --forget-bias: char-rnn starts its LSTM forget gates at bias 1; the option and the
// char-rnn preset do the same, and runs written before the option existed keep bias 0.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, PRESETS, Trainer } from '../lib';
import { Rng } from '../lib/util/random';
import { parameterTable } from '../lib/model/reference';
import { initialParams } from '../lib/engine/engine';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

/** Each layer's bias split into its gates' blocks of m (lstm: i f o g). */
function gateBiases(params: ArrayLike<number>, shape: { cell: 'lstm'; vocab: number; hidden: number; layers: number }) {
  const m = shape.hidden;
  return parameterTable(shape)
    .parameters.filter((p) => p.name.endsWith('.b'))
    .map((p) => [0, 1, 2, 3].map((g) => Array.from(params).slice(p.offset + g * m, p.offset + (g + 1) * m)));
}

describe('--forget-bias', () => {
  const shape = { cell: 'lstm' as const, vocab: 7, hidden: 5, layers: 2 };

  it('sets every layer’s forget-gate biases and nothing else: the weights are the draw without it', () => {
    const plain = initialParams(shape, 0.1, Rng.fromSeed(3));
    const biased = initialParams(shape, 0.1, Rng.fromSeed(3), 1.5);
    for (const [i, f, o, g] of gateBiases(biased, shape)) {
      assert.deepStrictEqual(f, Array(5).fill(1.5));
      assert.deepStrictEqual([...i, ...o, ...g], Array(15).fill(0));
    }
    const isBias = new Set(parameterTable(shape).parameters.filter((p) => p.name.endsWith('.b')).flatMap((p) => Array.from({ length: p.length }, (_, k) => p.offset + k)));
    plain.forEach((value, k) => {
      if (!isBias.has(k)) assert.strictEqual(biased[k], value, `parameter ${k}`);
    });
  });

  it('the char-rnn preset starts its forget gates at 1, as char-rnn’s train.lua', () => {
    assert.strictEqual(PRESETS['char-rnn'].forgetBias, 1);
    const trainer = new Trainer(Corpus.fromText(generatedText(3000)), { ...PRESETS['char-rnn'], hidden: 4, batch: 2, backend: 'ts' });
    const vocab = trainer.corpus.vocabSize;
    const biases = gateBiases(trainer.snapshot().params, { cell: 'lstm', vocab, hidden: 4, layers: 2 });
    for (const [, f] of biases) assert.deepStrictEqual(f, [1, 1, 1, 1]);
  });

  it('on the command line: recorded in config.json, warned of when the cell is not lstm; a config.json without it (0.2.0) still resumes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-forget-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(5000));
    const common = ['--data', text, '--hidden', '6', '--steps', '4', '--sample-every', '0', '--quiet', '--backend', 'ts'];
    const lstm = run(['train', ...common, '--cell', 'lstm', '--forget-bias', '2', '--out', path.join(dir, 'lstm')]);
    assert.strictEqual(lstm.status, 0, lstm.stderr);
    assert.strictEqual(lstm.stderr, '');
    assert.strictEqual(JSON.parse(readFileSync(path.join(dir, 'lstm', 'config.json'), 'utf8')).forgetBias, 2);
    const gru = run(['train', ...common, '--cell', 'gru', '--forget-bias', '2', '--out', path.join(dir, 'gru')]);
    assert.strictEqual(gru.status, 0, gru.stderr);
    assert.strictEqual(gru.stderr.trim(), 'rnn-native: warning: --forget-bias has no effect with --cell gru');
    const bad = run(['train', ...common, '--cell', 'lstm', '--forget-bias', 'x', '--out', path.join(dir, 'bad')]);
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /^rnn-native: --forget-bias must be a number/);
    // A run of 0.2.0: its config.json has no forgetBias (the weights are in the checkpoint).
    const old = path.join(dir, 'old');
    assert.strictEqual(run(['train', ...common, '--cell', 'lstm', '--out', old]).status, 0);
    const configPath = path.join(old, 'config.json');
    const { forgetBias, ...without } = JSON.parse(readFileSync(configPath, 'utf8'));
    assert.strictEqual(forgetBias, 0);
    writeFileSync(configPath, JSON.stringify(without));
    const resumed = run(['train', '--resume', old, '--steps', '8', '--quiet']);
    assert.strictEqual(resumed.status, 0, resumed.stderr);
    assert.strictEqual(resumed.stderr, '');
    assert.match(readFileSync(path.join(old, 'loss.csv'), 'utf8').trim().split('\n').pop()!, /^8,/);
  });
});
