// Text from a checkpoint file: the sample command and the report's passage.
import { BackendChoice, BackendSelection, createModelBackend, selectBackend } from '../engine/backend';
import { Checkpoint, readCheckpointNoting } from './checkpoint';
import { Vocabulary } from '../text/vocabulary';
import { UserError } from '../util/errors';
import { BEYOND_FLOAT32, modelShape } from '../engine/engine';
import { beamSearch } from '../engine/beam';
import { drawnText, primeOf, TextRequest } from '../engine/sampling';
import { ModelBackend, NextSymbolModel, StreamState } from '../engine/model-backend';

export type CheckpointSampleOptions = TextRequest & { backend?: BackendChoice };

export interface CheckpointSample {
  checkpoint: Checkpoint;
  /** The backend that samples, and why it is not the native one if 'auto' fell back. */
  backend: BackendSelection;
  /** The prime (when given), then the drawn text, in pieces. */
  pieces: Iterable<string>;
}

/**
 * Text from a checkpoint file, as `rnn-native sample` writes it: from h = 0, warmed up by the
 * prime, or else with a newline as the first input (when the model knows it). Everything is
 * checked (the prime's characters included) before anything is drawn.
 */
export function sampleCheckpoint(file: string, options: CheckpointSampleOptions): CheckpointSample {
  const { checkpoint, vocab, selection } = savedModel(file, options.backend);
  return { checkpoint, backend: selection, pieces: drawnText(savedBackend(checkpoint, vocab, selection), vocab, options) };
}

export interface BeamOptions {
  prime?: string;
  length: number;
  width: number;
  /** The best `count` beams (≤ width). */
  count: number;
  backend?: BackendChoice;
}

/** The most likely continuations of a checkpoint's model (beam search): each text (the prime first, when given) and its log-probability. */
export function beamCheckpoint(file: string, options: BeamOptions): { checkpoint: Checkpoint; backend: BackendSelection; beams: { text: string; logProb: number }[] } {
  const { checkpoint, vocab, selection } = savedModel(file, options.backend);
  const prime = primeOf(vocab, options.prime);
  const { model, start } = primedNextSymbols(savedBackend(checkpoint, vocab, selection), prime);
  const beams = beamSearch(model, start, prime[prime.length - 1], options.length, options.width, options.count);
  return { checkpoint, backend: selection, beams: beams.map((beam) => ({ text: (options.prime ?? '') + vocab.decode(beam.symbols), logProb: beam.logProb })) };
}

/**
 * A checkpoint's model for sample, beam search and score: the file read, its vocabulary and the
 * backend; a ts model beyond float32's range is refused on native and wasm.
 */
export function savedModel(file: string, backend: BackendChoice = 'auto'): { checkpoint: Checkpoint; vocab: Vocabulary; selection: BackendSelection } {
  const checkpoint = readCheckpointNoting(file);
  const selection = selectBackend(backend);
  if (selection.name !== 'ts' && !Float32Array.from(checkpoint.training.params).every(Number.isFinite)) throw new UserError(`${file}: ${BEYOND_FLOAT32.replace('saved state', 'model')}`);
  return { checkpoint, vocab: new Vocabulary(checkpoint.training.vocabulary), selection };
}

/** The backend of a saved model, for one stream (sampling, beam search, scoring). */
export function savedBackend(checkpoint: Checkpoint, vocab: Vocabulary, selection: BackendSelection): ModelBackend {
  const { training } = checkpoint;
  return createModelBackend(selection.name, modelShape(training.config, vocab.size), 1, 1, Float64Array.from(training.params), false);
}

/** A model's next-symbol log-probabilities, and the state of the zero state moved on by the prime but its last symbol (the first input). */
export function primedNextSymbols(backend: ModelBackend, prime: Int32Array): { model: NextSymbolModel; start: StreamState } {
  const model = backend.nextSymbols();
  const zeros = new Float64Array(backend.shape.layers * backend.shape.hidden);
  return { model, start: model.start({ h: zeros, c: zeros }, prime) };
}
