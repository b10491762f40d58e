// The version-1 names of the DD2424 configuration (cell rnn, 1 layer, 1 stream, AdaGrad): the
// parameter table U, W, V, b, c of min-char-rnn and of version-1 checkpoints. The model's one
// table (lib/model/reference.ts parameterTable) holds the same tensors as layers.0.Wx,
// layers.0.Wh, V, layers.0.b, c; a run that started from a version-1 file keeps writing these names.
// Shape legend: m hidden units, K vocabulary size; each tensor row-major, in this order.
import { ModelConfig } from './config';
import { UserError } from '../util/errors';

const PARAMETER_TABLE = [
  { name: 'U', shape: (m: number, K: number) => [m, K], init: 'normal', role: 'input to hidden', tableName: 'layers.0.Wx' },
  { name: 'W', shape: (m: number) => [m, m], init: 'normal', role: 'hidden to hidden', tableName: 'layers.0.Wh' },
  { name: 'V', shape: (m: number, K: number) => [K, m], init: 'normal', role: 'hidden to output', tableName: 'V' },
  { name: 'b', shape: (m: number) => [m], init: 'zero', role: 'hidden bias', tableName: 'layers.0.b' },
  { name: 'c', shape: (_m: number, K: number) => [K], init: 'zero', role: 'output bias', tableName: 'c' },
] as const;

export type ParameterName = (typeof PARAMETER_TABLE)[number]['name'];
export const PARAMETER_NAMES: readonly ParameterName[] = PARAMETER_TABLE.map((p) => p.name);

/** Each version-1 name's tensor in the model's one table. */
export const VERSION1_TABLE_NAMES: Readonly<Record<ParameterName, string>> = Object.freeze(
  Object.fromEntries(PARAMETER_TABLE.map((p) => [p.name, p.tableName])) as Record<ParameterName, string>
);

export interface ParameterEntry {
  readonly name: ParameterName;
  readonly shape: readonly number[];
  /** 'normal': drawn from N(0, σ²); 'zero': zeros. */
  readonly init: 'normal' | 'zero';
  /** Where it lives in a version-1 file's flat order U | W | V | b | c. */
  readonly offset: number;
  readonly length: number;
}

export interface Layout {
  readonly hidden: number;
  readonly vocab: number;
  readonly total: number;
  /** The parameter table for these sizes, in order. */
  readonly parameters: readonly ParameterEntry[];
  /** [offset, length] of each parameter in the flat U | W | V | b | c array. */
  readonly slices: Readonly<Record<ParameterName, readonly [number, number]>>;
}

export function makeLayout(hidden: number, vocab: number): Layout {
  let offset = 0;
  const parameters = PARAMETER_TABLE.map(({ name, shape, init }): ParameterEntry => {
    const dims = shape(hidden, vocab);
    const length = dims.reduce((a, b) => a * b, 1);
    const entry = { name, shape: dims, init, offset, length };
    offset += length;
    return entry;
  });
  const slices = Object.fromEntries(parameters.map((p) => [p.name, [p.offset, p.length] as const])) as Layout['slices'];
  return { hidden, vocab, total: offset, parameters, slices };
}

/** Whether a model has version-1 names: the DD2424 configuration (cell rnn, 1 layer, 1 stream, no dropout, AdaGrad without decay). */
export function hasVersion1Names(c: ModelConfig): boolean {
  return c.cell === 'rnn' && c.layers === 1 && c.batch === 1 && c.dropout === 0 && c.optimizer === 'adagrad' && c.lrDecay === 1;
}

/** The version-1 table of a model that has one; a UserError for any other. */
export function version1Layout(c: ModelConfig, vocab: number): Layout {
  if (!hasVersion1Names(c)) throw new UserError('only the DD2424 configuration (cell rnn, 1 layer, batch 1, adagrad) has the version-1 table U, W, V, b, c: use parameters(), parameterShapes() or snapshot()');
  return makeLayout(c.hidden, vocab);
}
