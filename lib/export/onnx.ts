// The onnx export: model.onnx, a standard ONNX graph (one RNN, LSTM or GRU operator a layer, then
// the output layer) that reads a [T, B] block of symbol ids, and config.json, what it holds and
// how to call it. Shapes as in lib/model/reference.ts: K vocabulary, m hidden, L layers, G gates.
import { onnx } from 'onnx-proto';
import { CellKind, GATES, ModelShape } from '../model/reference';
import { UserError } from '../util/errors';
import { VERSION } from '../util/package';
import { ExportedModel, ExportFormat, namedWeights } from './exported-model';

/** The operator set the graph is written for (RNN, LSTM and GRU last changed in 14). */
export const ONNX_OPSET = 14;
/** The protobuf's IR version: 8, ONNX 1.10's, which onnx-proto encodes. */
const IR_VERSION = 8;
/** config.json's format and version: a reader checks these before the rest. */
export const ONNX_CONFIG_FORMAT = { format: 'rnn-native-onnx', format_version: 1 };

const OPERATORS: Record<CellKind, string> = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' };

/** For each of ONNX's gate blocks, ours: ONNX's LSTM is i, o, f, c (ours i, f, o, g); its GRU z, r, h (ours r, z, n). */
const ONNX_GATE_ORDER: Record<CellKind, number[]> = { rnn: [0], lstm: [0, 2, 1, 3], gru: [1, 0, 2] };

/** A graph input or output: its name, element type and shape (strings are dynamic dimensions). */
interface TensorSpec {
  name: string;
  type: 'int64' | 'float32';
  shape: (string | number)[];
}

function onnxInputs(s: ModelShape): TensorSpec[] {
  const state = [s.layers, 'B', s.hidden];
  return [
    { name: 'symbols', type: 'int64', shape: ['T', 'B'] },
    { name: 'h0', type: 'float32', shape: state },
    ...(s.cell === 'lstm' ? [{ name: 'c0', type: 'float32' as const, shape: state }] : []),
  ];
}

function onnxOutputs(s: ModelShape): TensorSpec[] {
  const state = [s.layers, 'B', s.hidden];
  return [
    { name: 'logits', type: 'float32', shape: ['T', 'B', s.vocab] },
    { name: 'h', type: 'float32', shape: state },
    ...(s.cell === 'lstm' ? [{ name: 'c', type: 'float32' as const, shape: state }] : []),
  ];
}

export const ONNX_FORMAT: ExportFormat = {
  help: `an ONNX graph (opset ${ONNX_OPSET}) for onnxruntime: model.onnx, config.json`,
  next: () => "the graph's inputs and outputs, and onnxruntime's use: docs/export.md",
  files: (model) => [
    { name: 'model.onnx', content: onnx.ModelProto.encode(onnxModel(model)).finish() },
    { name: 'config.json', content: `${JSON.stringify(onnxConfig(model), null, 2)}\n` },
  ],
};

function onnxConfig(model: ExportedModel) {
  const { cell, layers, hidden } = model.shape;
  return {
    ...ONNX_CONFIG_FORMAT,
    created_by: `rnn-native ${VERSION}`,
    model: 'model.onnx',
    opset: ONNX_OPSET,
    cell,
    layers,
    hidden,
    vocabulary: model.vocabulary,
    inputs: onnxInputs(model.shape),
    outputs: onnxOutputs(model.shape),
  };
}

