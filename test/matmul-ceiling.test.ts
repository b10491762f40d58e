// The "sgemm-only ceiling" (docs/performance.md): the model's multiplies of one update, recorded from the
// kernel (native/kernels/model.cc routes every one through Model::gemm), and timed alone. The plan is
// checked against the kernel's design; the timer only for sane output (no timing assertions).
import assert from 'assert';
import { CellKind, loadNative, NativeAddon, Matmul } from '../lib/engine/native';

const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };

interface Dims {
  cell: CellKind;
  K: number;
  m: number;
  L: number;
  B: number;
  T: number;
}

type Multiply = Omit<Matmul, 'count'>;
const mm = (m: number, n: number, k: number, transA: boolean, transB: boolean): Multiply => ({ m, n, k, transA, transB });

/** The kernel's design, multiply by multiply (native/kernels/model.h), for one update. */
function designedMultiplies({ cell, K, m, L, B, T }: Dims): Multiply[] {
  const Gm = GATES[cell] * m;
  const N = T * B;
  const times = (count: number, g: Multiply) => Array<Multiply>(count).fill(g);
  return [
    ...times(L - 1, mm(N, Gm, m, false, true)), // input projection of layer ≥ 1, all T·B rows at once
    ...times(L * T, mm(B, Gm, m, false, true)), // hidden products, one per step per layer
    mm(N, K, m, false, true), // logits of the whole block
    mm(K, m, N, true, false), // dV
    mm(N, m, K, false, false), // d(top layer's output)
    ...times(L * (T - 1), mm(B, m, Gm, false, false)), // dh carried back, per step but the first, per layer
    ...times(L, mm(Gm, m, N, true, false)), // dWh
    ...times(L - 1, mm(Gm, m, N, true, false)), // dWx of layer ≥ 1
    ...times(L - 1, mm(N, m, Gm, false, false)), // the gradient into the layer below
  ];
}

/** FLOPs of one update, 2·m·n·k summed over the design above, in closed form. */
function designedFlops({ cell, K, m, L, B, T }: Dims): number {
  const Gm = GATES[cell] * m;
  const N = T * B;
  return 2 * m * (3 * K * N + Gm * (3 * (L - 1) * N + 2 * L * N + L * (T - 1) * B));
}

const key = (g: Multiply) => `${g.m}×${g.n}×${g.k} ${g.transA ? 'T' : 'N'}${g.transB ? 'T' : 'N'}`;

/** Multiset of multiplies → "shape: count", sorted, so plans compare whatever their order. */
function counted(multiplies: (Multiply & { count?: number })[]): string[] {
  const counts = new Map<string, number>();
  for (const g of multiplies) counts.set(key(g), (counts.get(key(g)) ?? 0) + (g.count ?? 1));
  return [...counts].map(([shape, count]) => `${shape}: ${count}`).sort();
}

const planArgs = (d: Dims) => [d.cell, d.K, d.m, d.L, d.B, d.T] as const;

describe('sgemm-only ceiling (matmulPlan, matmulSeconds)', function () {
  let addon: NativeAddon;
  before(function () {
    const loaded = loadNative();
    if (!loaded.addon) {
      console.warn(`    SKIPPED: the native addon does not load (${loaded.error}); the ceiling needs it`);
      this.skip();
    }
    addon = loaded.addon;
  });

  it('the plan of an lstm of 2 layers, B = 3, T = 4 is the kernel design, grouped, with its FLOPs', () => {
    // Sizes all different, so that no two of the design's multiplies share a shape by chance.
    const d: Dims = { cell: 'lstm', K: 5, m: 7, L: 2, B: 3, T: 4 };
    const plan = addon.matmulPlan(...planArgs(d));
    assert.deepStrictEqual(counted(plan), counted(designedMultiplies(d)));
    assert.strictEqual(new Set(plan.map(key)).size, plan.length, 'equal shapes are grouped');
    assert.deepStrictEqual(
      plan.find((g) => g.m === d.T * d.B && g.n === 4 * d.m),
      { ...mm(12, 28, 7, false, true), count: 1 },
      'layer 1 projects its inputs in one sgemm over T·B rows'
    );
    assert.strictEqual(plan.find((g) => g.m === d.B && g.n === 4 * d.m)?.count, d.L * d.T, 'one hidden sgemm per step per layer');
    const flops = plan.reduce((sum, g) => sum + 2 * g.m * g.n * g.k * g.count, 0);
    assert.strictEqual(flops, designedFlops(d));
    assert.strictEqual(addon.matmulSeconds(...planArgs(d), 1).flops, designedFlops(d));
  });

  it('plans and FLOPs follow the design for every cell × {1, 3} layers × T ∈ {1, 4}', () => {
    for (const cell of ['rnn', 'lstm', 'gru'] as CellKind[]) {
      for (const L of [1, 3]) {
        for (const T of [1, 4]) {
          const d: Dims = { cell, K: 11, m: 6, L, B: 2, T };
          const what = JSON.stringify(d);
          assert.deepStrictEqual(counted(addon.matmulPlan(...planArgs(d))), counted(designedMultiplies(d)), what);
          assert.strictEqual(addon.matmulSeconds(...planArgs(d), 1).flops, designedFlops(d), what);
        }
      }
    }
  });

  it('the timer returns positive, finite seconds and FLOPs per update', () => {
    const { seconds, flops } = addon.matmulSeconds('gru', 65, 32, 2, 8, 10, 3);
    assert.ok(Number.isFinite(seconds) && seconds > 0, `seconds ${seconds}`);
    assert.ok(Number.isFinite(flops) && flops > 0, `flops ${flops}`);
  });

  it('refuses bad arguments with TypeError / RangeError, as a Model spec', () => {
    const good = ['lstm', 5, 7, 2, 3, 4] as unknown[];
    const refused: [number, unknown, typeof TypeError | typeof RangeError][] = [
      [0, 'tanh', RangeError],
      [0, 1, TypeError],
      [1, 0, RangeError],
      [2, 1.5, RangeError],
      [2, '7', TypeError],
      [3, 65, RangeError],
      [4, '2', TypeError],
      [4, 0, RangeError],
      [5, 0, RangeError],
      [5, undefined, TypeError],
    ];
    const plan = addon.matmulPlan as (...args: unknown[]) => unknown;
    const seconds = addon.matmulSeconds as (...args: unknown[]) => unknown;
    for (const [at, value, error] of refused) {
      const args = good.slice();
      args[at] = value;
      assert.throws(() => plan(...args), error, `plan, argument ${at} = ${String(value)}`);
      assert.throws(() => seconds(...args, 1), error, `seconds, argument ${at} = ${String(value)}`);
    }
    assert.throws(() => plan('lstm', 2000, 2000, 8, 3, 4), RangeError); // parameters
    assert.throws(() => plan('lstm', 5, 64, 1, 5000, 1000), RangeError); // scratch
    assert.throws(() => seconds(...good, 0), RangeError);
    assert.throws(() => seconds(...good, 1.5), RangeError);
    assert.throws(() => seconds(...good, 10001), RangeError);
    assert.throws(() => seconds(...good), TypeError);
  });
});
