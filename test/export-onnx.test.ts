// The onnx export run in onnxruntime: its logits and states are the float64 reference's within
// 1e-5, for every cell and 1 to 3 layers, over a whole text at once, over two streams carried from
// one block to the next, and as the CLI writes it from a trained run. Budget: 30 s.
import assert from 'assert';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import * as ort from 'onnxruntime-node';
import { readCheckpoint } from '../lib';
import { CellKind, ModelState, nextLogits, parameterTable, zeroState } from '../lib/model/reference';
import { ExportedModel, exportedModel } from '../lib/export/exported-model';
import { ONNX_CONFIG_FORMAT, ONNX_FORMAT, ONNX_OPSET } from '../lib/export/onnx';
import { Rng } from '../lib/util/random';
import { modelCheckpoint } from '../lib/run/run-dir';
import { exportedRun, generatedText } from './helpers';


/** onnxruntime computes in float32 on the float32 weights; the reference in float64. */
const TOLERANCE = 1e-5;
const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];
// σ 0.3 at m 16: big enough that every weight matters, small enough that the rnn is not chaotic
// (at m 32 a 1e-7 change of its state grows to 1e-4 in the float64 reference alone).
const HIDDEN = 16;
const SIGMA = 0.3;

const text = Array.from(generatedText(3000));
const vocabulary = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
const encode = (characters: string[]) => characters.map((ch) => vocabulary.indexOf(ch));

/** Every weight and bias drawn from N(0, σ²), in float64 (as the ts backend trains): the export rounds them. */
function randomModel(cell: CellKind, layers: number, seed: number): ExportedModel {
  const shape = { cell, vocab: vocabulary.length, hidden: HIDDEN, layers };
  const rng = Rng.fromSeed(seed);
  return { shape, vocabulary, params: Float64Array.from({ length: parameterTable(shape).total }, () => SIGMA * rng.normal()) };
}

/** The reference's logits for a [T][B] block, flat [T, B, K] as the graph's; moves each stream's state on. */
function referenceLogits(model: ExportedModel, states: ModelState[], block: number[][]): Float64Array {
  const K = model.shape.vocab;
  const out = new Float64Array(block.length * states.length * K);
  block.forEach((row, t) => row.forEach((symbol, b) => out.set(nextLogits(model.shape, model.params, states[b], symbol), (t * row.length + b) * K)));
  return out;
}

/** The reference's states laid out as the graph's [L, B, m]. */
function stackedStates(model: ExportedModel, states: ModelState[], which: 'h' | 'c'): Float64Array {
  const { layers, hidden } = model.shape;
  const out = new Float64Array(layers * states.length * hidden);
  for (let l = 0; l < layers; l++) states.forEach((state, b) => out.set(state[which][l][0], (l * states.length + b) * hidden));
  return out;
}

async function session(model: ExportedModel): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(ONNX_FORMAT.files(model).find((f) => f.name === 'model.onnx')!.content as Uint8Array);
}

/** Runs the graph on a [T][B] block from the states h0 (and c0), [L, B, m] (zero when not given). */
async function runGraph(graph: ort.InferenceSession, model: ExportedModel, block: number[][], h0?: Float32Array, c0?: Float32Array) {
  const { layers, hidden, cell } = model.shape;
  const B = block[0].length;
  const state = (given?: Float32Array) => new ort.Tensor('float32', given ?? new Float32Array(layers * B * hidden), [layers, B, hidden]);
  const feeds: Record<string, ort.Tensor> = { symbols: new ort.Tensor('int64', BigInt64Array.from(block.flat(), BigInt), [block.length, B]), h0: state(h0) };
  if (cell === 'lstm') feeds.c0 = state(c0);
  const out = await graph.run(feeds);
  const data = (name: string) => (out[name] ? (out[name].data as Float32Array) : undefined);
  return { logits: data('logits')!, h: data('h')!, c: data('c'), dims: out.logits.dims };
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return Number.isNaN(max) ? Infinity : max;
}

/** How far a 1e-7 change of the initial states moves the reference's logits over the block: the comparison is only fair where this is small. */
function sensitivity(model: ExportedModel, block: number[][]): number {
  const nudged = zeroState(model.shape, 1);
  for (const layer of [...nudged.h, ...nudged.c]) layer[0].fill(1e-7);
  return maxDifference(referenceLogits(model, [zeroState(model.shape, 1)], block), referenceLogits(model, [nudged], block));
}