function onnxModel(model: ExportedModel): onnx.IModelProto {
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'rnn-native',
    producerVersion: VERSION,
    docString: `rnn-native ${model.shape.cell} ${model.shape.layers}×${model.shape.hidden}, vocabulary ${model.shape.vocab}: symbol ids in, logits out`,
    graph: {
      name: 'rnn-native',
      node: [...inputNodes(model.shape), ...layerNodes(model.shape), ...outputNodes(model.shape)],
      initializer: initializers(model),
      input: onnxInputs(model.shape).map(valueInfo),
      output: onnxOutputs(model.shape).map(valueInfo),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The nodes

/** The state inputs (h0, and c0 for lstm) and outputs (h, c), by the operator's input names. */
const stateNames = (s: ModelShape) => (s.cell === 'lstm' ? ['h', 'c'] : ['h']);

// Layer 0's input is OneHot(symbols) against Wx itself: the product with a one-hot row is exact in
// float32, and the operator keeps its standard form (Gather of Wxᵀ rows would need an identity W).
function inputNodes(s: ModelShape): onnx.INodeProto[] {
  const split = stateNames(s).map((state) =>
    node('Split', [`${state}0`], layerNames(s, (l) => `layers.${l}.${state}0`), { axis: 0 })
  );
  return [node('OneHot', ['symbols', 'onehot.depth', 'onehot.values'], ['layers.0.x']), ...split];
}

/** Per layer: the operator over [T, B, I] and the squeeze of its direction axis, [T, 1, B, m] → [T, B, m]. */
function layerNodes(s: ModelShape): onnx.INodeProto[] {
  return layerNames(s, (l) => l).flatMap((l) => {
    const states = stateNames(s);
    const inputs = [`layers.${l}.x`, `layers.${l}.W`, `layers.${l}.R`, `layers.${l}.B`, '', ...states.map((state) => `layers.${l}.${state}0`)];
    const outputs = [`layers.${l}.y`, ...states.map((state) => `layers.${l}.${state}`)];
    const attributes = { hidden_size: s.hidden, ...(s.cell === 'gru' ? { linear_before_reset: 1 } : {}) };
    return [node(OPERATORS[s.cell], inputs, outputs, attributes), node('Squeeze', [`layers.${l}.y`, 'squeeze.axes'], [`layers.${l + 1}.x`])];
  });
}

/** logits = x_L Vᵀ + c; each state output the layers' states stacked, [L, B, m]. */
function outputNodes(s: ModelShape): onnx.INodeProto[] {
  const top = `layers.${s.layers}.x`;
  const stacked = stateNames(s).map((state) => node('Concat', layerNames(s, (l) => `layers.${l}.${state}`), [state], { axis: 0 }));
  return [node('MatMul', [top, 'output.Vt'], ['output.projected']), node('Add', ['output.projected', 'output.c'], ['logits']), ...stacked];
}

function layerNames<T>(s: ModelShape, name: (l: number) => T): T[] {
  return Array.from({ length: s.layers }, (_, l) => name(l));
}

function node(opType: string, input: string[], output: string[], attributes: Record<string, number> = {}): onnx.INodeProto {
  const attribute = Object.entries(attributes).map(([name, i]) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i }));
  return { opType, name: output[0], input, output, attribute };
}

function valueInfo(spec: TensorSpec): onnx.IValueInfoProto {
  const elemType = spec.type === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT;
  const dim = spec.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name: spec.name, type: { tensorType: { elemType, shape: { dim } } } };
}

// ---------------------------------------------------------------------------------------------
// The weights

function initializers(model: ExportedModel): onnx.ITensorProto[] {
  const s = model.shape;
  const G = GATES[s.cell];
  const m = s.hidden;
  const w = namedWeights(model);
  const layers = layerNames(s, (l) => {
    const inputs = l === 0 ? s.vocab : m;
    // B = [Wb, Rb]: our one bias is added outside the reset gate, so it is Wb; Rb is zero.
    const bias = [...onnxGateOrder(s.cell, w[`layers.${l}.b`], m, 1), ...new Float32Array(G * m)];
    return [
      floatTensor(`layers.${l}.W`, [1, G * m, inputs], onnxGateOrder(s.cell, w[`layers.${l}.Wx`], m, inputs)),
      floatTensor(`layers.${l}.R`, [1, G * m, m], onnxGateOrder(s.cell, w[`layers.${l}.Wh`], m, m)),
      floatTensor(`layers.${l}.B`, [1, 2 * G * m], bias),
    ];
  }).flat();
  return [
    int64Tensor('onehot.depth', [1], [s.vocab]),
    floatTensor('onehot.values', [2], [0, 1]),
    int64Tensor('squeeze.axes', [1], [1]),
    ...layers,
    floatTensor('output.Vt', [m, s.vocab], transposed(w.V, s.vocab, m)),
    floatTensor('output.c', [s.vocab], w.c),
  ];
}

/** A [G·m × columns] matrix (or a G·m bias, columns 1) with its gate blocks of m rows put in ONNX's order. */
function onnxGateOrder(cell: CellKind, matrix: Float64Array, m: number, columns: number): Float64Array {
  const block = m * columns;
  const out = new Float64Array(matrix.length);
  ONNX_GATE_ORDER[cell].forEach((ours, at) => out.set(matrix.subarray(ours * block, (ours + 1) * block), at * block));
  return out;
}

function transposed(matrix: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(matrix.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < columns; j++) out[j * rows + r] = matrix[r * columns + j];
  return out;
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  const floats = Float32Array.from(values);
  if (!floats.every(Number.isFinite)) throw new UserError(`the weight ${name} holds a value that is not finite in float32 (beyond ±3.4e38): it cannot be exported to onnx`);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(floats) };
}

function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}
