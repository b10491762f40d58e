// The option table (lib/model/config.ts): the library, the command line, config.json and the
// checkpoint apply one set of rules, with the same messages.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, Trainer, UserError } from '../lib';
import { TRAINING_OPTIONS } from '../lib/model/config';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/run/checkpoint';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

/** The UserError message of f, or a failed assertion when it throws none or another error. */
function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof UserError, `not a UserError: ${(error as Error).stack}`);
    return error.message;
  }
  return assert.fail('no UserError');
}

describe('the option table', () => {
  const corpus = Corpus.fromText(generatedText(2000));
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-config-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, generatedText(5000));

  it('Trainer refuses unknown option names, naming the nearest one', () => {
    assert.match(messageOf(() => new Trainer(corpus, { hiden: 32 } as object)), /unknown option "hiden"; did you mean "hidden"\?/);
    assert.match(messageOf(() => new Trainer(corpus, { learningRate: 0.1 } as object)), /unknown option "learningRate"; the options are hidden, seqLength, eta/);
  });

  const badValues: [string, unknown, string][] = [
    ['hidden', 0, '0'],
    ['hidden', 1.5, '1.5'],
    ['seqLength', 2 ** 21, String(2 ** 21)],
    ['eta', -0.1, '-0.1'],
    ['sigma', 1e4, '1e4'],
    ['epsilon', 2, '2'],
    ['clip', 0, '0'],
    ['seed', 0.5, '0.5'],
    ['backend', 'gpu', 'gpu'],
  ];
  for (const [key, value, cliValue] of badValues) {
    it(`Trainer and train --${key} refuse ${JSON.stringify(value)} with the same rule and wording`, () => {
      const row = TRAINING_OPTIONS.find((r) => r.key === key)!;
      const library = messageOf(() => new Trainer(corpus, { [key]: value }));
      const result = run(['train', '--data', text, `--${row.flag}=${cliValue}`, '--steps', '1']);
      assert.strictEqual(result.status, 2, result.stderr);
      const fromCli = result.stderr.trim().replace(/^rnn-native: /, '');
      const rule = (message: string) => message.replace(/^.*? must be (.*), got .*$/, '$1');
      assert.strictEqual(rule(library), rule(fromCli), `${library} / ${fromCli}`);
      assert.ok(library.startsWith(`${key} must be `), library);
      assert.ok(fromCli.startsWith(`--${row.flag} must be `), fromCli);
    });
  }

  it('Trainer refuses values of the wrong type', () => {
    assert.match(messageOf(() => new Trainer(corpus, { hidden: '100' as unknown as number })), /^hidden must be an integer from 1 to 8192, got "100"$/);
  });

  it('train --help lists every row with its default', () => {
    const help = run(['train', '--help']).stdout;
    // A flag too long for its column has its help on the next line.
    for (const row of TRAINING_OPTIONS) {
      // A default that depends on other options is said in words (--init's).
      const shown = 'defaultHelp' in row ? row.defaultHelp.replace(/[+]/g, '\\+') : row.default;
      assert.match(help, new RegExp(`--${row.flag} [^\\n]*(\\n *)?[^\\n]*\\(default ${shown}\\)`), row.flag);
    }
  });

  it('the checkpoint\'s config is checked by the same rules', () => {
    const trainer = new Trainer(corpus, { backend: 'ts', hidden: 4 });
    const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };
    const bytes = encodeCheckpoint({ training: { ...trainer.snapshot(), config: { ...trainer.config, eta: -1 } }, run: record });
    assert.match(messageOf(() => decodeCheckpoint(bytes, 'x.safetensors')), /x.safetensors: not an rnn-native checkpoint: config.eta must be a number ≥ 1e-30/);
  });

  describe('config.json on resume', () => {
    const out = path.join(dir, 'run');
    let original: string;
    before(() => {
      const result = run(['train', '--data', text, '--hidden', '8', '--steps', '20', '--log-every', '10', '--out', out, '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      original = readFileSync(path.join(out, 'config.json'), 'utf8');
    });

    const damage: [string, (c: Record<string, unknown>) => void, RegExp][] = [
      ['hidden of the wrong type', (c) => (c.hidden = '8'), /config.json: hidden must be an integer from 1 to 8192, got "8"/],
      ['an eta out of range', (c) => (c.eta = 0), /config.json: eta must be a number ≥ 1e-30/],
      ['a temperature out of range', (c) => (c.temperature = -1), /config.json: temperature must be a number ≥ 0 and ≤ 100/],
      ['a backend that is not native, wasm or ts', (c) => (c.backend = 'auto'), /config.json: backend must be one of native, wasm, ts, got "auto"/],
      ['a data path that is not a string', (c) => (c.data = 5), /config.json: data must be a path, a list of paths, or null/],
      ['a corpus without its SHA-256', (c) => (c.corpus = { characters: 5 }), /config.json: corpus.sha256 must be 64 hex digits/],
      ['a resumes list with a bad entry', (c) => (c.resumed = [{ at: 'x', step: -1, backend: 'ts' }]), /config.json: resumed\[0\] must be/],
      ['a created that is no date', (c) => (c.created = 'yesterday'), /config.json: created must be a date/],
      ['a resume whose time is no date', (c) => (c.resumed = [{ at: 'then', step: 10, backend: 'ts' }]), /config.json: resumed\[0\] must be/],
      ['a model that differs from the checkpoint', (c) => (c.hidden = 9), /config.json and .*latest.safetensors are not of one run: hidden 9 \(the checkpoint has 8\); one of them was edited or comes from another run/],
      ['a missing option', (c) => delete c.hidden, /config.json: hidden is missing/],
      ['a missing created', (c) => delete c.created, /config.json: created is missing/],
      ['a field rnn-native does not write', (c) => (c.foo = 1), /config.json: unknown field "foo" \(not written by rnn-native\)/],
      ['the SHA-256 of another text', (c) => ((c.corpus as Record<string, unknown>).sha256 = '0'.repeat(64)), /are not of one run: corpus.sha256 000000000000… \(the checkpoint has [0-9a-f]{12}…\)/],
      ['a vocabulary size the checkpoint does not have', (c) => ((c.corpus as Record<string, unknown>).vocabSize = 57), /corpus.vocabSize 57 \(the checkpoint has \d+\)/],
      ['a resume from a step the run never reached', (c) => (c.resumed = [{ at: '2026-01-01T00:00:00Z', step: 99999, backend: 'ts' }]), /resumed\[0\].step 99999 \(the checkpoint is at step 20\)/],
    ];
    for (const [what, change, message] of damage) {
      it(`refuses ${what} and leaves the file as it was`, () => {
        const config = JSON.parse(original);
        change(config);
        const damaged = JSON.stringify(config);
        writeFileSync(path.join(out, 'config.json'), damaged);
        try {
          const result = run(['train', '--resume', out, '--steps', '30', '--quiet']);
          assert.strictEqual(result.status, 2, result.stderr);
          assert.match(result.stderr, message);
          assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
          assert.strictEqual(readFileSync(path.join(out, 'config.json'), 'utf8'), damaged);
        } finally {
          writeFileSync(path.join(out, 'config.json'), original);
        }
      });
    }

    it('refuses a "__proto__" field and leaves the file as it was', () => {
      const damaged = original.replace('{', '{"__proto__": {"hidden": 9},');
      writeFileSync(path.join(out, 'config.json'), damaged);
      try {
        const result = run(['train', '--resume', out, '--steps', '30', '--quiet']);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /config.json: unknown field "__proto__"/);
        assert.strictEqual(readFileSync(path.join(out, 'config.json'), 'utf8'), damaged);
      } finally {
        writeFileSync(path.join(out, 'config.json'), original);
      }
    });

    it('report refuses a config.json that does not match best.safetensors', () => {
      const config = JSON.parse(original);
      writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, corpus: { ...config.corpus, sha256: 'f'.repeat(64) } }));
      try {
        const result = run(['report', out]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /config.json and .*best.safetensors are not of one run: corpus.sha256 ffffffffffff…/);
      } finally {
        writeFileSync(path.join(out, 'config.json'), original);
      }
    });

    it('resumes with the file as train wrote it', () => {
      const result = run(['train', '--resume', out, '--steps', '30', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
    });
  });
});
