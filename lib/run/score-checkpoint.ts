// How well a saved model predicts a text: the score command. The text is read forward as one
// stream from a zero state, as the validation pass reads the held-out part, in constant memory.
import { BackendChoice, BackendSelection } from '../engine/backend';
import { modelShape } from '../engine/engine';
import { createModelBackend } from '../engine/backend';
import { forEachCodePoint } from '../text/corpus';
import { UserError } from '../util/errors';
import { Checkpoint } from './checkpoint';
import { savedModel } from './sample-checkpoint';

/** Symbols fed to the scorer at a time. */
const PIECE = 1 << 16;

export interface TextScore {
  checkpoint: Checkpoint;
  backend: BackendSelection;
  /** Characters read (each but the first is predicted from those before it). */
  characters: number;
  /** Σ −log p of the predictions, and per prediction in nats and bits. */
  nats: number;
  natsPerCharacter: number;
  bitsPerCharacter: number;
}

/** Scores the UTF-8 file `textFile` with the model of `checkpointFile`; a character the model does not know is refused. */
export function scoreCheckpoint(checkpointFile: string, textFile: string, backendChoice: BackendChoice = 'auto'): TextScore {
  const { checkpoint, vocab, selection: backend } = savedModel(checkpointFile, backendChoice);
  const { training } = checkpoint;
  const model = createModelBackend(backend.name, modelShape(training.config, vocab.size), 1, 1, Float64Array.from(training.params), false);
  const scorer = model.scorer();
  const piece = new Int32Array(PIECE);
  let [filled, characters] = [0, 0];
  forEachCodePoint(textFile, (cp) => {
    const symbol = vocab.indexOf(cp);
    if (symbol < 0) throw unknownCharacter(textFile, cp, characters, vocab.size);
    piece[filled++] = symbol;
    characters++;
    if (filled === PIECE) {
      scorer.feed(piece);
      filled = 0;
    }
  });
  scorer.feed(piece.subarray(0, filled));
  if (characters < 2) throw new UserError(`${textFile}: ${characters === 0 ? 'the text is empty' : 'one character'}: scoring needs at least two (each is predicted from those before it)`);
  const { nats, predictions } = scorer.finish();
  const natsPerCharacter = nats / predictions;
  return { checkpoint, backend, characters, nats, natsPerCharacter, bitsPerCharacter: natsPerCharacter / Math.LN2 };
}

function unknownCharacter(file: string, cp: number, offset: number, vocabSize: number): UserError {
  const shown = cp < 0x20 || cp === 0x7f ? '' : ` "${String.fromCodePoint(cp)}"`;
  return new UserError(
    `${file}: character ${offset}${shown} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) is not one of the model's ${vocabSize} characters: the model cannot score it`
  );
}
