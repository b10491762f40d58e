// npx ts-node -P tsconfig.json scripts/bench-one-model.ts [--reps N] [--seconds S] [--backend native|wasm] [--hidden M]
// The DD2424 configuration (rnn, 1 layer, 1 stream, no dropout, AdaGrad; m = 100 or M, T = 25) on
// tinyshakespeare, in one run, the legs timed in alternation (this VM drifts ±20 % between runs):
//   model    the model through the public Trainer;
//   calls    the same model's forwardBackward + optimize in a bare loop on one window (no Trainer).
// Prints every repetition's updates/s and the medians. Until native/rnn.cc was deleted a third leg
// timed its own training loop: docs/performance.md has the figures of that comparison.
import os from 'os';
import path from 'path';
import { Corpus, Trainer } from '../lib';
import { CompiledBackend, loadCompiled, NativeAddon } from '../lib/engine/native';
import { OPTIMIZER_DEFAULTS } from '../lib/model/optimizers';
import { parameterTable } from '../lib/model/reference';

const HIDDEN = Number(process.argv.includes('--hidden') ? process.argv[process.argv.indexOf('--hidden') + 1] : 100);
const T = 25;
const ETA = 0.1;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}
const reps = Number(option('reps', '7'));
const seconds = Number(option('seconds', '1'));
const backends = (option('backend', 'native,wasm').split(',') as CompiledBackend[]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A leg: `run(n)` does n updates. */
interface Leg {
  name: string;
  run(n: number): void;
  batch: number;
  rates: number[];
}

/** The model through the Trainer. */
function modelLeg(corpus: Corpus, backend: CompiledBackend): Leg {
  const trainer = new Trainer(corpus, { backend, hidden: HIDDEN, seqLength: T, eta: ETA, seed: 1 });
  return { name: 'model (Trainer)', run: (n) => void trainer.train(n), batch: 1, rates: [] };
}

/** The model's two calls per update on one window, nothing else. */
function callsLeg(addon: NativeAddon, text: Uint8Array | Uint16Array, vocab: number): Leg {
  const shape = { cell: 'rnn' as const, vocab, hidden: HIDDEN, layers: 1 };
  const total = parameterTable(shape).total;
  const params = Float32Array.from({ length: total }, (_, i) => (i % 7) * 0.001 - 0.003);
  const [h, c] = [new Float32Array(HIDDEN), new Float32Array(HIDDEN)];
  const model = new addon.Model({ ...shape, streams: 1, seqLength: T, params, grads: new Float32Array(total), h, c });
  const x = Int32Array.from(text.subarray(0, T));
  const y = Int32Array.from(text.subarray(1, T + 1));
  const [second, first] = [new Float32Array(total), new Float32Array(0)];
  const settings = { ...OPTIMIZER_DEFAULTS.adagrad, kind: 'adagrad' as const, eta: ETA, epsilon: 1e-8, clip: 5 };
  let step = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      model.forwardBackward(x, y, true, 0, 0, 0);
      model.optimize(settings, second, first, ++step);
    }
  };
  return { name: 'model (2 calls, bare)', run, batch: 1, rates: [] };
}

/** Finds a batch that takes ≥ 20 ms, then warms up for 300 ms. */
function warmUp(leg: Leg): void {
  const end = Date.now() + 300;
  while (Date.now() < end) {
    const started = process.hrtime.bigint();
    leg.run(leg.batch);
    if (Number(process.hrtime.bigint() - started) < 20e6) leg.batch *= 2;
  }
}

function timeOnce(leg: Leg): number {
  const started = process.hrtime.bigint();
  let done = 0;
  while (Number(process.hrtime.bigint() - started) / 1e9 < seconds) {
    leg.run(leg.batch);
    done += leg.batch;
  }
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

function bench(corpus: Corpus, backend: CompiledBackend): void {
  const load = loadCompiled(backend);
  if (!load.addon) return console.log(`${backend}: not available (${load.error})`);
  const text = corpus.indices;
  const legs = [modelLeg(corpus, backend), callsLeg(load.addon, text, corpus.vocabSize)];
  legs.forEach(warmUp);
  for (let r = 0; r < reps; r++) for (const leg of legs) leg.rates.push(timeOnce(leg));
  console.log(`\n${backend} (${load.addon.blasInfo()}): updates/s, ${reps} alternating repetitions of ${seconds} s`);
  for (const leg of legs) console.log(`  ${leg.name.padEnd(24)} median ${Math.round(median(leg.rates)).toString().padStart(6)}   [${leg.rates.map(Math.round).join(', ')}]`);
}

const corpus = Corpus.fromFile(path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt'));
console.log(`rnn m = ${HIDDEN}, T = ${T}, B = 1, AdaGrad; K = ${corpus.vocabSize}; ${os.cpus().length} × ${os.cpus()[0].model}; node ${process.version}`);
for (const backend of backends) bench(corpus, backend);
