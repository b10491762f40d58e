// The model file of a web export, model.safetensors: the weights in float32 under the names of
// lib/model/reference.ts's parameter table, and the model's shape and vocabulary in the metadata.
// Reading it needs no Node APIs (the browser module does).
import { CellKind, GATES, ModelShape, parameterTable } from '../model/reference';
import { decodeSafetensors, encodeSafetensors, Tensor } from '../run/safetensors';
import { Vocabulary } from '../text/vocabulary';
import { UserError } from '../util/errors';
import { LIMITS } from '../model/limits';
import { ExportedModel } from './exported-model';

export const WEB_MODEL_FORMAT = 'rnn-native-web-model';
const WEB_MODEL_VERSION = '1';

/** What a page can show of a model. */
export interface WebModelInfo {
  cell: CellKind;
  layers: number;
  hidden: number;
  /** The symbols (one character each), in id order. */
  vocabulary: readonly string[];
}

export function encodeWebModel(model: ExportedModel): Uint8Array {
  const { cell, layers, hidden } = model.shape;
  const tensors: Record<string, Tensor> = {};
  for (const p of parameterTable(model.shape).parameters) {
    tensors[p.name] = { dtype: 'F32', shape: p.shape, data: Float32Array.from(model.params.subarray(p.offset, p.offset + p.length)) };
  }
  const metadata = { format: WEB_MODEL_FORMAT, format_version: WEB_MODEL_VERSION, cell, layers: String(layers), hidden: String(hidden), vocabulary: JSON.stringify(model.vocabulary) };
  return encodeSafetensors(tensors, metadata);
}

/** The model of a decoded model.safetensors, checked: its shape, vocabulary and weights (float64 copies, table order). */
export function webModelOf({ tensors, metadata }: ReturnType<typeof decodeSafetensors>): { info: WebModelInfo; shape: ModelShape; params: Float64Array } {
  const refuse: (why: string) => never = (why) => {
    throw new UserError(`not an rnn-native web model: ${why}`);
  };
  if (metadata.format !== WEB_MODEL_FORMAT) refuse(`its format is ${JSON.stringify(metadata.format)}`);
  if (metadata.format_version !== WEB_MODEL_VERSION) refuse(`version ${metadata.format_version} (this module reads ${WEB_MODEL_VERSION})`);
  const cell = metadata.cell as CellKind;
  if (!Object.hasOwn(GATES, cell)) refuse(`unknown cell ${JSON.stringify(metadata.cell)}`);
  const count = (value: string | undefined, max: number) => (/^[1-9][0-9]{0,8}$/.test(value ?? '') && Number(value) <= max ? Number(value) : undefined);
  const [layers, hidden] = [count(metadata.layers, LIMITS.maxLayers), count(metadata.hidden, LIMITS.maxHidden)];
  if (layers === undefined || hidden === undefined) refuse(`its layers and hidden units must be integers from 1 to ${LIMITS.maxLayers} and ${LIMITS.maxHidden}`);
  let symbols: unknown;
  try {
    symbols = JSON.parse(metadata.vocabulary ?? '');
  } catch {
    refuse('its vocabulary is not JSON');
  }
  const vocabulary = Vocabulary.parse(symbols, 'the web model').symbols;
  const shape = { cell, vocab: vocabulary.length, hidden, layers };
  const table = parameterTable(shape);
  if (table.total > LIMITS.maxParameters) refuse(`its ${table.total} weights are over the limit of ${LIMITS.maxParameters}`);
  const params = new Float64Array(table.total);
  for (const p of table.parameters) {
    const tensor = tensors[p.name];
    if (!tensor || tensor.dtype !== 'F32' || tensor.shape.join() !== p.shape.join()) refuse(`tensor ${p.name} is missing or not F32 ${p.shape.join('×')}`);
    if (!tensor.data.every(Number.isFinite)) refuse(`tensor ${p.name} holds values that are not finite`);
    params.set(tensor.data, p.offset);
  }
  if (Object.keys(tensors).length !== table.parameters.length) refuse('it holds tensors beyond the model');
  return { info: { cell, layers, hidden, vocabulary }, shape, params };
}
