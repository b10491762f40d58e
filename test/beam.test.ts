// Beam search (lib/engine/beam.ts) over the backends' next-symbol log-probabilities: against an
// exhaustive search where one is possible, beam 1 against the argmax, and the same beams on every
// backend. Budget: 10 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, Trainer } from '../lib';
import { beamSearch } from '../lib/engine/beam';
import { createModelBackend } from '../lib/engine/backend';
import { modelShape } from '../lib/engine/engine';
import { BackendName, NextSymbolModel, StreamState } from '../lib/engine/model-backend';
import { COMPILED_BACKENDS } from './helpers';

const BACKENDS: BackendName[] = ['ts', ...COMPILED_BACKENDS];

describe('beam search', function () {
  this.timeout(10000);
  // A tiny model: K = 4, lstm of 2 layers, trained a little so that its probabilities differ.
  const corpus = Corpus.fromText('abcdabdcacbdbadc'.repeat(20));
  const trainer = new Trainer(corpus, { cell: 'lstm', layers: 2, hidden: 6, seqLength: 8, optimizer: 'adam', eta: 0.02, backend: 'ts', seed: 4 });
  trainer.train(40);
  const { params, config } = trainer.snapshot();
  const model = (backend: BackendName) => createModelBackend(backend, modelShape(config, 4), 1, 1, Float64Array.from(params), false).nextSymbols();
  const zeros = new Float64Array(2 * 6);
  const prime = Int32Array.of(0, 1);

  /** Every continuation of `length` symbols with its Σ log p, most likely first (ties: the lower symbols first). */
  function exhaustive(next: NextSymbolModel, start: StreamState, length: number): { symbols: number[]; logProb: number }[] {
    const all: { symbols: number[]; logProb: number }[] = [];
    const walk = (state: StreamState, input: number, symbols: number[], logProb: number) => {
      if (symbols.length === length) return void all.push({ symbols, logProb });
      const { logProbs, state: after } = next.next(state, input);
      logProbs.forEach((lp, k) => walk(after, k, [...symbols, k], logProb + lp));
    };
    walk(start, prime[prime.length - 1], [], 0);
    return all.sort((a, b) => b.logProb - a.logProb || a.symbols.join() .localeCompare(b.symbols.join()));
  }

  for (const backend of BACKENDS) {
    it(`${backend}: a beam as wide as all continuations equals exhaustive search (the 5 best, in order); beam 1 is the argmax's path`, () => {
      const next = model(backend);
      const start = next.start({ h: zeros, c: zeros }, prime);
      const expected = exhaustive(next, start, 5);
      const beams = beamSearch(next, start, prime[1], 5, 4 ** 4, 5);
      assert.deepStrictEqual(beams.map((b) => Array.from(b.symbols)), expected.slice(0, 5).map((e) => e.symbols));
      beams.forEach((b, i) => assert.ok(Math.abs(b.logProb - expected[i].logProb) < 1e-12, `beam ${i}`));
      // Beam 1: at each step the most likely symbol of the one path.
      const greedy: number[] = [];
      let [state, input] = [start, prime[1]];
      for (let t = 0; t < 5; t++) {
        const step = next.next(state, input);
        input = step.logProbs.indexOf(Math.max(...step.logProbs));
        greedy.push(input);
        state = step.state;
      }
      assert.deepStrictEqual(Array.from(beamSearch(next, start, prime[1], 5, 1, 1)[0].symbols), greedy);
      // A narrow beam finds no better than exhaustive search.
      assert.ok(beamSearch(next, start, prime[1], 5, 2, 1)[0].logProb <= expected[0].logProb + 1e-12);
    });
  }

  it('native, wasm and ts give the same beams, their log-probabilities within 1e-6 (float32 logits, summed in other orders)', () => {
    const beams = (backend: BackendName) => {
      const next = model(backend);
      return beamSearch(next, next.start({ h: zeros, c: zeros }, prime), prime[1], 12, 3, 3);
    };
    const reference = beams('ts');
    for (const backend of COMPILED_BACKENDS) {
      const found = beams(backend);
      assert.deepStrictEqual(found.map((b) => Array.from(b.symbols)), reference.map((b) => Array.from(b.symbols)), backend);
      found.forEach((b, i) => assert.ok(Math.abs(b.logProb - reference[i].logProb) < 1e-6, `${backend} beam ${i}`));
    }
  });

  describe('sample --beam', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-beam-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, 'the cat sat on the mat; the dog sat on the log.\n'.repeat(200));
    const cli = path.join(__dirname, '..', 'dist', 'cli.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
    const out = path.join(dir, 'run');
    before(() => assert.strictEqual(run(['train', '--data', text, '--hidden', '16', '--steps', '300', '--quiet', '--out', out]).status, 0));

    it('beam 1 is --argmax; --count N gives the N best under a line with their log p; --json the beams', () => {
      const sample = (args: string[]) => {
        const result = run(['sample', '--model', out, '--length', '40', '--prime', 'the ', '--backend', 'native', ...args]);
        assert.strictEqual(result.status, 0, result.stderr);
        return result.stdout;
      };
      assert.strictEqual(sample(['--beam', '1']), sample(['--argmax']));
      const json = JSON.parse(sample(['--beam', '4', '--count', '2', '--json']));
      assert.strictEqual(json.beams.length, 2);
      assert.ok(json.beams[0].logProb >= json.beams[1].logProb && json.beams[0].text.startsWith('the '));
      assert.strictEqual(sample(['--beam', '4', '--count', '2']), `--- beam 1 of 2 (log p ${json.beams[0].logProb.toFixed(4)} nats) ---\n${json.beams[0].text}\n--- beam 2 of 2 (log p ${json.beams[1].logProb.toFixed(4)} nats) ---\n${json.beams[1].text}\n`);
    });

    it('refuses what contradicts it in one line', () => {
      for (const [args, message] of [
        [['--beam', '3', '--temperature', '0.5'], /--beam searches for the most likely text and draws nothing: leave out --temperature/],
        [['--beam', '3', '--top-k', '2'], /leave out --top-k/],
        [['--beam', '2', '--count', '3'], /--count 3 is more beams than --beam 2 keeps/],
        [['--beam', '1000', '--length', '100000'], /--beam × --length must be at most 10,000,000/],
      ] as const) {
        const result = run(['sample', '--model', out, ...args]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, message);
      }
    });
  });
});
