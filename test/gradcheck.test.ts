import assert from 'assert';
import { Corpus, gradcheck, PARAMETER_NAMES } from '../lib';
import { trainingCorpus, UNICODE_TEXT } from './helpers';
import * as reference from '../lib/reference';
import { makeLayout } from '../lib/layout';
import { Rng } from '../lib/random';
import { initialParams } from '../lib/trainer';

describe('gradient check', () => {
  const corpora: [string, () => Corpus][] = [
    ['tinyshakespeare', trainingCorpus],
    ['text with astral characters and CRLF', () => Corpus.fromText(UNICODE_TEXT)],
  ];
  for (const [name, make] of corpora) {
    it(`meets the targets on ${name} (numeric ≤ 1e-6, native ≤ 1e-4) for several seeds`, () => {
      const corpus = make();
      for (const seed of [1, 2, 3]) {
        const result = gradcheck(corpus, { seed });
        assert.ok(result.native, `native addon did not load: ${result.nativeError}`);
        for (const p of PARAMETER_NAMES) {
          assert.ok(result.numeric[p].maxRelative <= 1e-6, `seed ${seed} numeric ${p}: ${result.numeric[p].maxRelative}`);
          assert.ok(result.native[p].maxRelative <= 1e-4, `seed ${seed} native ${p}: ${result.native[p].maxRelative}`);
        }
      }
    });
  }

  it('catches a wrong gradient', () => {
    // The check must be able to fail: flip the sign of one term of the reference's W gradient.
    const corpus = trainingCorpus();
    const layout = makeLayout(5, corpus.vocabSize);
    const params = initialParams(layout, 0.01, Rng.fromSeed(3));
    const x = Int32Array.from(corpus.indices.subarray(0, 25));
    const y = Int32Array.from(corpus.indices.subarray(1, 26));
    const grads = new Float64Array(layout.total);
    reference.lossAndGradients(layout, Float64Array.from(params), grads, new Float64Array(5), x, y);
    const [offset] = layout.slices.W;
    const h = 1e-4;
    const probe = Float64Array.from(params);
    probe[offset] += h;
    const plus = reference.excessLoss(layout, probe, new Float64Array(5), x, y);
    probe[offset] -= 2 * h;
    const minus = reference.excessLoss(layout, probe, new Float64Array(5), x, y);
    const numeric = (plus - minus) / (2 * h);
    assert.ok(Math.abs(grads[offset] - numeric) / (Math.abs(grads[offset]) + Math.abs(numeric)) < 1e-6);
    assert.ok(Math.abs(-grads[offset] - numeric) / (Math.abs(grads[offset]) + Math.abs(numeric)) > 0.5);
  });

  it('agrees with the plain loss: excessLoss = L − T·ln K', () => {
    const corpus = Corpus.fromText(UNICODE_TEXT);
    const layout = makeLayout(7, corpus.vocabSize);
    const params = initialParams(layout, 0.5, Rng.fromSeed(9));
    const x = Int32Array.from(corpus.indices.subarray(0, 30));
    const y = Int32Array.from(corpus.indices.subarray(1, 31));
    const loss = reference.lossAndGradients(layout, Float64Array.from(params), new Float64Array(layout.total), new Float64Array(7), x, y);
    const excess = reference.excessLoss(layout, params, new Float64Array(7), x, y);
    assert.ok(Math.abs(excess + 30 * Math.log(corpus.vocabSize) - loss) < 1e-9 * loss, `${excess} vs ${loss}`);
  });
});
