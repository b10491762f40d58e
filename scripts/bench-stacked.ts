// npx ts-node -P tsconfig.json scripts/bench-stacked.ts [cell] [hidden] [layers] [streams] [seqLength]
// Updates/s (and characters/s = updates × streams × seqLength) of the native general model
// (StackedModel): forwardBackward + Adam on random symbols, K = 65, without and with dropout 0.5,
// after a warm-up. Defaults: lstm, 128 hidden, 2 layers, 50 streams, 50 steps.
import { loadNative } from '../lib/native';
import { CellKind, stackedLayout } from '../lib/stacked-reference';

const { addon, error } = loadNative();
if (!addon) throw new Error(`the native addon does not load: ${error}`);
const [cell, hidden, layers, streams, seqLength] = [(process.argv[2] ?? 'lstm') as CellKind, ...process.argv.slice(3, 7).map(Number)];
const shape = { cell, vocab: 65, hidden: hidden || 128, layers: layers || 2 };
const B = streams || 50;
const T = seqLength || 50;
const { total } = stackedLayout(shape);
const states = shape.layers * B * shape.hidden;
const params = Float32Array.from({ length: total }, () => (Math.random() - 0.5) * 0.1);
const model = new addon.StackedModel({ ...shape, streams: B, seqLength: T, params, grads: new Float32Array(total), h: new Float32Array(states), c: new Float32Array(states) });
const symbols = () => Int32Array.from({ length: T * B }, () => Math.floor(Math.random() * shape.vocab));
const [x, y] = [symbols(), symbols()];
const adam = { kind: 'adam' as const, eta: 2e-3, epsilon: 1e-8, clip: 5, decay: 0, beta1: 0.9, beta2: 0.999 };
const [second, first] = [new Float32Array(total), new Float32Array(total)];
let step = 0;
const update = (dropout: number) => {
  model.forwardBackward(x, y, true, dropout, 1, step);
  model.optimize(adam, second, first, ++step);
};
for (const dropout of [0, 0.5]) {
  for (let i = 0; i < 5; i++) update(dropout);
  const n = 100;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) update(dropout);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = n / seconds;
  console.log(`${cell} ${shape.layers}×${shape.hidden}, B = ${B}, T = ${T}, dropout ${dropout}: ${rate.toFixed(1)} updates/s = ${Math.round(rate * B * T)} chars/s`);
}
