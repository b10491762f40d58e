// Sampling text in pieces of bounded size, so that any length can be streamed: from a trainer
// (training's samples, Trainer.sample) and from a checkpoint (lib/run/sample-checkpoint.ts).
import { Vocabulary } from '../text/corpus';
import { UserError } from '../util/errors';
import { DrawRequest, SamplerSource } from './engine';
import { checkOptions } from '../model/config';
import { SamplingRules } from '../model/sampling-rules';
import { OptionSpecs } from '../util/options';

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
  if (request.rules) checkRules(request.rules);
  const draw = backend.sampler(request.rules ? { ...request, rules: withWindow(request.rules) } : request);
  return (function* () {
    for (let left = length; left > 0; left -= chunk) yield vocab.decode(draw(Math.min(chunk, left)));
  })();
}

/** The rules beyond the temperature, by the ranges the kernel's checks use (native/checks.cc). */
export const RULE_SPECS = {
  topK: { kind: 'integer', min: 0, max: 65536, help: 'draw from the K most likely only (0 = all)' },
  topP: { kind: 'number', min: 0, exclusiveMin: true, max: 1, help: 'draw from the smallest most-likely set of this probability (1 = all)' },
  minP: { kind: 'number', min: 0, max: 0.999999, help: 'drop those less likely than this × the most likely (0 = none)' },
  repetitionPenalty: { kind: 'number', min: 0, exclusiveMin: true, max: 1000, help: "each symbol of the window: its logit ÷ X if positive, × X if negative (CTRL's rule; 1 = none)" },
  repetitionWindow: { kind: 'integer', min: 0, max: 1 << 20, help: 'the last N symbols the penalty looks at' },
} satisfies OptionSpecs;

function checkRules(rules: Omit<SamplingRules, 'temperature'>): void {
  checkOptions(rules, RULE_SPECS, 'sampling rules');
}

/** The repetition window when a penalty is given without one. */
export const DEFAULT_REPETITION_WINDOW = 64;

function withWindow(rules: Omit<SamplingRules, 'temperature'>): Omit<SamplingRules, 'temperature'> {
  const penalized = rules.repetitionPenalty !== undefined && rules.repetitionPenalty !== 1;
  return penalized && rules.repetitionWindow === undefined ? { ...rules, repetitionWindow: DEFAULT_REPETITION_WINDOW } : rules;
}