describe('onnx export', function () {
  this.timeout(30000);
  const worst: Record<string, number> = {};
  const record = (cell: CellKind, difference: number) => (worst[cell] = Math.max(worst[cell] ?? 0, difference));
  after(() => console.log(`      max |Δ| logits and states: ${CELLS.map((cell) => `${cell} ${worst[cell]?.toExponential(1)}`).join(', ')}`));

  for (const cell of CELLS) {
    for (const layers of [1, 2, 3]) {
      it(`${cell}, ${layers} layer${layers > 1 ? 's' : ''}: the logits of a 400-symbol text (T 400, B 1) from a zero state, and the final states`, async () => {
        const model = randomModel(cell, layers, 10 * layers + CELLS.indexOf(cell));
        const block = encode(text.slice(0, 400)).map((symbol) => [symbol]);
        assert.ok(sensitivity(model, block) < 1e-6, 'the test model is chaotic: no float32 run can follow the reference');
        const states = [zeroState(model.shape, 1)];
        const expected = referenceLogits(model, states, block);
        const got = await runGraph(await session(model), model, block);
        assert.deepStrictEqual(got.dims, [400, 1, vocabulary.length]);
        const differences = [maxDifference(got.logits, expected), maxDifference(got.h, stackedStates(model, states, 'h'))];
        if (cell === 'lstm') differences.push(maxDifference(got.c!, stackedStates(model, states, 'c')));
        record(cell, Math.max(...differences));
        differences.forEach((difference) => assert.ok(difference <= TOLERANCE, `max |Δ| ${difference} (logits, h, c)`));
      });
    }

    it(`${cell}, 2 layers: two streams (B 2) read in two blocks, the second from the states the first returned`, async () => {
      const model = randomModel(cell, 2, 100 + CELLS.indexOf(cell));
      const streams = [encode(text.slice(500, 800)), encode(text.slice(1500, 1800))];
      const block = (from: number, to: number) => Array.from({ length: to - from }, (_, t) => streams.map((symbols) => symbols[from + t]));
      const graph = await session(model);
      const states = [zeroState(model.shape, 1), zeroState(model.shape, 1)];
      const first = await runGraph(graph, model, block(0, 120));
      const differences = [maxDifference(first.logits, referenceLogits(model, states, block(0, 120))), maxDifference(first.h, stackedStates(model, states, 'h'))];
      if (cell === 'lstm') differences.push(maxDifference(first.c!, stackedStates(model, states, 'c')));
      assert.ok(first.h.some((v) => Math.abs(v) > 0.1), 'the carried state is not zero');
      const second = await runGraph(graph, model, block(120, 300), first.h, first.c);
      differences.push(maxDifference(second.logits, referenceLogits(model, states, block(120, 300))));
      record(cell, Math.max(...differences));
      differences.forEach((difference) => assert.ok(difference <= TOLERANCE, `max |Δ| ${difference}`));
    });
  }

  it('the CLI exports a trained run: model.onnx gives its logits, config.json tells the vocabulary, names and shapes', async () => {
    const { runDir, out, stdout } = exportedRun(mkdtempSync(path.join(tmpdir(), 'rnn-export-onnx-')), 'onnx', 60);
    assert.match(stdout, /^wrote onnx export of .*: model\.onnx, config\.json\nthe graph's inputs and outputs, and onnxruntime's use: docs\/export\.md\n$/);

    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    const model = exportedModel(readCheckpoint(modelCheckpoint(runDir).file), runDir);
    assert.deepStrictEqual(
      { ...config, created_by: undefined },
      { ...ONNX_CONFIG_FORMAT, created_by: undefined, model: 'model.onnx', opset: ONNX_OPSET, cell: 'lstm', layers: 2, hidden: 16, vocabulary: model.vocabulary, ...namesAndShapes(model.vocabulary.length) }
    );
    assert.match(config.created_by, /^rnn-native \d+\.\d+\.\d+/);
    const graph = await ort.InferenceSession.create(readFileSync(path.join(out, 'model.onnx')));
    assert.deepStrictEqual([graph.inputNames, graph.outputNames], [['symbols', 'h0', 'c0'], ['logits', 'h', 'c']]);
    const characters = Array.from(generatedText(20_000)).slice(-300);
    const block = characters.map((ch) => [config.vocabulary.indexOf(ch)]);
    const got = await runGraph(graph, model, block);
    const difference = maxDifference(got.logits, referenceLogits(model, [zeroState(model.shape, 1)], block));
    record('lstm', difference);
    assert.ok(difference <= TOLERANCE, `max |Δ| ${difference}`);
  });
});

/** config.json's inputs and outputs of a 2-layer lstm of 16 units. */
function namesAndShapes(K: number) {
  const state = [2, 'B', 16];
  return {
    inputs: [{ name: 'symbols', type: 'int64', shape: ['T', 'B'] }, { name: 'h0', type: 'float32', shape: state }, { name: 'c0', type: 'float32', shape: state }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['T', 'B', K] }, { name: 'h', type: 'float32', shape: state }, { name: 'c', type: 'float32', shape: state }],
  };
}
