// The project's one random generator: xoshiro128** (Blackman & Vigna, 2018), seeded by
// splitmix64. native/kernels/model.cc implements the same next()/uniform(), so both backends draw the
// same numbers from the same state. The state is four 32-bit words, so it fits in a checkpoint.
// (A few lines written here on purpose: no maintained npm generator exposes its state as a
// Uint32Array that C++ can advance in place.)

const MASK64 = (1n << 64n) - 1n;

/** splitmix64, used only to expand a seed into a generator state. */
function splitmix64(state: { x: bigint }): bigint {
  state.x = (state.x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** The generator state for a seed (any safe integer, negative ones included). */
export function seedState(seed: number): Uint32Array {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const sm = { x: BigInt.asUintN(64, BigInt(seed)) };
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i += 2) {
    const z = splitmix64(sm);
    state[i] = Number(z & 0xffffffffn);
    state[i + 1] = Number(z >> 32n);
  }
  return state;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** over a Uint32Array(4) state that it advances in place. */
export class Rng {
  constructor(readonly state: Uint32Array) {
    if (state.length !== 4) throw new RangeError('the generator state must have 4 words');
    if ((state[0] | state[1] | state[2] | state[3]) === 0) {
      throw new RangeError('the generator state must not be all zero');
    }
  }

  static fromSeed(seed: number): Rng {
    return new Rng(seedState(seed));
  }

  nextU32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits: exact in float32 and float64. */
  uniform(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** Standard normal by Box–Muller (the cosine branch only, so each draw takes two uniforms). */
  normal(): number {
    const u1 = ((this.nextU32() >>> 8) + 1) / 16777216; // in (0, 1]: log(u1) is finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
