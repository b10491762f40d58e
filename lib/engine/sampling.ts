// Sampling text in pieces of bounded size, so that any length can be streamed: from a trainer
// (training's samples, Trainer.sample) and from a checkpoint (lib/run/sample-checkpoint.ts).
import { Vocabulary } from '../text/vocabulary';
import { UserError } from '../util/errors';
import { ModelBackend } from './model-backend';
import { Rng } from '../util/random';
import { checkOptions, SEED_SPEC } from '../model/config';
import { SamplingRules } from '../model/sampling-rules';
import { OptionSpecs } from '../util/option-values';

/** What text is drawn with: the prime (all but its last symbol warm the state up; the last is the first input), τ and the generator. */
export interface DrawRequest {
  prime: Int32Array;
  /** 0 takes the argmax at every step. */
  temperature: number;
  rng: Rng;
  /** The rules beyond the temperature (lib/model/sampling-rules.ts); none by default. */
  rules?: Omit<SamplingRules, 'temperature'>;
}

/** Something text can be drawn from: each call of the returned function draws the next `count` symbols. */
export interface SamplerSource {
  sampler(request: DrawRequest): (count: number) => Int32Array;
}

/** Draws from a model's zero state (what a saved model's text starts from). */
export function zeroStateSampler(model: ModelBackend): SamplerSource {
  const zeros = new Float64Array(model.shape.layers * model.shape.hidden);
  return { sampler: (r) => model.sampler({ h: zeros, c: zeros }, r.prime, { ...r.rules, temperature: r.temperature }, r.rng) };
}

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

/** A text drawn from a model's zero state, as `rnn-native sample` and the browser module draw it. */
export interface TextRequest {
  /** Text that warms up the hidden state from h = 0; the output starts with it. */
  prime?: string;
  length: number;
  /** 0 takes the argmax at every step. */
  temperature: number;
  seed: number;
  /** Characters per piece (default SAMPLE_CHUNK). */
  chunk?: number;
  /** The rules beyond the temperature (lib/model/sampling-rules.ts). */
  rules?: DrawRequest['rules'];
  /** Ends the drawn text at the first occurrence of this (included; the prime is not searched). */
  stop?: string;
}

/**
 * The text of a request in pieces: the prime (when given), then the drawn text, from the model's
 * zero state warmed up by the prime, or else with a newline as the first input (when the model
 * knows it). Everything is checked (the prime's characters included) before anything is drawn.
 */
export function drawnText(model: ModelBackend, vocab: Vocabulary, request: TextRequest): Iterable<string> {
  if (!Number.isSafeInteger(request.seed)) throw new UserError(`seed must be an integer, got ${request.seed}`);
  const prime = primeOf(vocab, request.prime);
  if (request.stop) refuseUnknown(vocab, request.stop, 'the stop text');
  const draw = { prime, length: request.length, temperature: request.temperature, rng: Rng.fromSeed(request.seed), rules: request.rules };
  const all = samplePieces(zeroStateSampler(model), vocab, draw, request.chunk);
  const drawn = request.stop ? untilStop(all, request.stop) : all;
  return request.prime === undefined ? drawn : prefixed(request.prime, drawn);
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

/** A text's characters that the model does not know are refused: they could never be drawn. */
function refuseUnknown(vocab: Vocabulary, text: string, what: string): void {
  const unknown = [...new Set(Array.from(text))].filter((ch) => vocab.indexOf(ch.codePointAt(0)!) < 0);
  if (unknown.length > 0) throw new UserError(`${what} holds characters the model never draws: ${unknown.map((ch) => JSON.stringify(ch)).join(', ')}`);
}

/** The prime's symbols, or else a newline (when the model knows it). */
export function primeOf(vocab: Vocabulary, prime: string | undefined): Int32Array {
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

/** What text is drawn with, as a library caller gives it: the options of `rnn-native sample`, with its defaults. */
export interface GenerateOptions {
  /** Text that warms up the state; the output starts with it ('' primes nothing). */
  prime?: string;
  /** Characters to draw (default 1000). */
  length?: number;
  /** 0 takes the most likely character (default 1). */
  temperature?: number;
  /** The same seed gives the same text (default 42). */
  seed?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repetitionWindow?: number;
  /** Ends the text at the first occurrence of this (included; '' ends nothing). */
  stop?: string;
  /** Characters per piece of the stream (the text is the same whatever the piece). */
  chunk?: number;
}

/** GenerateOptions checked as the command line checks its flags: the same ranges and messages. */
const GENERATE_SPECS = {
  prime: { kind: 'string', allowEmpty: true, help: 'text that warms up the state' },
  length: { kind: 'integer', min: 1, max: MAX_TEXT_LENGTH, help: 'characters to draw' },
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax' },
  seed: { ...SEED_SPEC, help: 'seed of the draws' },
  ...RULE_SPECS,
  stop: { kind: 'string', allowEmpty: true, help: 'end at the first occurrence of this' },
  chunk: { kind: 'integer', min: 1, max: MAX_TEXT_LENGTH, help: 'characters per piece' },
} satisfies OptionSpecs;

/** The options as drawnText takes them, with the defaults of `rnn-native sample`; `what` names the caller in a message. */
export function textRequest(options: GenerateOptions, what: string, chunk = SAMPLE_CHUNK): TextRequest {
  const o = checkOptions(options, GENERATE_SPECS, what);
  const rules = { topK: o.topK, topP: o.topP, minP: o.minP, repetitionPenalty: o.repetitionPenalty, repetitionWindow: o.repetitionWindow };
  const given = Object.fromEntries(Object.entries(rules).filter(([, value]) => value !== undefined));
  return {
    prime: o.prime || undefined,
    length: o.length ?? 1000,
    temperature: o.temperature ?? 1,
    seed: o.seed ?? 42,
    rules: given,
    stop: o.stop || undefined,
    chunk: o.chunk ?? chunk,
  };
}

/**
 * The pieces as an async stream that gives the event loop a turn (`turn`: setImmediate in Node, a
 * timer in a page) at least every 25 ms of drawing, so that a server or a page stays responsive.
 */
export async function* streamed(pieces: Iterable<string>, turn: () => Promise<void>): AsyncIterable<string> {
  const pause = pauser(turn);
  for (const piece of pieces) {
    yield piece;
    await pause();
  }
}

/** A function that gives the event loop a turn when 25 ms of work have passed since the last. */
export function pauser(turn: () => Promise<void>): () => Promise<void> {
  let resumed = Date.now();
  return async () => {
    if (Date.now() - resumed < 25) return;
    await turn();
    resumed = Date.now();
  };
}
