// The sampling rules beyond the temperature (lib/model/sampling-rules.ts, and the kernel's copy in
// native/kernels/model.cc): each rule's distribution against its definition on fixed logits, and
// the same text from native, wasm and ts. Budget: 10 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { drawByRules, RecentSymbols, SamplingRules } from '../lib/model/sampling-rules';
import { sampleCheckpoint } from '../lib/run/sample-checkpoint';
import { generatedText } from './helpers';

/** The distribution a draw induces: u over a fine grid of [0, 1), counted per symbol. */
function induced(o: number[], rules: SamplingRules, seen?: Int32Array): number[] {
  const N = 200_000;
  const counts = new Array<number>(o.length).fill(0);
  const logits = Float64Array.from(o);
  const weights = new Float64Array(o.length);
  for (let i = 0; i < N; i++) counts[drawByRules(logits, rules, seen, () => (i + 0.5) / N, weights)]++;
  return counts.map((c) => c / N);
}

/** Softmax of logits at temperature t, then only `keep` (renormalised). */
function definition(o: number[], t: number, keep: (p: number[]) => boolean[]): number[] {
  const max = Math.max(...o);
  const w = o.map((v) => Math.exp((v - max) / t));
  const sum = w.reduce((a, b) => a + b, 0);
  const p = w.map((v) => v / sum);
  const kept = keep(p);
  const total = p.reduce((a, v, k) => a + (kept[k] ? v : 0), 0);
  return p.map((v, k) => (kept[k] ? v / total : 0));
}

/** Symbols by probability, most likely first; ties the lower id first. */
const ranked = (p: number[]) => p.map((_, k) => k).sort((a, b) => p[b] - p[a] || a - b);

const close = (actual: number[], expected: number[], what: string) =>
  actual.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 2e-5, `${what}: symbol ${k}: ${v} against ${expected[k]}`));

