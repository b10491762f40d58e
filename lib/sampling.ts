// Sampling text: from a trainer (training's samples, Trainer.sample) and from a checkpoint file
// (the sample command and the report's passage), in pieces of bounded size so that any length
// can be streamed.
import { BackendChoice, BackendSelection, selectBackend } from './backend';
import { Checkpoint, readCheckpoint } from './checkpoint';
import { Vocabulary } from './corpus';
import { UserError } from './errors';
import { BEYOND_FLOAT32, DrawRequest, SamplerSource, savedModelSampler } from './engine';
import { Rng } from './random';

/** Symbols drawn per piece: little memory whatever the length, and a stop is answered within a piece (0.1 s on the ts backend at m = 100). */
export const SAMPLE_CHUNK = 1 << 12;

/** A draw of `length` symbols. */
export type SampleRequest = DrawRequest & { length: number };

/** Longest text sampled into one string (as many as `rnn-native sample --length` takes). */
export const MAX_TEXT_LENGTH = 1e8;

export function sampleText(backend: SamplerSource, vocab: Vocabulary, request: SampleRequest): string {
  if (request.length > MAX_TEXT_LENGTH) {
    throw new UserError(`length must be at most ${MAX_TEXT_LENGTH} for a text held in memory, got ${request.length}; rnn-native sample streams longer ones`);
  }
  return Array.from(samplePieces(backend, vocab, request)).join('');
}

/**
 * The text of sampleText, in pieces of at most `chunk` characters (the same text, whatever the
 * chunk). The request is checked and the prime fed at once; the draws happen as pieces are taken.
 */
export function samplePieces(backend: SamplerSource, vocab: Vocabulary, request: SampleRequest, chunk = SAMPLE_CHUNK): Iterable<string> {
  const { length, temperature, prime } = request;
  if (!(temperature >= 0 && Number.isFinite(temperature))) {
    throw new UserError(`temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) throw new UserError(`length must be a non-negative integer, got ${length}`);
  if (prime.length === 0) throw new UserError('sampling needs at least one symbol to start from');
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new UserError(`chunk must be a positive integer, got ${chunk}`);
  const draw = backend.sampler(request);
  return (function* () {
    for (let left = length; left > 0; left -= chunk) yield vocab.decode(draw(Math.min(chunk, left)));
  })();
}

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
  const checkpoint = readCheckpoint(file);
  const { training } = checkpoint;
  const vocab = new Vocabulary(training.vocabulary);
  const prime = options.prime !== undefined ? vocab.encode(options.prime) : Int32Array.of(defaultStart(vocab));
  const selection = selectBackend(options.backend ?? 'auto');
  if (selection.name !== 'ts' && !Float32Array.from(training.params).every(Number.isFinite)) throw new UserError(`${file}: ${BEYOND_FLOAT32.replace('saved state', 'model')}`);
  const backend = savedModelSampler(training.config, vocab.size, training.params, selection.name);
  const request = { prime, length: options.length, temperature: options.temperature, rng: Rng.fromSeed(options.seed) };
  const drawn = samplePieces(backend, vocab, request, options.chunk);
  const pieces = options.prime === undefined ? drawn : prefixed(options.prime, drawn);
  return { checkpoint, backend: selection, pieces };
}

function* prefixed(first: string, rest: Iterable<string>): Iterable<string> {
  yield first;
  yield* rest;
}

/** Without a prime, a fresh line: the first input is "\n" when the model knows it. */
function defaultStart(vocab: Vocabulary): number {
  return Math.max(0, vocab.indexOf('\n'.codePointAt(0)!));
}
