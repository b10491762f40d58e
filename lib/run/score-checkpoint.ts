// How well a saved model predicts a text: the score command. The text is read forward as one
// stream from a zero state, as the validation pass reads the held-out part, in constant memory.
import { BackendChoice, BackendSelection } from '../engine/backend';
import { forEachCodePoint } from '../text/utf8';
import { UserError } from '../util/errors';
import { Checkpoint } from './checkpoint';
import { ModelBackend, TextScorer } from '../engine/model-backend';
import { Vocabulary } from '../text/vocabulary';
import { savedBackend, savedModel } from './sample-checkpoint';

/** Symbols fed to the scorer at a time (it reads windows of its own, whatever the pieces; small, so that the library can pause between them). */
const PIECE = 256;

/** How well a model predicts a text. */
export interface ScoreFigures {
  /** Characters read (each but the first is predicted from those before it). */
  characters: number;
  /** Σ −log p of the predictions, and per prediction in nats and bits. */
  nats: number;
  natsPerCharacter: number;
  bitsPerCharacter: number;
}

export interface TextScore extends ScoreFigures {
  checkpoint: Checkpoint;
  backend: BackendSelection;
}

/** Scores the UTF-8 file `textFile` with the model of `checkpointFile`; a character the model does not know is refused. */
export function scoreCheckpoint(checkpointFile: string, textFile: string, backendChoice: BackendChoice = 'auto'): TextScore {
  const { checkpoint, vocab, selection: backend } = savedModel(checkpointFile, backendChoice);
  const scoring = new CharacterScorer(savedBackend(checkpoint, vocab, backend), vocab, textFile);
  forEachCodePoint(textFile, (cp) => scoring.add(cp));
  return { checkpoint, backend, ...scoring.finish() };
}

/**
 * A text read one character (code point) at a time and fed to the model's scorer in pieces, in
 * constant memory; `source` names the text in a message (a character the model does not know, a
 * text too short to score).
 */
export class CharacterScorer {
  private readonly scorer: TextScorer;
  private readonly piece = new Int32Array(PIECE);
  private filled = 0;
  characters = 0;

  constructor(model: ModelBackend, private readonly vocab: Vocabulary, private readonly source: string) {
    this.scorer = model.scorer();
  }

  add(cp: number): void {
    const symbol = this.vocab.indexOf(cp);
    if (symbol < 0) throw unknownCharacter(this.source, cp, this.characters, this.vocab.size);
    this.piece[this.filled++] = symbol;
    this.characters++;
    if (this.filled === PIECE) {
      this.scorer.feed(this.piece);
      this.filled = 0;
    }
  }

  finish(): ScoreFigures {
    const { characters, source } = this;
    this.scorer.feed(this.piece.subarray(0, this.filled));
    if (characters < 2) throw new UserError(`${source}: ${characters === 0 ? 'the text is empty' : 'one character'}: scoring needs at least two (each is predicted from those before it)`);
    const { nats, predictions } = this.scorer.finish();
    const natsPerCharacter = nats / predictions;
    return { characters, nats, natsPerCharacter, bitsPerCharacter: natsPerCharacter / Math.LN2 };
  }
}

function unknownCharacter(file: string, cp: number, offset: number, vocabSize: number): UserError {
  const shown = cp < 0x20 || cp === 0x7f ? '' : ` "${String.fromCodePoint(cp)}"`;
  return new UserError(
    `${file}: character ${offset}${shown} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) is not one of the model's ${vocabSize} characters: the model cannot score it`
  );
}
