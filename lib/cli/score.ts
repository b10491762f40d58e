// rnn-native score: how well a model predicts a text, in nats and bits per character.
import { BackendChoice } from '../engine/backend';
import { UserError } from '../util/errors';
import { optionHelp, parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { note, printLine, warn } from '../util/output';
import { modelCheckpoint } from '../run/run-dir';
import { scoreCheckpoint } from '../run/score-checkpoint';

const OPTIONS = {
  model: { kind: 'string', help: 'a checkpoint (.safetensors), or a run directory (its best.safetensors)' },
  data: { kind: 'string', help: 'the UTF-8 text to score (read in pieces: any size)' },
  backend: { kind: 'choice', choices: ['auto', 'native', 'wasm', 'ts'], help: 'native, wasm, ts, or auto (default)' },
  json: { kind: 'flag', help: 'one JSON object: characters, nats, natsPerCharacter, bitsPerCharacter, model, data' },
} satisfies OptionSpecs;

export async function scoreCommand(argv: string[]): Promise<number> {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(
      `usage: rnn-native score --model FILE|DIR --data FILE [options]\n\n` +
        `reads the text forward from a zero state, each character predicted from those before it, as the\n` +
        `validation loss is measured\n\n${optionHelp(OPTIONS)}`
    );
    return 0;
  }
  if (o.model === undefined) throw new UserError('--model is required: a checkpoint file or a run directory');
  if (o.data === undefined) throw new UserError('--data is required: the text to score');
  const { file: model, note: fallback } = modelCheckpoint(o.model);
  if (fallback) note(fallback);
  const score = scoreCheckpoint(model, o.data, (o.backend ?? 'auto') as BackendChoice);
  if (score.backend.warning) warn(score.backend.warning);
  const { characters, nats, natsPerCharacter, bitsPerCharacter } = score;
  if (o.json) {
    printLine(JSON.stringify({ model, data: o.data, characters, nats, natsPerCharacter, bitsPerCharacter, backend: score.backend.name }));
  } else {
    printLine(`${o.data}: ${natsPerCharacter.toFixed(4)} nats (${bitsPerCharacter.toFixed(4)} bits) per character, ${characters - 1} characters predicted from a zero state (${model}, step ${score.checkpoint.training.step})`);
  }
  return 0;
}
