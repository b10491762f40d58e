// rnn-native sample: text from a checkpoint.
import { existsSync, lstatSync, realpathSync, statSync } from 'fs';
import path from 'path';
import { BackendChoice, createBackend, selectBackend } from '../backend';
import { readCheckpoint } from '../checkpoint';
import { Vocabulary } from '../corpus';
import { UserError } from '../errors';
import { writeFileAtomic } from '../files';
import { makeLayout } from '../layout';
import { optionHelp, OptionSpecs, parseOptions } from '../options';
import { Rng } from '../random';
import { sampleText } from '../trainer';
import { printLine, seedSpec, warn } from './common';

const OPTIONS = {
  model: { kind: 'string', help: 'a checkpoint (.safetensors), or a run directory (its best.safetensors)' },
  length: { kind: 'integer', min: 1, max: 1e8, help: 'characters to generate (default 1000)' },
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax (default 1)' },
  argmax: { kind: 'flag', help: 'always take the most likely character (temperature 0)' },
  prime: { kind: 'string', help: 'text that warms up the hidden state; the output starts with it' },
  seed: { ...seedSpec, help: 'seed of the draws (default 42): same seed, same model, same text' },
  backend: { kind: 'choice', choices: ['auto', 'native', 'ts'], help: 'native, ts, or auto (default)' },
  out: { kind: 'string', help: 'write the text to this file instead of stdout (a new file, unless --force)' },
  force: { kind: 'flag', help: 'let --out replace an existing regular file' },
} satisfies OptionSpecs;

export function sampleCommand(argv: string[]): number {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native sample --model FILE|DIR [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  if (o.model === undefined) throw new UserError('--model is required: a checkpoint file or a run directory');
  if (o.argmax && o.temperature !== undefined) throw new UserError('use either --argmax or --temperature, not both');

  const model = checkpointPath(o.model);
  if (o.out !== undefined) checkOut(o.out, model, o.force ?? false);
  const { training } = readCheckpoint(model);
  const vocab = new Vocabulary(training.vocabulary);
  // The prime's characters are checked before anything is computed.
  const prime = o.prime !== undefined ? vocab.encode(o.prime) : Int32Array.of(defaultStart(vocab));
  const selection = selectBackend((o.backend ?? 'auto') as BackendChoice);
  if (selection.warning) warn(selection.warning);
  const layout = makeLayout(training.config.hidden, vocab.size);
  const backend = createBackend(selection.name, layout, Float64Array.from(training.params));
  const text = sampleText(backend, vocab, {
    state: new Float64Array(layout.hidden),
    prime,
    length: o.length ?? 1000,
    temperature: o.argmax ? 0 : (o.temperature ?? 1),
    rng: Rng.fromSeed(o.seed ?? 42),
  });
  const output = (o.prime ?? '') + text;
  if (o.out !== undefined) writeFileAtomic(o.out, output);
  else process.stdout.write(output + '\n');
  return 0;
}

/** --out never replaces what the user did not ask to replace: the model, a link, a device. */
function checkOut(out: string, model: string, force: boolean): void {
  let stat;
  try {
    stat = lstatSync(out);
  } catch {
    return; // a new file
  }
  if (!stat.isFile()) throw new UserError(`--out ${out}: exists and is not a regular file`);
  if (existsSync(model) && realpathSync(out) === realpathSync(model)) throw new UserError(`--out ${out}: is the model itself`);
  if (!force) throw new UserError(`--out ${out}: exists; add --force to replace it`);
}

/** A run directory stands for its best.safetensors (or latest.safetensors, if no best yet). */
function checkpointPath(model: string): string {
  if (!existsSync(model) || !statSync(model).isDirectory()) return model;
  const best = path.join(model, 'best.safetensors');
  return existsSync(best) ? best : path.join(model, 'latest.safetensors');
}

/** Without --prime, a fresh line: the first input is "\n" when the model knows it. */
function defaultStart(vocab: Vocabulary): number {
  return Math.max(0, vocab.indexOf('\n'.codePointAt(0)!));
}
