// What every export format is made from: a checkpoint's model (its shape, vocabulary and weights)
// and the files a format writes from it.
import { ModelShape, parameterTable } from '../model/reference';
import { Checkpoint } from '../run/checkpoint';
import { modelShape } from '../engine/engine';
import { UserError } from '../util/errors';

export interface ExportedModel {
  shape: ModelShape;
  /** The symbols (one character each), in id order. */
  vocabulary: string[];
  /** The weights, flat in parameterTable's order (layers.l.Wx, layers.l.Wh, layers.l.b, ..., V, c). */
  params: Float64Array;
}

/** A file of an export: its name inside the output directory and its content. */
export interface ExportFile {
  name: string;
  content: Uint8Array | string;
}

/** An export format: the files it makes from a model. */
export interface ExportFormat {
  /** What --help says it writes. */
  help: string;
  files(model: ExportedModel): ExportFile[];
  /** What to do with the files, in a line (the command prints it). */
  next(dir: string): string;
}

/** A checkpoint's model; weights beyond float32's range (a ts run's) are refused: every format holds float32. */
export function exportedModel(checkpoint: Checkpoint, source: string): ExportedModel {
  const { config, vocabulary, params } = checkpoint.training;
  if (!params.every((value) => Number.isFinite(Math.fround(value)))) {
    throw new UserError(`${source}: the model holds weights beyond float32's range (±3.4e38), which no export format can hold`);
  }
  return { shape: modelShape(config, vocabulary.length), vocabulary: [...vocabulary], params: Float64Array.from(params) };
}

/** The weights by name (layers.l.Wx, ..., V, c), views of model.params. */
export function namedWeights(model: ExportedModel): Record<string, Float64Array> {
  return Object.fromEntries(parameterTable(model.shape).parameters.map((p) => [p.name, model.params.subarray(p.offset, p.offset + p.length)]));
}
