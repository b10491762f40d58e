import assert from 'assert';
import { Rng, seedState } from '../lib';

describe('random generator', () => {
  it('matches xoshiro128** seeded by splitmix64 (values from an independent Python implementation)', () => {
    assert.deepStrictEqual(Array.from(seedState(42)), [803958421, 3184996902, 2993090819, 686809907]);
    const rng = Rng.fromSeed(42);
    const draws = Array.from({ length: 5 }, () => rng.nextU32());
    assert.deepStrictEqual(draws, [1776835114, 4165204688, 17111135, 2317295270, 2792088233]);
  });

  it('draws uniforms in [0, 1) and normals with mean 0 and variance 1', () => {
    const rng = Rng.fromSeed(1);
    let sum = 0;
    let squares = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      const z = rng.normal();
      sum += z;
      squares += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
    assert.ok(Math.abs(squares / n - 1) < 0.05, `variance ${squares / n}`);
  });

  it('rejects seeds that are not safe integers and an all-zero state', () => {
    assert.throws(() => seedState(1.5), RangeError);
    assert.throws(() => new Rng(new Uint32Array(4)), RangeError);
  });
});
