// Text from a checkpoint file: the sample command and the report's passage.
import { BackendChoice, BackendSelection, selectBackend } from '../engine/backend';
import { Checkpoint, readCheckpointNoting } from './checkpoint';
import { Vocabulary } from '../text/corpus';
import { UserError } from '../util/errors';
import { BEYOND_FLOAT32, DrawRequest, modelShape, savedModelSampler } from '../engine/engine';
import { beamSearch } from '../engine/beam';
import { createModelBackend } from '../engine/model-backend';
import { Rng } from '../util/random';
import { samplePieces } from '../engine/sampling';

export interface CheckpointSampleOptions {
  /** Text that warms up the hidden state from h = 0; the output starts with it. */
  prime?: string;
  length: number;
  /** 0 takes the argmax at every step. */
  temperature: number;
  seed: number;
  backend?: BackendChoice;
  /** Characters per piece (default SAMPLE_CHUNK). */
  chunk?: number;
  /** The rules beyond the temperature (lib/model/sampling-rules.ts). */
  rules?: DrawRequest['rules'];
  /** Ends the drawn text at the first occurrence of this (included; the prime is not searched). */
  stop?: string;
}

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
  if (!Number.isSafeInteger(options.seed)) throw new UserError(`seed must be an integer, got ${options.seed}`);
  const { checkpoint, vocab, selection } = savedModel(file, options.backend);
  const { training } = checkpoint;
  const prime = primeOf(vocab, options.prime);
  const backend = savedModelSampler(training.config, vocab.size, training.params, selection.name);
  const request = { prime, length: options.length, temperature: options.temperature, rng: Rng.fromSeed(options.seed), rules: options.rules };
  const all = samplePieces(backend, vocab, request, options.chunk);
  const drawn = options.stop ? untilStop(all, options.stop) : all;
  return { checkpoint, backend: selection, pieces: options.prime === undefined ? drawn : prefixed(options.prime, drawn) };
}

/** The pieces up to and including the first occurrence of `stop`; no piece is drawn after it. */
function* untilStop(pieces: Iterable<string>, stop: string): Iterable<string> {
  let tail = '';
  for (const piece of pieces) {
    const at = (tail + piece).indexOf(stop);
    if (at >= 0) {
      yield piece.slice(0, at + stop.length - tail.length);
      return;
    }
    yield piece;
    tail = (tail + piece).slice(-(stop.length - 1) || Infinity);
  }
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
  const { training } = checkpoint;
  const prime = primeOf(vocab, options.prime);
  const model = createModelBackend(selection.name, modelShape(training.config, vocab.size), 1, 1, Float64Array.from(training.params), false).nextSymbols();
  const zeros = new Float64Array(training.config.layers * training.config.hidden);
  const start = model.start({ h: zeros, c: zeros }, prime);
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

/** The prime's symbols, or else a newline (when the model knows it). */
function primeOf(vocab: Vocabulary, prime: string | undefined): Int32Array {
  return prime !== undefined ? vocab.encode(prime) : Int32Array.of(defaultStart(vocab));
}

function* prefixed(first: string, rest: Iterable<string>): Iterable<string> {
  yield first;
  yield* rest;
}

/** Without a prime, a fresh line: the first input is "\n" when the model knows it. */
function defaultStart(vocab: Vocabulary): number {
  return Math.max(0, vocab.indexOf('\n'.codePointAt(0)!));
}
