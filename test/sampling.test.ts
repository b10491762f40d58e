// Sampling from a checkpoint: streamed in pieces with the same text as one draw of all of it,
// stopped by a closed output or a signal, and never written over a run's own files.
import assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { Vocabulary } from '../lib/text/vocabulary';
import { savedModelSampler } from '../lib/engine/engine';
import { loadNative } from '../lib/engine/native';
import { Rng } from '../lib/util/random';
import { sampleCheckpoint } from '../lib/run/sample-checkpoint';
import { SAMPLE_CHUNK, samplePieces } from '../lib/engine/sampling';
import { UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const backends = loadNative().addon ? (['ts', 'native', 'wasm'] as const) : (['ts', 'wasm'] as const);

/** The draws of one call of the backend's kernel, as before streaming. */
function drawnAtOnce(backend: (typeof backends)[number], file: string, prime: string | undefined, length: number, temperature: number, seed: number): string {
  const { training } = readCheckpoint(file);
  const vocab = new Vocabulary(training.vocabulary);
  const symbols = prime === undefined ? Int32Array.of(vocab.indexOf(10)) : vocab.encode(prime);
  const model = savedModelSampler(training.config, vocab.size, training.params, backend);
  const out = model.sampler({ prime: symbols, temperature, rng: Rng.fromSeed(seed) })(length);
  return (prime ?? '') + vocab.decode(out);
}

describe('sample: streaming, stopping, and --out', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-sampling-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, UNICODE_TEXT.repeat(40));
  const runDir = path.join(dir, 'run');
  const model = path.join(runDir, 'best.safetensors');

  before(() => {
    const result = run(['train', '--data', text, '--steps', '200', '--hidden', '16', '--sample-every', '100', '--out', runDir, '--quiet']);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.ok(existsSync(path.join(runDir, 'samples.txt')));
  });

  for (const backend of backends) {
    it(`${backend}: pieces of any size join to the text of one draw`, () => {
      const { training } = readCheckpoint(model);
      const vocab = new Vocabulary(training.vocabulary);
      const engine = savedModelSampler(training.config, vocab.size, training.params, backend);
      const expected = drawnAtOnce(backend, model, 'Grü', 1000, 0.8, 5);
      for (const chunk of [1, 7, 999, 1000, 4096]) {
        const request = { prime: vocab.encode('Grü'), length: 1000, temperature: 0.8, rng: Rng.fromSeed(5) };
        const pieces = Array.from(samplePieces(engine, vocab, request, chunk));
        assert.strictEqual(pieces.length, Math.ceil(1000 / chunk));
        assert.strictEqual('Grü' + pieces.join(''), expected, `chunk ${chunk}`);
      }
      const fromFile = sampleCheckpoint(model, { length: 1000, temperature: 0.8, seed: 5, prime: 'Grü', backend, chunk: 64 });
      assert.strictEqual(Array.from(fromFile.pieces).join(''), expected);
    });

    it(`${backend}: sample streams the same bytes as one draw, to stdout and to --out`, () => {
      const length = 3 * SAMPLE_CHUNK + 17;
      for (const [prime, temperature, seed] of [[undefined, 1, 42], ['zweite ', 0.7, -3], [undefined, 0, 1]] as const) {
        const expected = drawnAtOnce(backend, model, prime, length, temperature, seed);
        const args = ['sample', '--model', runDir, '--backend', backend, '--length', String(length), '--temperature', String(temperature), '--seed', String(seed), ...(prime ? ['--prime', prime] : [])];
        const result = run(args);
        assert.strictEqual(result.status, 0, result.stderr);
        assert.strictEqual(result.stdout, expected + '\n');
        const file = path.join(dir, `out-${backend}-${seed}.txt`);
        assert.strictEqual(run([...args, '--out', file]).status, 0);
        assert.strictEqual(readFileSync(file, 'utf8'), expected);
      }
    });

    it(`${backend}: sample --length 100000000 | head -c 100 stops at once with exit 141`, () => {
      const started = Date.now();
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} sample --model ${JSON.stringify(runDir)} --backend ${backend} --length 100000000 | head -c 100; echo " status=\${PIPESTATUS[0]}"`;
      const result = spawnSync('bash', ['-c', command], { env, timeout: 20000 });
      const trailer = ' status=141\n';
      assert.strictEqual(result.stdout.subarray(-trailer.length).toString(), trailer, result.stderr.toString());
      assert.strictEqual(result.stdout.length - trailer.length, 100); // head's bytes
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    });
  }

  it('a signal during sample --out leaves the existing file and no temporary file', async () => {
    const file = path.join(dir, 'keep.txt');
    writeFileSync(file, 'keep me');
    const child = spawn(process.execPath, [cli, 'sample', '--model', runDir, '--length', '100000000', '--out', file, '--force'], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const temporary = `.keep.txt.${child.pid}.tmp`;
    while (!readdirSync(dir).includes(temporary)) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    const status = await new Promise((resolve) => child.on('exit', resolve));
    assert.strictEqual(status, 130, stderr);
    assert.match(stderr, /stopped by SIGINT; .*keep.txt was not written/);
    assert.strictEqual(readFileSync(file, 'utf8'), 'keep me');
    assert.ok(!readdirSync(dir).includes(temporary));
  });

  describe('--out never takes a file of a run directory, even with --force', () => {
    const other = path.join(dir, 'other.safetensors');
    before(() => writeFileSync(other, readFileSync(model)));

    for (const name of ['config.json', 'loss.csv', 'samples.txt', 'latest.safetensors', 'best.safetensors', 'report.md', 'report.html', 'loss.svg', 'loss.png']) {
      it(name, () => {
        const target = path.join(runDir, name);
        const before = existsSync(target) ? readFileSync(target) : undefined;
        const result = run(['sample', '--model', other, '--length', '5', '--out', target, '--force']);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, name.endsWith('.safetensors') ? /names a checkpoint \(\.safetensors\)/ : /is one of the run's files \(its directory holds config.json\)/);
        assert.strictEqual(result.stderr.trim().split('\n').length, 1);
        assert.deepStrictEqual(existsSync(target) ? readFileSync(target) : undefined, before);
      });
    }

    it('a checkpoint outside a run directory, too; a run directory is known by its checkpoint alone', () => {
      let result = run(['sample', '--model', model, '--length', '5', '--out', other, '--force']);
      assert.strictEqual(result.status, 2);
      assert.ok(readFileSync(other).equals(readFileSync(model)));
      const bare = path.join(dir, 'bare-run');
      mkdirSync(bare);
      writeFileSync(path.join(bare, 'latest.safetensors'), readFileSync(model));
      result = run(['sample', '--model', other, '--length', '5', '--out', path.join(bare, 'samples.txt')]);
      assert.match(result.stderr, /is one of the run's files \(its directory holds latest.safetensors\)/);
      assert.ok(!existsSync(path.join(bare, 'samples.txt')));
    });

    it('other files: a new file in a run directory, and a run file name elsewhere, are written', () => {
      const notes = path.join(runDir, 'notes.txt');
      assert.strictEqual(run(['sample', '--model', other, '--length', '5', '--out', notes]).status, 0);
      assert.strictEqual(Array.from(readFileSync(notes, 'utf8')).length, 5);
      const plain = path.join(dir, 'plain');
      mkdirSync(plain);
      assert.strictEqual(run(['sample', '--model', other, '--length', '5', '--out', path.join(plain, 'samples.txt')]).status, 0);
    });
  });
});
