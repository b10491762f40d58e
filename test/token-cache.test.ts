// The token cache of big texts: encoded once, found again by the files' stamps or contents, read
// by ranges; a run through it trains exactly as a run on the text in memory.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus } from '../lib';
import { readCheckpoint } from '../lib/run/checkpoint';
import { arrayText, joinedText, readAll } from '../lib/text/symbol-text';
import { cacheEntries, cachedCorpus } from '../lib/text/token-cache';
import { expandInputs } from '../lib/text/inputs';
import { Rng } from '../lib/util/random';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
const expectStatus = (result: { status: number | null; stderr: string }, status: number) =>
  assert.strictEqual(result.status, status, `exit ${result.status}: ${result.stderr}`);

function write(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

const text = (n: number, alphabet = 'abcdefghij \n') => {
  const rng = Rng.fromSeed(n);
  return Array.from({ length: 3000 }, () => alphabet[Math.floor(rng.uniform() * alphabet.length)]).join('');
};

describe('the token cache', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-cache-'));
  const a = write(path.join(dir, 'texts', 'a.txt'), text(1));
  const b = write(path.join(dir, 'texts', 'b.txt'), text(2));

  it('reads ranges of joined spans as the joined array does', () => {
    const rng = Rng.fromSeed(7);
    const base = Uint8Array.from({ length: 200 }, (_, i) => i);
    const spans = [{ start: 10, length: 30 }, { start: 0, length: 0 }, { start: 100, length: 1 }, { start: 150, length: 50 }];
    const separator = [250, 251];
    const expected = [...base.subarray(10, 40), 250, 251, 100, 250, 251, ...base.subarray(150, 200)];
    const joined = joinedText(arrayText(base), spans, separator);
    assert.strictEqual(joined.length, expected.length);
    for (let k = 0; k < 200; k++) {
      const from = Math.floor(rng.uniform() * expected.length);
      const to = from + Math.floor(rng.uniform() * (expected.length - from + 1));
      assert.deepStrictEqual(Array.from(joined.read(from, to)), expected.slice(from, to), `read(${from}, ${to})`);
    }
  });

  it('holds the text as the corpus in memory has it, 1- and 2-byte symbols', () => {
    const wide = write(path.join(dir, 'wide.txt'), String.fromCodePoint(...Array.from({ length: 300 }, (_, i) => 0x4e00 + ((i * 7) % 300))) + text(3));
    for (const inputs of [expandInputs([path.join(dir, 'texts')]), expandInputs([wide])]) {
      const cached = cachedCorpus(inputs, { dir: path.join(dir, 'cache-same'), separator: '\n', source: 'texts' });
      const memory = Corpus.fromFiles(inputs, { separator: '\n' });
      assert.deepStrictEqual(cached.vocabulary, memory.vocabulary);
      assert.strictEqual(cached.sha256, memory.sha256);
      assert.deepStrictEqual(Array.from(cached.indices), Array.from(memory.indices));
      assert.deepStrictEqual(cached.files, memory.files);
      assert.deepStrictEqual(cached.documents, memory.documents);
      assert.deepStrictEqual(Array.from(readAll(cached.split(0.1).training)), Array.from(readAll(memory.split(0.1).training)));
      assert.deepStrictEqual(Array.from(cached.split(0.1).heldOut), Array.from(memory.split(0.1).heldOut));
    }
  });

  it('finds an entry by the stamps without reading the text; by content after a touch; encodes a changed text anew', () => {
    const cache = path.join(dir, 'cache-find');
    const inputs = [{ path: a, inFolder: false }];
    const progress: number[] = [];
    const load = () => {
      progress.length = 0;
      return cachedCorpus(inputs, { dir: cache, separator: '\n', source: a, onProgress: (f) => progress.push(f) });
    };
    load();
    assert.ok(progress.some((f) => f > 0.5), 'the first load encodes');
    const [entry] = cacheEntries(cache);
    const tokens = path.join(cache, 'tokens-v1', entry.key, 'tokens.bin');
    const made = statSync(tokens).mtimeMs;
    load();
    assert.deepStrictEqual(progress, [], 'a hit by the stamps reads nothing');
    utimesSync(a, new Date(), new Date(Date.now() + 5000));
    load();
    assert.ok(progress.length > 0 && progress.every((f) => f <= 0.5), 'a touched file is read, not encoded');
    assert.strictEqual(statSync(tokens).mtimeMs, made);
    writeFileSync(a, text(4));
    const changed = load();
    assert.strictEqual(cacheEntries(cache).length, 2);
    assert.strictEqual(changed.sha256, Corpus.fromFile(a).sha256);
  });

  it('encodes a truncated entry again, with one note', () => {
    const cache = path.join(dir, 'cache-truncated');
    const inputs = [{ path: b, inFolder: false }];
    cachedCorpus(inputs, { dir: cache, separator: '\n', source: b });
    const tokens = path.join(cache, 'tokens-v1', cacheEntries(cache)[0].key, 'tokens.bin');
    truncateSync(tokens, 100);
    const notes: string[] = [];
    const corpus = cachedCorpus(inputs, { dir: cache, separator: '\n', source: b, onNote: (line) => notes.push(line) });
    assert.strictEqual(notes.length, 1);
    assert.match(notes[0], /token cache of .*b\.txt is truncated/);
    assert.deepStrictEqual(Array.from(corpus.indices), Array.from(Corpus.fromFile(b).indices));
  });

  it('trains through the cache exactly as in memory; `cache` lists and clears it', () => {
    const cache = path.join(dir, 'cache-train');
    const common = ['--data', path.join(dir, 'texts'), '--steps', '30', '--seq-length', '10', '--batch', '3', '--hidden', '16', '--cell', 'lstm', '--val-fraction', '0.1', '--eval-every', '15', '--sample-every', '0', '--quiet'];
    expectStatus(run(['train', ...common, '--out', path.join(dir, 'memory')]), 0);
    expectStatus(run(['train', ...common, '--cache-dir', cache, '--out', path.join(dir, 'cached')]), 0);
    const [memory, cached] = ['memory', 'cached'].map((name) => readCheckpoint(path.join(dir, name, 'latest.safetensors')).training);
    assert.deepStrictEqual(Array.from(cached.params), Array.from(memory.params));
    assert.strictEqual(readFileSync(path.join(dir, 'cached', 'val.csv'), 'utf8').split('\n')[1].split(',')[2], readFileSync(path.join(dir, 'memory', 'val.csv'), 'utf8').split('\n')[1].split(',')[2]);

    let result = run(['cache', '--cache-dir', cache, '--json']);
    expectStatus(result, 0);
    const listed = JSON.parse(result.stdout);
    assert.strictEqual(listed.entries.length, 1);
    assert.strictEqual(listed.entries[0].documents, 2);
    result = run(['cache', '--cache-dir', cache, '--clear']);
    expectStatus(result, 0);
    assert.match(result.stdout, /removed 1 entry/);
    assert.deepStrictEqual(cacheEntries(cache), []);
  });
  it('a run given --cache-dir resumes and reports through that cache, not the default one', () => {
    const cache = path.join(dir, 'cache-recorded');
    const home = path.join(dir, 'xdg');
    const env = { ...process.env, RNN_NATIVE_BACKEND: '', XDG_CACHE_HOME: home };
    const cliIn = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
    const out = path.join(dir, 'recorded');
    expectStatus(cliIn(['train', '--data', a, '--cache-dir', cache, '--steps', '10', '--hidden', '8', '--sample-every', '0', '--quiet', '--out', out]), 0);
    assert.strictEqual(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).cacheDir, cache);
    expectStatus(cliIn(['train', '--resume', out, '--steps', '20', '--quiet']), 0);
    expectStatus(cliIn(['report', out]), 0);
    assert.deepStrictEqual(cacheEntries(path.join(home, 'rnn-native')), []);
    assert.strictEqual(cacheEntries(cache).length, 1);
  });
});
