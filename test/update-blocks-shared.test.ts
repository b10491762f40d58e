// Model.train on symbols in a SharedArrayBuffer that another thread writes during the call: the
// checks read x once, then the kernel reads it again for every block, for as long as the call
// runs (tens of ms for thousands of updates, where forwardBackward's window is one block). A
// symbol written in between must not index memory outside the model: the process must not crash
// (a refusal, or the symbols copied before they are checked). Runs in a child process, as a crash
// would take mocha with it. Needs dist/ (npm run build:ts). Budget: 5 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import path from 'path';
import { COMPILED_BACKENDS } from './helpers';

const dist = path.join(__dirname, '..', 'dist');

/** The child: a worker writes out-of-vocabulary symbols into the second half of x 2 ms after the call starts. */
const child = (backend: string) => `
const { Worker } = require('worker_threads');
const { loadCompiled } = require(${JSON.stringify(path.join(dist, 'engine', 'native.js'))});
const { parameterTable } = require(${JSON.stringify(path.join(dist, 'model', 'reference.js'))});
const { OPTIMIZER_DEFAULTS } = require(${JSON.stringify(path.join(dist, 'model', 'optimizers.js'))});
const addon = loadCompiled(${JSON.stringify(backend)}).addon;
const shape = { cell: 'rnn', vocab: 50, hidden: 64, layers: 1 };
const P = parameterTable(shape).total, T = 25, blocks = 4000;
const spec = { ...shape, streams: 1, seqLength: T, params: new Float32Array(P).fill(0.01), grads: new Float32Array(P), h: new Float32Array(64), c: new Float32Array(64) };
const model = new addon.Model(spec);
const sab = new SharedArrayBuffer(4 * (blocks * T + 1));
const [flag, x] = [new Int32Array(sab, 0, 1), new Int32Array(sab, 4, blocks * T)];
const y = new Int32Array(blocks * T).fill(1);
const worker = new Worker(\`
  const sab = require('worker_threads').workerData;
  const [flag, x] = [new Int32Array(sab, 0, 1), new Int32Array(sab, 4)];
  while (Atomics.load(flag, 0) === 0) {}
  const t = process.hrtime.bigint();
  while (process.hrtime.bigint() - t < 2000000n) {}
  for (let i = x.length / 2; i < x.length; i++) x[i] = 0x3fffffff;
\`, { eval: true, workerData: sab });
setTimeout(() => {
  Atomics.store(flag, 0, 1);
  try {
    model.train(x, y, new Float64Array(blocks), false, 0, 0, 1, { kind: 'adagrad', ...OPTIMIZER_DEFAULTS.adagrad }, new Float32Array(P), new Float32Array(0));
    console.log('returned');
  } catch (e) {
    console.log(e.constructor.name + ': ' + e.message);
  }
  void worker.terminate();
}, 200);
`;

describe('Model.train: symbols on a SharedArrayBuffer written during the call', function () {
  this.timeout(20000);
  for (const backend of COMPILED_BACKENDS) {
    it(`${backend}: the process survives (a refusal or the numbers of the symbols as checked)`, () => {
      const result = spawnSync(process.execPath, ['-e', child(backend)], { encoding: 'utf8', timeout: 15000 });
      assert.strictEqual(result.signal, null, `the child died by ${result.signal}: ${result.stderr}`);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.match(result.stdout, /^(returned|RangeError: .*outside the vocabulary.*)\n$/);
    });
  }
});
