// A saved model in a Node program: loadModel(run directory or checkpoint) gives text as an async
// iterator of pieces, the score of a text and the next character's distribution. The same
// options give the same numbers as `rnn-native sample` and `rnn-native score`; the event loop
// runs between pieces of work, so a server stays responsive while a long text is drawn.
import { BackendChoice, BackendSelection } from '../engine/backend';
import { BackendName, ModelBackend, StreamState } from '../engine/model-backend';
import { drawnText, GenerateOptions, pauser, primeOf, streamed, textRequest } from '../engine/sampling';
import { checkOptions } from '../model/config';
import { Vocabulary } from '../text/vocabulary';
import { modelCheckpoint } from '../run/run-dir';
import { savedBackend, savedModel } from '../run/sample-checkpoint';
import { CharacterScorer, ScoreFigures } from '../run/score-checkpoint';
import { Checkpoint } from '../run/checkpoint';
import { UserError } from '../util/errors';

export interface ModelInfo {
  cell: 'rnn' | 'lstm' | 'gru';
  layers: number;
  hidden: number;
  /** The characters the model knows, in the order of its symbols. */
  vocabulary: readonly string[];
  /** The update the checkpoint was written at. */
  step: number;
  /** The backend that computes. */
  backend: BackendName;
  /** The checkpoint read: the file given, or a run directory's best.safetensors (else its latest.safetensors). */
  checkpoint: string;
  /** Worth knowing: why not the native backend ('auto' fell back), why latest.safetensors (no best yet). */
  notes: string[];
}

/** One character of the next character's distribution. */
export interface NextCharacter {
  symbol: string;
  probability: number;
  /** ln of the probability, as the model computes it (beam search sums these). */
  logProb: number;
}

export interface LoadedModel {
  readonly info: ModelInfo;
  /**
   * The text as `rnn-native sample` draws it, in pieces (the prime first, when given); the event
   * loop runs between pieces. The options are checked at once: a bad one throws before anything is drawn.
   */
  generate(options?: GenerateOptions): AsyncIterable<string>;
  /** The whole text of generate(). */
  text(options?: GenerateOptions): Promise<string>;
  /** How well the model predicts `text` (read from a zero state): the figures of `rnn-native score`. */
  score(text: string): Promise<ScoreFigures>;
  /**
   * The distribution of the character after `prefix` (read from a zero state): every character of
   * the vocabulary, most likely first, the probabilities summing to 1. An empty prefix gives the
   * first character that `rnn-native sample` draws without --prime (after a newline, when the model knows it).
   */
  next(prefix?: string): Promise<NextCharacter[]>;
}

export interface LoadOptions {
  /** native, wasm, ts, or auto (default: native if it loads, else wasm). */
  backend?: BackendChoice;
}

const LOAD_OPTIONS = {
  backend: { kind: 'choice', choices: ['auto', 'native', 'wasm', 'ts'], help: 'the backend that computes' },
} as const;

/** Characters per piece of generate()'s stream unless the options say otherwise. */
const STREAM_CHUNK = 64;

/** Loads a run directory's model (its best.safetensors, else latest.safetensors) or a checkpoint file. */
export async function loadModel(runOrCheckpoint: string, options: LoadOptions = {}): Promise<LoadedModel> {
  if (typeof runOrCheckpoint !== 'string' || runOrCheckpoint === '') {
    throw new UserError(`loadModel: give the path of a run directory or a checkpoint file, got ${JSON.stringify(runOrCheckpoint) ?? typeof runOrCheckpoint}`);
  }
  checkOptions(options, LOAD_OPTIONS, 'loadModel');
  const { file, note } = modelCheckpoint(runOrCheckpoint);
  const { checkpoint, vocab, selection } = savedModel(file, options.backend);
  const info = modelInfo(checkpoint, selection, file, [selection.warning, note].filter((text): text is string => text !== undefined));
  return new SavedModel(info, vocab, () => savedBackend(checkpoint, vocab, selection));
}

function modelInfo(checkpoint: Checkpoint, selection: BackendSelection, file: string, notes: string[]): ModelInfo {
  const { config, vocabulary, step } = checkpoint.training;
  return { cell: config.cell, layers: config.layers, hidden: config.hidden, vocabulary, step, backend: selection.name, checkpoint: file, notes };
}

class SavedModel implements LoadedModel {
  /** For generate() and next(): their states are their own, the backend's are never changed. */
  private readonly shared: ModelBackend;
  private readonly idleScorers: ModelBackend[] = [];

  constructor(
    readonly info: ModelInfo,
    private readonly vocab: Vocabulary,
    /** A backend of the model: each score() reads with one of its own (a scorer uses its backend's state). */
    private readonly newBackend: () => ModelBackend
  ) {
    this.shared = newBackend();
  }

  generate(options: GenerateOptions = {}): AsyncIterable<string> {
    return streamed(drawnText(this.shared, this.vocab, textRequest(options, 'generate', STREAM_CHUNK)), turn);
  }

  async text(options: GenerateOptions = {}): Promise<string> {
    const pieces: string[] = [];
    for await (const piece of streamed(drawnText(this.shared, this.vocab, textRequest(options, 'text')), turn)) pieces.push(piece);
    return pieces.join('');
  }

  async score(text: string): Promise<ScoreFigures> {
    if (typeof text !== 'string') throw new UserError(`score: the text must be a string, got ${typeof text}`);
    // A scorer reads with its backend's own state: one backend per score running at once, kept for
    // the next (native buffers are freed only when V8 collects, which a small heap seldom does).
    const backend = this.idleScorers.pop() ?? this.newBackend();
    try {
      const scoring = new CharacterScorer(backend, this.vocab, 'score');
      const pause = pauser(turn);
      for (const character of text) {
        scoring.add(character.codePointAt(0)!);
        if (scoring.characters % 256 === 0) await pause();
      }
      return scoring.finish();
    } finally {
      this.idleScorers.push(backend);
    }
  }

  async next(prefix = ''): Promise<NextCharacter[]> {
    if (typeof prefix !== 'string') throw new UserError(`next: the prefix must be a string, got ${typeof prefix}`);
    const prime = primeOf(this.vocab, prefix === '' ? undefined : prefix);
    const model = this.shared.nextSymbols();
    const zeros = new Float64Array(this.info.layers * this.info.hidden);
    // The prefix read in pieces, the event loop running between them: start() feeds all of its
    // symbols but the last, so each piece overlaps the next by one.
    let state: StreamState = model.start({ h: zeros, c: zeros }, prime.subarray(0, 1));
    const pause = pauser(turn);
    for (let at = 0; at + 1 < prime.length; at += NEXT_PIECE) {
      state = model.start(state, prime.subarray(at, Math.min(at + NEXT_PIECE, prime.length - 1) + 1));
      await pause();
    }
    const { logProbs } = model.next(state, prime[prime.length - 1]);
    const all = Array.from(logProbs, (logProb, i) => ({ symbol: this.vocab.symbols[i], probability: Math.exp(logProb), logProb }));
    // Most likely first; equal ones in the order of their symbols (the sort is stable).
    return all.sort((a, b) => b.logProb - a.logProb);
  }
}

/** The pieces, the event loop running between them. */

/** Lets timers and I/O run before the next piece of work. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}


/** Symbols of next()'s prefix between two checks of the time. */
const NEXT_PIECE = 256;