describe('sampling rules', function () {
  this.timeout(10000);
  // Two ties (0.5 and 2.0 twice) so that the tie rule matters.
  const o = [0.5, 2.0, -1.0, 2.0, 0.5, 1.2, -3.0, 0.1];

  it('the temperature alone: the softmax', () => close(induced(o, { temperature: 0.7 }), definition(o, 0.7, (p) => p.map(() => true)), 'softmax'));

  it('top-k: the k most likely, ties to the lower id', () => {
    for (const k of [1, 2, 3, 5]) {
      close(induced(o, { temperature: 1, topK: k }), definition(o, 1, (p) => p.map((_, i) => ranked(p).indexOf(i) < k)), `top-k ${k}`);
    }
  });

  it('top-p: the smallest most-likely set of probability ≥ p', () => {
    for (const topP of [0.3, 0.5, 0.8, 0.95]) {
      const keep = (p: number[]) => {
        const order = ranked(p);
        let [total, n] = [0, 0];
        while (total < topP) total += p[order[n++]];
        return p.map((_, i) => order.indexOf(i) < n);
      };
      close(induced(o, { temperature: 1, topP }), definition(o, 1, keep), `top-p ${topP}`);
    }
  });

  it('min-p: those of probability ≥ p × the most likely', () => {
    for (const minP of [0.05, 0.2, 0.6]) {
      close(induced(o, { temperature: 1.3, minP }), definition(o, 1.3, (p) => p.map((v) => v >= minP * Math.max(...p))), `min-p ${minP}`);
    }
  });

  it("repetition penalty (CTRL's rule): a seen symbol's logit ÷ X if positive, × X if negative, before the temperature", () => {
    const seen = new RecentSymbols(o.length, 3, [1, 2, 1, 6]).seen; // the window holds 2, 1, 6
    assert.deepStrictEqual(Array.from(seen), [0, 1, 1, 0, 0, 0, 1, 0]);
    const penalized = o.map((v, k) => (seen[k] > 0 ? (v > 0 ? v / 1.5 : v * 1.5) : v));
    close(induced(o, { temperature: 0.8, repetitionPenalty: 1.5, repetitionWindow: 3 }, seen), definition(penalized, 0.8, (p) => p.map(() => true)), 'penalty');
  });

  it('the order: penalty, temperature, top-k, top-p, min-p; top-k 1 is the argmax (ties the lower id); top-p 1 and min-p 0 change nothing', () => {
    const combined = induced(o, { temperature: 0.9, topK: 4, topP: 0.9, minP: 0.1 });
    const keep = (p: number[]) => {
      const order = ranked(p).slice(0, 4);
      const topK = order.reduce((a, k) => a + p[k], 0);
      let [total, n] = [0, 0];
      while (total < 0.9 * topK) total += p[order[n++]];
      const kept = order.slice(0, n);
      const most = p[order[0]];
      return p.map((v, i) => kept.includes(i) && v >= 0.1 * most);
    };
    close(combined, definition(o, 0.9, keep), 'combined');
    assert.deepStrictEqual(induced(o, { temperature: 1, topK: 1 }), [0, 1, 0, 0, 0, 0, 0, 0], 'top-k 1: symbol 1 (tied with 3)');
    assert.deepStrictEqual(induced(o, { temperature: 1, topP: 1, minP: 0 }), induced(o, { temperature: 1 }));
  });

  describe('the same text on every backend, through the command line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-rules-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, generatedText(20_000));
    const cli = path.join(__dirname, '..', 'dist', 'cli.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
    const out = path.join(dir, 'run');
    before(() => assert.strictEqual(run(['train', '--data', text, '--hidden', '16', '--steps', '300', '--quiet', '--out', out]).status, 0));
    const sample = (backend: string, rules: string[]) => {
      const length = rules.includes('--length') ? [] : ['--length', '300'];
      const result = run(['sample', '--model', out, ...length, '--seed', '7', '--backend', backend, ...rules]);
      assert.strictEqual(result.status, 0, result.stderr);
      return result.stdout;
    };

    it('native and wasm draw the same text with every rule; ts too; top-k 1 is --argmax; top-p 1, min-p 0 and penalty 1 are no rule', () => {
      const all = ['--top-k', '6', '--top-p', '0.9', '--min-p', '0.02', '--repetition-penalty', '1.4', '--repetition-window', '20'];
      const native = sample('native', all);
      assert.strictEqual(sample('wasm', all), native);
      assert.strictEqual(sample('ts', all), native);
      assert.notStrictEqual(native, sample('native', []), 'the rules change the text');
      assert.strictEqual(sample('native', ['--top-k', '1']), sample('native', ['--argmax']));
      assert.strictEqual(sample('wasm', ['--top-k', '1']), sample('wasm', ['--argmax']));
      assert.strictEqual(sample('native', ['--top-p', '1', '--min-p', '0', '--repetition-penalty', '1']), sample('native', []));
    });

    it('--stop ends a sample at its first occurrence, included; --count N draws sample i with seed + i − 1, under a line; --json an array', () => {
      const whole = sample('native', ['--length', '2000']);
      const stop = whole.slice(40, 43); // a string the text holds, after its start
      const stopped = sample('native', ['--length', '2000', '--stop', stop]);
      assert.strictEqual(stopped, whole.slice(0, whole.indexOf(stop) + stop.length) + '\n');
      const three = sample('native', ['--count', '3', '--length', '50']);
      const alone = [7, 8, 9].map((seed) => run(['sample', '--model', out, '--length', '50', '--seed', String(seed), '--backend', 'native']).stdout.replace(/\n$/, ''));
      assert.strictEqual(three, alone.map((text, i) => `${i > 0 ? '\n' : ''}--- sample ${i + 1} of 3 (seed ${7 + i}) ---\n${text}`).join('') + '\n');
      const json = JSON.parse(sample('native', ['--count', '3', '--length', '50', '--json']));
      assert.deepStrictEqual(json.samples, alone);
      assert.strictEqual(json.seed, 7);
    });

    it('--stop is found across the pieces the text is drawn in (any piece size gives the same text)', () => {
      const file = path.join(out, 'best.safetensors');
      const draw = (chunk: number, stop?: string) => Array.from(sampleCheckpoint(file, { length: 500, temperature: 1, seed: 3, chunk, stop, prime: 'the' }).pieces).join('');
      const whole = draw(4096);
      for (const stop of [whole.slice(200, 203), whole.slice(100, 101), whole.slice(3, 40)]) {
        const expected = 'the' + whole.slice(3, whole.indexOf(stop, 3) + stop.length);
        for (const chunk of [1, 2, 7, 64]) assert.strictEqual(draw(chunk, stop), expected, `stop ${JSON.stringify(stop)}, pieces of ${chunk}`);
      }
      assert.strictEqual(draw(5, whole.slice(3).repeat(2)), whole, 'a stop never drawn (longer than the text): the whole length');
    });

    it('refuses values out of range in one line', () => {
      for (const [flag, value, message] of [
        ['--top-p', '0', /--top-p must be a number > 0 and ≤ 1, got "0"/],
        ['--top-k', '-1', /--top-k must be an integer from 0 to 65536/],
        ['--min-p', '1', /--min-p must be a number ≥ 0 and ≤ 0.999999/],
        ['--repetition-penalty', '0', /--repetition-penalty must be a number > 0 and ≤ 1000/],
      ] as const) {
        const result = run(['sample', '--model', out, flag, value]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, message);
      }
      const unknown = run(['sample', '--model', out, '--stop', 'o€☃']);
      assert.strictEqual(unknown.status, 2, unknown.stderr);
      assert.match(unknown.stderr, /^rnn-native: the stop text holds characters the model never draws: "€", "☃"\n$/);
    });
  });
});
