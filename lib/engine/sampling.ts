// Sampling text in pieces of bounded size, so that any length can be streamed: from a trainer
// (training's samples, Trainer.sample) and from a checkpoint (lib/run/sample-checkpoint.ts).
import { Vocabulary } from '../text/corpus';
import { UserError } from '../util/errors';
import { DrawRequest, SamplerSource } from './engine';

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
