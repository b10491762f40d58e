// Several texts as one corpus: --data repeated, a folder or a glob; documents joined by a
// separator, each holding out its own end; config.json records each file, and a resume refuses
// a changed collection naming the file.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, UserError } from '../lib';
import { readCheckpoint } from '../lib/run/checkpoint';
import { expandInputs } from '../lib/text/inputs';
import { unescapeSeparator } from '../lib/text/corpus';
import { readAll } from '../lib/text/symbol-text';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[], cwd?: string) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const expectStatus = (result: { status: number | null; stderr: string }, status: number) =>
  assert.strictEqual(result.status, status, `exit ${result.status}: ${result.stderr}`);

function write(file: string, content: string | Buffer): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** A small text of its own per document, long enough for a few windows. */
const documentText = (n: number) => Array.from({ length: 12 }, (_, i) => `line ${i} of text ${n}: ${'abcdefgh'.slice(0, 1 + ((i + n) % 8))}\n`).join('');

describe('text collections: several files, folders and globs', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-collection-'));
  const texts = path.join(dir, 'texts');
  const a = write(path.join(texts, 'a.txt'), documentText(1));
  const b = write(path.join(texts, 'sub', 'b.txt'), documentText(2));
  const c = write(path.join(texts, 'C.txt'), documentText(3));
  write(path.join(texts, '.hidden', 'x.txt'), 'hidden text');
  write(path.join(texts, 'image.bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
  write(path.join(texts, 'empty.txt'), '');
  const binary = path.join(dir, 'binary');
  write(path.join(binary, 'x.bin'), Buffer.from([0]));
  write(path.join(binary, 'y.bin'), Buffer.from([0xff, 0xfe]));

  describe('Corpus.fromFiles', () => {
    it('joins the documents by the separator; the SHA-256 is that of the joined text', () => {
      const corpus = Corpus.fromFiles([{ path: a, inFolder: false }, { path: b, inFolder: false }], { separator: '§' });
      const joined = `${documentText(1)}§${documentText(2)}`;
      assert.strictEqual(corpus.decode(corpus.indices), joined);
      assert.strictEqual(corpus.sha256, sha256(joined));
      assert.ok(corpus.vocabulary.includes('§'));
      assert.deepStrictEqual(
        corpus.files.map((f) => [f.path, f.bytes, f.sha256]),
        [a, b].map((file) => [file, readFileSync(file).length, sha256(readFileSync(file))])
      );
    });

    it('keeps one file as before: its SHA-256, no separator in the vocabulary', () => {
      const corpus = Corpus.fromFiles([{ path: a, inFolder: false }], { separator: '§' });
      assert.strictEqual(corpus.sha256, sha256(readFileSync(a)));
      assert.ok(!corpus.vocabulary.includes('§'));
      assert.strictEqual(corpus.sha256, Corpus.fromFile(a).sha256);
    });

    it('holds out the last ⌊f·n⌋ characters of each document, joined by the separator', () => {
      const [one, two] = ['first document text', 'the second one, longer than the first'];
      const corpus = Corpus.fromFiles([{ path: write(path.join(dir, 'd1.txt'), one), inFolder: false }, { path: write(path.join(dir, 'd2.txt'), two), inFolder: false }], { separator: '|' });
      const { training, heldOut } = corpus.split(0.2);
      const cut = (text: string) => text.length - Math.floor(0.2 * text.length);
      assert.strictEqual(corpus.decode(readAll(training)), `${one.slice(0, cut(one))}|${two.slice(0, cut(two))}`);
      assert.strictEqual(corpus.decode(heldOut), `${one.slice(cut(one))}|${two.slice(cut(two))}`);
      assert.strictEqual(corpus.decode(readAll(corpus.split(0).training)), `${one}|${two}`);
      assert.strictEqual(corpus.split(0).heldOut.length, 0);
    });

    it('skips binary and empty files of a folder, and their characters stay out of the vocabulary', () => {
      // Valid UTF-8 ("zé") before the NUL: read, then undone.
      const folder = path.join(dir, 'mixed');
      write(path.join(folder, 'a.txt'), 'abc\n');
      write(path.join(folder, 'b.dat'), Buffer.concat([Buffer.from('zé', 'utf8'), Buffer.from([0])]));
      write(path.join(folder, 'c.txt'), '');
      const corpus = Corpus.fromFiles(expandInputs([folder]));
      assert.deepStrictEqual(corpus.vocabulary, ['\n', 'a', 'b', 'c']);
      assert.deepStrictEqual(corpus.skipped, [
        { path: path.join(folder, 'b.dat'), why: 'binary' },
        { path: path.join(folder, 'c.txt'), why: 'empty' },
      ]);
    });

    it('refuses a binary file named or globbed, and a folder of binary files only', () => {
      assert.throws(() => Corpus.fromFiles(expandInputs([path.join(texts, 'image.bin')])), /image\.bin: invalid UTF-8 .* must be UTF-8/);
      assert.throws(() => Corpus.fromFiles(expandInputs([path.join(texts, '*.bin')])), /image\.bin: invalid UTF-8 .* must be UTF-8/);
      assert.throws(() => Corpus.fromFiles(expandInputs([binary])), (e: Error) => e instanceof UserError && /all 2 files are binary .*x\.bin, .*y\.bin/.test(e.message));
    });

    it('refuses a vocabulary over the limit reached only across files', () => {
      const chars = (from: number) => String.fromCodePoint(...Array.from({ length: 40000 }, (_, i) => from + i));
      const big = [write(path.join(dir, 'big1.txt'), chars(0x20000)), write(path.join(dir, 'big2.txt'), chars(0x30000))];
      for (const file of big) assert.doesNotThrow(() => Corpus.fromFile(file));
      assert.throws(() => Corpus.fromFiles(big.map((p) => ({ path: p, inFolder: false }))), /80001 distinct characters; at most 65536/);
    });
  });

  describe('expandInputs', () => {
    it('reads a folder recursively in code-point order of the paths, without hidden names', () => {
      assert.deepStrictEqual(
        expandInputs([texts]).map((i) => path.relative(texts, i.path)),
        ['C.txt', 'a.txt', 'empty.txt', 'image.bin', path.join('sub', 'b.txt')]
      );
    });

    it('expands a glob in code-point order, and keeps the order of the values', () => {
      assert.deepStrictEqual(expandInputs([b, path.join(texts, '*.txt')]).map((i) => path.basename(i.path)), ['b.txt', 'C.txt', 'a.txt', 'empty.txt']);
    });

    it('refuses a value that names nothing, an empty folder and a file given twice', () => {
      mkdirSync(path.join(dir, 'nothing'), { recursive: true });
      assert.throws(() => expandInputs([path.join(dir, 'nothing')]), /no files in this folder/);
      assert.throws(() => expandInputs([path.join(dir, 'none-*.txt')]), /no files match this pattern/);
      assert.throws(() => expandInputs([texts, a]), /a\.txt is given twice/);
    });

    it('reads the escapes of --separator', () => {
      assert.strictEqual(unescapeSeparator('\\n\\t\\\\x\\q'), '\n\t\\x\\q');
    });
  });

  describe('train', () => {
    const common = ['--steps', '40', '--seq-length', '8', '--batch', '2', '--hidden', '16', '--val-fraction', '0.1', '--eval-every', '20', '--sample-every', '0', '--quiet'];

    it('trains on a folder: config.json records each file; the checkpoint its training length', () => {
      const out = path.join(dir, 'run-folder');
      const result = run(['train', '--data', texts, '--out', out, ...common]);
      expectStatus(result, 0);
      assert.match(result.stderr, /skipped 1 binary file \(.*image\.bin\) and 1 empty file \(.*empty\.txt\)/);
      const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
      assert.strictEqual(config.data, texts);
      assert.deepStrictEqual(
        config.corpus.files.map((f: { path: string }) => f.path),
        [c, a, b]
      );
      assert.strictEqual(config.corpus.separator, '\n');
      const corpus = Corpus.fromFiles(expandInputs([texts]));
      const training = corpus.split(0.1).training.length;
      assert.strictEqual(config.corpus.trainingCharacters, training);
      assert.ok(training !== corpus.length - Math.floor(0.1 * corpus.length), 'per-document hold-out differs from the whole text\'s');
      assert.strictEqual(readCheckpoint(path.join(out, 'latest.safetensors')).run.trainingCharacters, training);
    });

    it('resumes a collection bit for bit', () => {
      const whole = path.join(dir, 'run-whole');
      const parts = path.join(dir, 'run-parts');
      expectStatus(run(['train', '--data', a, '--data', b, '--out', whole, ...common]), 0);
      expectStatus(run(['train', '--data', a, '--data', b, '--out', parts, ...common.map((v) => (v === '40' ? '20' : v))]), 0);
      expectStatus(run(['train', '--resume', parts, '--steps', '40', '--quiet']), 0);
      const [x, y] = [whole, parts].map((d) => readCheckpoint(path.join(d, 'latest.safetensors')).training);
      assert.strictEqual(y.step, 40);
      assert.deepStrictEqual(Array.from(y.params), Array.from(x.params));
    });

    it('refuses a resume whose collection changed, naming the file; nothing is written', () => {
      const folder = path.join(dir, 'changing');
      const first = write(path.join(folder, 'one.txt'), documentText(4));
      write(path.join(folder, 'two.txt'), documentText(5));
      const out = path.join(dir, 'run-changing');
      expectStatus(run(['train', '--data', folder, '--out', out, ...common.map((v) => (v === '40' ? '20' : v))]), 0);
      const before = readFileSync(path.join(out, 'config.json'), 'utf8');
      const added = write(path.join(folder, 'three.txt'), documentText(6));
      let result = run(['train', '--resume', out, '--steps', '40']);
      expectStatus(result, 2);
      assert.match(result.stderr, /three\.txt was added to the texts since the run started/);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1);
      writeFileSync(added, ''); // an empty file of a folder is skipped: the collection is as it was
      expectStatus(run(['train', '--resume', out, '--steps', '30', '--quiet']), 0);
      writeFileSync(first, documentText(7));
      result = run(['train', '--resume', out, '--steps', '40']);
      expectStatus(result, 2);
      assert.match(result.stderr, /one\.txt has changed since the run started/);
      assert.notStrictEqual(readFileSync(path.join(out, 'config.json'), 'utf8'), before); // the resume to 30 wrote it
      result = run(['train', '--resume', out, '--steps', '40', '--separator', '\\n\\n']);
      assert.match(result.stderr, /(one\.txt has changed|--separator "\\n\\n" is not the run's)/);
    });

    it('refuses in one line, exit 2, without a run directory: an unquoted glob, an empty folder, binary files only', () => {
      mkdirSync(path.join(dir, 'empty-folder'), { recursive: true });
      const cases: [string[], RegExp][] = [
        [['--data', a, b], /unexpected argument ".*b\.txt": give each text with --data \(repeat it\), a folder, or a glob in quotes/],
        [['--data', path.join(dir, 'empty-folder')], /no files in this folder/],
        [['--data', path.join(dir, 'binary')], /no text to train on: all 2 files are binary/],
        [['--data', path.join(texts, 'image.bin')], /image\.bin: invalid UTF-8/],
      ];
      cases.forEach(([args, message], i) => {
        const out = path.join(dir, `refused-${i}`);
        const result = run(['train', ...args, '--out', out]);
        expectStatus(result, 2);
        assert.match(result.stderr, message);
        assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.ok(!existsSync(out));
      });
    });
  });
  describe('found by trying to break it', () => {
    const small = ['--steps', '10', '--seq-length', '8', '--hidden', '8', '--sample-every', '0', '--quiet'];

    it('resumes a relative glob from a folder whose name holds glob characters', () => {
      const folder = path.join(dir, 'My texts (copy) [1]');
      write(path.join(folder, 'x.txt'), documentText(8));
      write(path.join(folder, 'y.txt'), documentText(9));
      expectStatus(run(['train', '--data', '*.txt', ...small, '--out', 'run'], folder), 0);
      expectStatus(run(['train', '--resume', 'run', '--steps', '20', '--quiet'], folder), 0);
      expectStatus(run(['sweep', '--data', '*.txt', '--grid', 'hidden=8,9', '--steps', '5', '--seq-length', '8', '--sample-every', '0', '--out', 'sweep'], folder), 0);
    });

    it('follows no link to a folder in a glob, as in a folder', () => {
      const folder = path.join(dir, 'linked');
      write(path.join(folder, 'sub', 'b.txt'), documentText(10));
      symlinkSync('.', path.join(folder, 'sub', 'self'));
      assert.deepStrictEqual(expandInputs([path.join(folder, '**', '*.txt')]).map((i) => path.relative(folder, i.path)), [path.join('sub', 'b.txt')]);
    });

    it('refuses a path with a NUL byte in one line, from config.json too', () => {
      assert.throws(() => expandInputs(['a\0b']), (e: Error) => e instanceof UserError && /NUL/.test(e.message));
      const out = path.join(dir, 'run-nul');
      expectStatus(run(['train', '--data', a, ...small, '--out', out]), 0);
      const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
      writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, data: `${a}\0x` }));
      const result = run(['train', '--resume', out, '--steps', '20']);
      expectStatus(result, 2);
      assert.doesNotMatch(result.stderr, /internal error/);
    });

    it('leaves the run and sweep directories in a folder out of its texts', () => {
      const folder = path.join(dir, 'with-runs');
      write(path.join(folder, 'f1.txt'), documentText(11));
      write(path.join(folder, 'f2.txt'), documentText(12));
      expectStatus(run(['train', '--data', '.', ...small, '--out', 'runs/one'], folder), 0);
      expectStatus(run(['train', '--resume', 'runs/one', '--steps', '20', '--quiet'], folder), 0);
      assert.deepStrictEqual(expandInputs([folder]).map((i) => path.basename(i.path)), ['f1.txt', 'f2.txt']);
    });

    it('names the file that moved in the order, and a file now skipped', () => {
      const folder = path.join(dir, 'reordered');
      write(path.join(folder, 'a.txt'), documentText(13));
      const second = write(path.join(folder, 'b.txt'), documentText(14));
      write(path.join(folder, 'c.txt'), documentText(15));
      const out = path.join(dir, 'run-reordered');
      expectStatus(run(['train', '--data', folder, ...small, '--out', out]), 0);
      renameSync(second, path.join(folder, '0.txt'));
      let result = run(['train', '--resume', out, '--steps', '20']);
      assert.match(result.stderr, /b\.txt .*(moved|another order)|another order.*0\.txt/);
      renameSync(path.join(folder, '0.txt'), second);
      writeFileSync(second, Buffer.from([0]));
      result = run(['train', '--resume', out, '--steps', '20']);
      assert.match(result.stderr, /b\.txt is now skipped as binary/);
    });

    it('refuses a config.json whose trainingCharacters is not the checkpoint\'s', () => {
      const out = path.join(dir, 'run-training-characters');
      expectStatus(run(['train', '--data', a, '--data', b, ...small, '--out', out]), 0);
      const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
      writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, corpus: { ...config.corpus, trainingCharacters: 5 } }));
      const result = run(['train', '--resume', out, '--steps', '20']);
      expectStatus(result, 2);
      assert.match(result.stderr, /trainingCharacters 5/);
    });

    it('records the texts a resume found elsewhere, so that the next resume finds them', () => {
      const from = path.join(dir, 'moving');
      write(path.join(from, 'p.txt'), documentText(16));
      write(path.join(from, 'q.txt'), documentText(17));
      const out = path.join(dir, 'run-moving');
      expectStatus(run(['train', '--data', from, ...small, '--out', out]), 0);
      const to = path.join(dir, 'moved');
      renameSync(from, to);
      expectStatus(run(['train', '--resume', out, '--data', to, '--steps', '20', '--quiet']), 0);
      expectStatus(run(['train', '--resume', out, '--steps', '30', '--quiet']), 0);
    });

    it('shows the names of skipped files escaped, on one line', () => {
      const folder = path.join(dir, 'odd-names');
      write(path.join(folder, 'a.txt'), documentText(18));
      write(path.join(folder, 'bad\nname.bin'), Buffer.from([0]));
      const result = run(['train', '--data', folder, ...small, '--out', path.join(dir, 'run-odd')]);
      expectStatus(result, 0);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /bad\\nname\.bin/);
    });

    it('refuses a separator that is not well-formed text (a lone surrogate)', () => {
      assert.throws(() => Corpus.fromFiles([{ path: a, inFolder: false }, { path: b, inFolder: false }], { separator: '\uD800' }), /separator/);
    });
  });
});
