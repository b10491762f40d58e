// rnn-native score: a text read forward from a zero state, in pieces, scored as the validation
// pass scores the held-out part. Budget: 15 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib';
import { createModelBackend } from '../lib/engine/backend';
import { modelShape } from '../lib/engine/engine';
import { Vocabulary } from '../lib/text/vocabulary';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

describe('score', function () {
  this.timeout(15000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-score-'));
  const textFile = path.join(dir, 'text.txt');
  const text = generatedText(40_000);
  writeFileSync(textFile, text);
  const out = path.join(dir, 'run');

  before(() => {
    const trained = run(['train', '--data', textFile, '--hidden', '16', '--steps', '200', '--val-fraction', '0.1', '--eval-every', '100', '--sample-every', '0', '--quiet', '--out', out]);
    assert.strictEqual(trained.status, 0, trained.stderr);
  });

  it("the run's held-out part scores exactly the run's last validation loss (native, the run's backend), within 1e-6 on ts and wasm", () => {
    const characters = Array.from(text);
    const held = characters.slice(characters.length - Math.floor(0.1 * characters.length)).join('');
    const heldFile = path.join(dir, 'held.txt');
    writeFileSync(heldFile, held);
    const valLoss = Number(readFileSync(path.join(out, 'val.csv'), 'utf8').trim().split('\n').pop()!.split(',')[2]);
    const scored = (backend: string) => {
      const result = run(['score', '--model', out, '--data', heldFile, '--json', '--backend', backend]);
      assert.strictEqual(result.status, 0, result.stderr);
      return JSON.parse(result.stdout);
    };
    const native = scored('native');
    assert.strictEqual(native.natsPerCharacter, valLoss);
    assert.strictEqual(native.characters, Array.from(held).length);
    assert.strictEqual(native.bitsPerCharacter, valLoss / Math.LN2);
    for (const backend of ['ts', 'wasm']) assert.ok(Math.abs(scored(backend).natsPerCharacter - valLoss) < 1e-6, backend);
  });

  it('a text of many pieces (over 65,536 characters) scores as the whole text read at once', () => {
    const long = generatedText(150_000).replace(/[^\n -~]/g, ' ');
    const longFile = path.join(dir, 'long.txt');
    writeFileSync(longFile, long);
    const result = run(['score', '--model', path.join(out, 'best.safetensors'), '--data', longFile, '--json', '--backend', 'ts']);
    assert.strictEqual(result.status, 0, result.stderr);
    const { training } = readCheckpoint(path.join(out, 'best.safetensors'));
    const vocab = new Vocabulary(training.vocabulary);
    const model = createModelBackend('ts', modelShape(training.config, vocab.size), 1, 1, Float64Array.from(training.params), false);
    assert.strictEqual(JSON.parse(result.stdout).natsPerCharacter, model.validationLoss(vocab.encode(long)));
  });

  it('prints one line in words; refuses in one line a character the model does not know, a text too short, and missing options', () => {
    const plain = run(['score', '--model', out, '--data', textFile]);
    assert.strictEqual(plain.status, 0, plain.stderr);
    const predicted = Array.from(text).length - 1;
    assert.match(plain.stdout, new RegExp(`^.*text\\.txt: \\d\\.\\d{4} nats \\(\\d\\.\\d{4} bits\\) per character, ${predicted} characters predicted from a zero state \\(.*best\\.safetensors, step 200\\)\\n$`));
    const refused = (args: string[], message: RegExp) => {
      const result = run(['score', ...args]);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, message);
    };
    const unknown = path.join(dir, 'unknown.txt');
    writeFileSync(unknown, 'the € sign');
    refused(['--model', out, '--data', unknown], /unknown\.txt: character 4 "€" \(U\+20AC\) is not one of the model's \d+ characters: the model cannot score it/);
    const one = path.join(dir, 'one.txt');
    writeFileSync(one, Array.from(text)[0]);
    refused(['--model', out, '--data', one], /one\.txt: one character: scoring needs at least two/);
    refused(['--model', out], /--data is required/);
    refused(['--data', textFile], /--model is required/);
    refused(['--model', path.join(dir, 'nope'), '--data', textFile], /nope/);
  });
});
