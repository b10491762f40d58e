// The float64 reference of the model (lib/model/reference.ts): held to finite differences for
// every cell × {1, 2 layers} × {1, 3 streams} × {no dropout, p = 0.3 with fixed masks}.
import assert from 'assert';
import { Rng } from '../lib/util/random';
import {
  CellKind,
  dropoutUniform,
  Dropout,
  parameterTable,
  lossAndGradients,
  ModelShape,
  ModelState,
  zeroState,
} from '../lib/model/reference';

const normal = (rng: Rng, n: number, sigma: number) => Float64Array.from({ length: n }, () => sigma * rng.normal());

function copyState(state: ModelState): ModelState {
  return { h: state.h.map((layer) => layer.map((v) => Float64Array.from(v))), c: state.c.map((layer) => layer.map((v) => Float64Array.from(v))) };
}

/** A random state, so that the carried states take part in the check. */
function randomState(s: ModelShape, streams: number, rng: Rng): ModelState {
  const state = zeroState(s, streams);
  for (const part of [state.h, state.c]) for (const layer of part) for (const v of layer) v.set(normal(rng, v.length, 0.5));
  return state;
}

/** max |analytic − numeric| over the largest |analytic|, per tensor, with centered differences. */
function worstScaledError(s: ModelShape, params: Float64Array, state: ModelState, x: number[][], y: number[][], dropout?: Dropout): Record<string, number> {
  const { parameters, total } = parameterTable(s);
  const analytic = new Float64Array(total);
  lossAndGradients(s, params, analytic, copyState(state), x, y, dropout);
  const probe = Float64Array.from(params);
  const h = 1e-5;
  const errors: Record<string, number> = {};
  for (const p of parameters) {
    let scale = 0;
    let worst = 0;
    for (let i = p.offset; i < p.offset + p.length; i++) {
      probe[i] = params[i] + h;
      const plus = lossAndGradients(s, probe, undefined, copyState(state), x, y, dropout);
      probe[i] = params[i] - h;
      const minus = lossAndGradients(s, probe, undefined, copyState(state), x, y, dropout);
      probe[i] = params[i];
      const numeric = (plus - minus) / (2 * h);
      scale = Math.max(scale, Math.abs(analytic[i]));
      worst = Math.max(worst, Math.abs(analytic[i] - numeric));
    }
    errors[p.name] = scale === 0 ? worst : worst / scale;
  }
  return errors;
}

describe('reference: rnn, lstm and gru cells, layers, streams, dropout', () => {
  const K = 5;
  const T = 4;
  for (const cell of ['rnn', 'lstm', 'gru'] as CellKind[]) {
    for (const layers of [1, 2]) {
      for (const streams of [1, 3]) {
        for (const p of [0, 0.3]) {
          it(`${cell}, ${layers} layer(s), B = ${streams}, dropout ${p}: gradients match finite differences`, () => {
            const s: ModelShape = { cell, vocab: K, hidden: 3, layers };
            const rng = Rng.fromSeed(layers * 100 + streams * 10 + (p > 0 ? 1 : 0));
            const params = normal(rng, parameterTable(s).total, 0.5);
            const x = Array.from({ length: T }, () => Array.from({ length: streams }, () => Math.floor(rng.uniform() * K)));
            const y = Array.from({ length: T }, () => Array.from({ length: streams }, () => Math.floor(rng.uniform() * K)));
            const dropout = p > 0 ? { p, seed: 7, update: 3 } : undefined;
            const errors = worstScaledError(s, params, randomState(s, streams, rng), x, y, dropout);
            for (const [name, error] of Object.entries(errors)) assert.ok(error < 1e-7, `${name}: ${error}`);
          });
        }
      }
    }
  }

  it('a wrong gradient is caught: the check can fail', () => {
    const s: ModelShape = { cell: 'lstm', vocab: K, hidden: 3, layers: 2 };
    const rng = Rng.fromSeed(1);
    const params = normal(rng, parameterTable(s).total, 0.5);
    const x = [[1], [2], [3]];
    const y = [[2], [3], [4]];
    const { parameters, total } = parameterTable(s);
    const analytic = new Float64Array(total);
    lossAndGradients(s, params, analytic, zeroState(s, 1), x, y);
    // A forget-gate bias's gradient with its sign flipped is far from the finite difference.
    const b = parameters.find((q) => q.name === 'layers.0.b')!;
    const i = b.offset + 3 + 1; // forget block, unit 1
    const probe = Float64Array.from(params);
    probe[i] += 1e-5;
    const plus = lossAndGradients(s, probe, undefined, zeroState(s, 1), x, y);
    probe[i] -= 2e-5;
    const minus = lossAndGradients(s, probe, undefined, zeroState(s, 1), x, y);
    const numeric = (plus - minus) / 2e-5;
    assert.ok(Math.abs(analytic[i] - numeric) < 1e-8 * Math.max(1, Math.abs(numeric)), `${analytic[i]} vs ${numeric}`);
    assert.ok(Math.abs(-analytic[i] - numeric) > 1e-3 * Math.abs(numeric) && Math.abs(numeric) > 1e-6, `${numeric}`);
  });

  it('dropout masks: the same unit gets the same draw, the draws are uniform, and p drops about p of the units', () => {
    assert.strictEqual(dropoutUniform(1, 2, 0, 3, 4, 5), dropoutUniform(1, 2, 0, 3, 4, 5));
    assert.notStrictEqual(dropoutUniform(1, 2, 0, 3, 4, 5), dropoutUniform(1, 2, 0, 3, 4, 6));
    assert.notStrictEqual(dropoutUniform(1, 2, 0, 3, 4, 5), dropoutUniform(1, 3, 0, 3, 4, 5));
    let sum = 0;
    let below = 0;
    const n = 20000;
    for (let unit = 0; unit < n; unit++) {
      const u = dropoutUniform(42, 7, 1, unit % 50, unit % 3, unit);
      assert.ok(u >= 0 && u < 1);
      sum += u;
      if (u < 0.3) below++;
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
    assert.ok(Math.abs(below / n - 0.3) < 0.015, `fraction below 0.3: ${below / n}`);
  });
});
