// The optimizers (lib/model/optimizers.ts).
import assert from 'assert';
import { decayedRate, maxStepPerEta, OPTIMIZER_DEFAULTS, OptimizerKind, optimizerState, optimizerStep } from '../lib/model/optimizers';
import { Rng } from '../lib/util/random';

const random = (rng: Rng, n: number, scale: number) => Float64Array.from({ length: n }, () => scale * rng.normal());
const settings = (kind: OptimizerKind) => ({ kind, ...OPTIMIZER_DEFAULTS[kind] });

describe('optimizers', () => {
  it('no update moves a parameter more than maxStepPerEta · η, on gradient sequences chosen to come close', () => {
    const rng = Rng.fromSeed(11);
    const cases: [OptimizerKind, Partial<Record<'decay' | 'beta1' | 'beta2', number>>][] = [
      ['adagrad', {}], ['rmsprop', {}], ['rmsprop', { decay: 0.5 }], ['adam', {}], ['adam', { beta1: 0, beta2: 0.99 }], ['adam', { beta1: 0.5, beta2: 0.3 }],
    ];
    for (const [kind, changes] of cases) {
      const o = { ...settings(kind), ...changes, epsilon: 1e-30 };
      const bound = maxStepPerEta(o)!;
      let worst = 0;
      // 64 parameters, each its own sequence: quiet stretches then bursts of one sign, and noise.
      const state = optimizerState(kind, 64);
      const params = new Float64Array(64);
      for (let t = 0; t < 400; t++) {
        const grads = Float64Array.from({ length: 64 }, (_, j) => (j % 4 === 0 ? (t % 97 < 90 ? 1e-6 : 5) : j % 4 === 1 ? (t < 300 ? 1e-8 : 5) : j % 4 === 2 ? 5 * Math.sign(rng.normal()) : rng.normal()));
        const before = Float64Array.from(params);
        optimizerStep(o, params, grads, state);
        params.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - before[j]) / o.eta)));
      }
      assert.ok(worst <= bound * (1 + 1e-9), `${kind} ${JSON.stringify(changes)}: a step of ${worst} η, beyond the bound ${bound}`);
      // AdaGrad's and RMSprop's bounds are reached by a burst after quiet; Adam's (Cauchy–Schwarz) is loose.
      if (kind !== 'adam') assert.ok(worst > 0.3 * bound, `${kind} ${JSON.stringify(changes)}: the sequences come to ${worst} of ${bound} η`);
    }
    assert.strictEqual(maxStepPerEta({ kind: 'adam', decay: 0, beta1: 0.99, beta2: 0.9 }), undefined, 'no bound when β1² ≥ β2');
  });

  it('adagrad is min-char-rnn\'s rule, bit for bit (clip, G += g², θ −= η g / √(G + ε))', () => {
    const rng = Rng.fromSeed(3);
    const size = 41;
    const params = random(rng, size, 0.1);
    const expected = Float64Array.from(params);
    const accum = new Float64Array(size);
    const state = optimizerState('adagrad', size);
    for (let step = 0; step < 5; step++) {
      const grads = random(rng, size, 4); // some beyond the clip of 5
      grads.forEach((raw, j) => {
        const g = Math.min(5, Math.max(-5, raw));
        accum[j] += g * g;
        expected[j] -= (0.1 * g) / Math.sqrt(accum[j] + 1e-8);
      });
      optimizerStep(settings('adagrad'), params, grads, state);
    }
    assert.deepStrictEqual(params, expected);
    assert.deepStrictEqual(state.second, accum);
  });

  it('rmsprop and adam take their first step as their formulas say', () => {
    const grads = Float64Array.of(0.5, -2, 100); // 100 is clipped to 5
    const clipped = [0.5, -2, 5];
    const rms = Float64Array.of(1, 1, 1);
    optimizerStep(settings('rmsprop'), rms, grads, optimizerState('rmsprop', 3));
    clipped.forEach((g, j) => assert.ok(Math.abs(rms[j] - (1 - (2e-3 * g) / (Math.sqrt(0.05 * g * g) + 1e-8))) < 1e-15, `rmsprop ${j}`));
    const adam = Float64Array.of(1, 1, 1);
    optimizerStep(settings('adam'), adam, grads, optimizerState('adam', 3));
    // After bias correction the first step is η·g/(|g| + ε): about η in the gradient's direction.
    clipped.forEach((g, j) => assert.ok(Math.abs(adam[j] - (1 - (2e-3 * g) / (Math.abs(g) + 1e-8))) < 1e-15, `adam ${j}`));
  });

  for (const kind of ['adagrad', 'rmsprop', 'adam'] as OptimizerKind[]) {
    it(`${kind}: N + N steps from a copied state equal 2N steps, byte for byte`, () => {
      const rng = Rng.fromSeed(11);
      const gradients = Array.from({ length: 20 }, () => random(rng, 50, 2));
      const whole = random(Rng.fromSeed(1), 50, 0.1);
      const halves = Float64Array.from(whole);
      const state = optimizerState(kind, 50);
      gradients.forEach((g) => optimizerStep(settings(kind), whole, g, state));
      let saved = optimizerState(kind, 50);
      gradients.slice(0, 10).forEach((g) => optimizerStep(settings(kind), halves, g, saved));
      saved = { steps: saved.steps, second: Float64Array.from(saved.second), first: Float64Array.from(saved.first) };
      gradients.slice(10).forEach((g) => optimizerStep(settings(kind), halves, g, saved));
      assert.deepStrictEqual(halves, whole);
      assert.strictEqual(saved.steps, 20);
    });
  }

  it("the learning rate decays as char-rnn's: by the factor once per epoch after the given one", () => {
    const rates = [1, 10, 11, 12].map((epoch) => decayedRate(2e-3, 0.97, 10, epoch));
    assert.deepStrictEqual(rates, [2e-3, 2e-3, 2e-3 * 0.97, 2e-3 * 0.97 ** 2]);
  });
});
