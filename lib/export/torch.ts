// The torch export: the state_dict of a module holding rnn = torch.nn.RNN|LSTM|GRU and
// decoder = torch.nn.Linear, in safetensors (F32), its config, and a Python loader needing only torch.
import { readFileSync } from 'fs';
import path from 'path';
import { CellKind, GATES } from '../model/reference';
import { encodeSafetensors, Tensor } from '../run/safetensors';
import { PACKAGE_ROOT, VERSION } from '../util/package';
import { shellWord } from '../util/shell';
import { ExportedModel, ExportFormat, namedWeights } from './exported-model';

const TORCH_FORMAT_NAME = 'rnn-native-torch';
const TORCH_FORMAT_VERSION = 1;

/** The loader users copy; written into every export as it is. */
const LOADER = path.join(PACKAGE_ROOT, 'lib', 'export', 'load_rnn_native.py');

/**
 * For each of PyTorch's gate blocks in turn, the index of our block it copies: lstm ours i, f, o, g,
 * PyTorch's i, f, g, o; gru r, z, n in both.
 */
const TORCH_GATE_ORDER: Record<CellKind, number[]> = { rnn: [0], lstm: [0, 1, 3, 2], gru: [0, 1, 2] };

/** A (G·m × columns) matrix (or G·m bias) with its gate blocks put in PyTorch's order, as float32. */
function torchGateOrder(cell: CellKind, values: Float64Array): Float32Array {
  const block = values.length / GATES[cell]; // m rows (of all columns)
  const out = new Float32Array(values.length);
  TORCH_GATE_ORDER[cell].forEach((ours, at) => out.set(values.subarray(ours * block, (ours + 1) * block), at * block));
  return out;
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'F32', shape, data });

/**
 * The state_dict. Our one bias per gate goes into bias_ih and bias_hh is zero: for gru's n gate
 * PyTorch's b_hn sits inside r⊙(W_hn h + b_hn), while our b_n is added outside it, with Wx_n x.
 */
export function torchStateDict(model: ExportedModel): Record<string, Tensor> {
  const { cell, vocab: K, hidden: m, layers } = model.shape;
  const G = GATES[cell];
  const w = namedWeights(model);
  const tensors: Record<string, Tensor> = {};
  for (let l = 0; l < layers; l++) {
    tensors[`rnn.weight_ih_l${l}`] = f32([G * m, l === 0 ? K : m], torchGateOrder(cell, w[`layers.${l}.Wx`]));
    tensors[`rnn.weight_hh_l${l}`] = f32([G * m, m], torchGateOrder(cell, w[`layers.${l}.Wh`]));
    tensors[`rnn.bias_ih_l${l}`] = f32([G * m], torchGateOrder(cell, w[`layers.${l}.b`]));
    tensors[`rnn.bias_hh_l${l}`] = f32([G * m], new Float32Array(G * m));
  }
  tensors['decoder.weight'] = f32([K, m], Float32Array.from(w.V));
  tensors['decoder.bias'] = f32([K], Float32Array.from(w.c));
  return tensors;
}

/** What load_rnn_native.py builds the module from. */
function torchConfig(model: ExportedModel): string {
  const { cell, vocab, hidden, layers } = model.shape;
  const config = {
    format: TORCH_FORMAT_NAME,
    format_version: TORCH_FORMAT_VERSION,
    cell,
    ...(cell === 'rnn' ? { nonlinearity: 'tanh' } : {}),
    layers,
    hidden,
    vocabulary: model.vocabulary,
    input: { encoding: 'one-hot', size: vocab, batch_first: false },
    created_by: `rnn-native ${VERSION}`,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export const TORCH_FORMAT: ExportFormat = {
  help: 'a PyTorch state_dict (model.safetensors), config.json, a loader',
  next: (dir) => `try it (Python with torch): python3 ${shellWord(path.join(dir, 'load_rnn_native.py'))} PRIME`,
  files: (model) => [
    { name: 'model.safetensors', content: encodeSafetensors(torchStateDict(model), { format: 'pt' }) },
    { name: 'config.json', content: torchConfig(model) },
    { name: 'load_rnn_native.py', content: readFileSync(LOADER, 'utf8') },
  ],
};
