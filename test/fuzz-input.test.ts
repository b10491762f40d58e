// Input fuzz: random and adversarial texts written to files and read by
// Corpus.fromFile (many) and by `rnn-native train` (a few). Each either trains correctly (the
// vocabulary and indices agree with an independent strict UTF-8 decoding; finite losses) or is
// refused with a one-line UserError (exit 2 from the CLI); never a crash or an internal error.
// RNN_FUZZ_CORPORA sets the number of random corpora (default 600), RNN_FUZZ_SEED the seed.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { TextDecoder } from 'util';
import { Corpus, Rng, Trainer, UserError } from '../lib';

const CHUNK = 8 << 20;
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What Corpus.fromFile must do with these bytes: refuse them, or these code points. */
function expected(bytes: Uint8Array): { error: RegExp } | { codePoints: number[] } {
  if (bytes.length === 0) return { error: /empty/ };
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    // Whichever comes first in the file is named: an invalid sequence or a NUL byte.
    return { error: bytes.includes(0) ? /invalid UTF-8 at byte offset \d+|NUL byte/ : /invalid UTF-8 at byte offset \d+/ };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { error: /NUL byte/ };
  return { codePoints: Array.from(text, (c) => c.codePointAt(0)!) };
}

function fromCodePoints(codePoints: ArrayLike<number>): string {
  let text = '';
  for (let i = 0; i < codePoints.length; i += 4096) text += String.fromCodePoint(...Array.from(codePoints).slice(i, i + 4096));
  return text;
}

function encode(codePoints: number[]): Buffer {
  return Buffer.from(fromCodePoints(codePoints), 'utf8');
}

const INVALID = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xff], [0xfe], [0xe2, 0x82], [0xf0, 0x9f, 0x99], [0xc3]];

/** One random text of a random class. */
function randomText(rng: Rng): { bytes: Buffer; what: string } {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const randomCp = () => pick([() => 0x20 + int(95), () => 0xa0 + int(0x700), () => 0x4e00 + int(500), () => 0x1f600 + int(80), () => pick([0x0a, 0x0d, 0x09, 0xfeff, 0x2028, 0x10ffff, 0xfffd, 0x7f])])();
  const textOf = (n: number) => encode(Array.from({ length: n }, randomCp));
  const n = pick([0, 1, 2, 8, 9, 10, 30, 200, 3000]);
  switch (int(9)) {
    case 0:
      return { bytes: Buffer.from(Array.from({ length: n }, () => int(256))), what: `${n} random bytes` };
    case 1: {
      const base = textOf(Math.max(n, 1));
      const bad = Buffer.from(pick(INVALID));
      const at = pick([0, base.length, int(base.length + 1)]);
      return { bytes: Buffer.concat([base.subarray(0, at), bad, base.subarray(at)]), what: `invalid ${bad.toString('hex')} at ${at} of ${base.length}` };
    }
    case 2: {
      const base = textOf(Math.max(n, 1));
      const at = int(base.length + 1);
      return { bytes: Buffer.concat([base.subarray(0, at), Buffer.of(0), base.subarray(at)]), what: `NUL at ${at}` };
    }
    case 3: {
      const cp = randomCp();
      return { bytes: encode(Array(Math.max(n, 1)).fill(cp)), what: `U+${cp.toString(16)} × ${Math.max(n, 1)}` };
    }
    case 4: {
      const lines = Array.from({ length: 1 + int(20) }, () => textOf(int(50)).toString('utf8'));
      const ends = lines.map(() => pick(['\n', '\r\n', '\r', '\n\r', '']));
      return { bytes: Buffer.from(lines.map((l, i) => l + ends[i]).join(''), 'utf8'), what: 'CR/LF mix' };
    }
    case 5:
      return { bytes: Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), textOf(n)]), what: `BOM + ${n}` };
    case 6:
      return { bytes: Buffer.from('x'.repeat(int(5000)) + 'yz\n'.repeat(int(3)), 'utf8'), what: 'a long line' };
    case 7: {
      // A valid text cut in the middle of a multi-byte sequence.
      const base = textOf(Math.max(n, 2));
      const cut = int(base.length);
      return { bytes: base.subarray(0, cut), what: `cut at ${cut} of ${base.length}` };
    }
    default:
      return { bytes: textOf(n), what: `${n} random characters` };
  }
}

/** Reads the file and checks the outcome against the independent decoding; trains when it can. */
function check(file: string, bytes: Uint8Array, what: string): 'refused' | 'trained' | 'short' {
  const want = expected(bytes);
  let corpus: Corpus;
  try {
    corpus = Corpus.fromFile(file);
  } catch (error) {
    if (!(error instanceof UserError)) assert.fail(`${what}: ${(error as Error).stack}`);
    assert.ok(!/[\n\r\u2028\u2029]/.test(error.message), `${what}: message on several lines: ${JSON.stringify(error.message)}`);
    assert.ok('error' in want || /distinct characters/.test(error.message), `${what}: refused a valid text: ${error.message}`);
    if ('error' in want) assert.match(error.message, want.error, what);
    return 'refused';
  }
  assert.ok('codePoints' in want, `${what}: accepted, but it is invalid (${'error' in want ? want.error : ''})`);
  const codePoints = want.codePoints;
  const vocabulary = [...new Set(codePoints)].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp));
  assert.deepStrictEqual(corpus.vocabulary, vocabulary, what);
  assert.strictEqual(corpus.length, codePoints.length, what);
  assert.strictEqual(corpus.indices.BYTES_PER_ELEMENT, vocabulary.length <= 256 ? 1 : 2, what);
  assert.ok(corpus.decode(corpus.indices) === fromCodePoints(codePoints), `${what}: the indices do not decode to the text`);
  const seqLength = 8;
  try {
    const trainer = new Trainer(corpus, { hidden: 8, seqLength });
    const losses = trainer.train(5);
    assert.ok(losses.every(Number.isFinite), `${what}: losses ${losses}`);
    return 'trained';
  } catch (error) {
    if (!(error instanceof UserError)) assert.fail(`${what}: ${(error as Error).stack}`);
    assert.ok(corpus.length < seqLength + 1, `${what}: ${error.message}`);
    assert.match(error.message, /needs at least 9/);
    return 'short';
  }
}

describe('input fuzz', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-fuzz-input-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  const write = (bytes: Uint8Array) => {
    const file = path.join(dir, `text-${++count}.txt`);
    writeFileSync(file, bytes);
    return file;
  };

  it('reads random and adversarial texts: the right corpus or a one-line UserError', () => {
    const corpora = Number(process.env.RNN_FUZZ_CORPORA ?? 600);
    const rng = Rng.fromSeed(Number(process.env.RNN_FUZZ_SEED ?? 1));
    const counts = { refused: 0, trained: 0, short: 0 };
    for (let i = 0; i < corpora; i++) {
      const { bytes, what } = randomText(rng);
      counts[check(write(bytes), bytes, `corpus ${i}: ${what}`)]++;
    }
    assert.ok(counts.refused > 0 && counts.trained > 0 && counts.short > 0, JSON.stringify(counts));
    if (process.env.RNN_FUZZ_VERBOSE) console.log(`    ${corpora} corpora: ${JSON.stringify(counts)}`);
  });

  it('switches from Uint8 to Uint16 indices between K = 256 and 257, and refuses K = 65537', () => {
    const distinct = (k: number, first = 0x21) => {
      const cps: number[] = [];
      for (let cp = first; cps.length < k; cp++) if (!(cp >= 0xd800 && cp <= 0xdfff) && cp !== 0x7f) cps.push(cp);
      return cps;
    };
    for (const k of [255, 256, 257, 65535, 65536, 65537]) {
      const cps = distinct(k);
      // Each character twice, in two orders, so the text is longer than seq-length + 1.
      const bytes = encode([...cps, ...cps.slice().reverse()]);
      const outcome = check(write(bytes), bytes, `K = ${k}`);
      assert.strictEqual(outcome, k > 65536 ? 'refused' : 'trained', `K = ${k}`);
    }
  });

  it('decodes across the 8 MiB chunk boundary and names the right offset of an invalid byte there', () => {
    // A 3-byte character split by the chunk boundary (valid), then one whose continuation byte
    // after the boundary is invalid: refused at the offset of its first byte.
    for (const valid of [true, false]) {
      const bytes = Buffer.alloc(CHUNK + 100, 'a');
      bytes.set([0xe2, 0x82, valid ? 0xac : 0x41], CHUNK - 2);
      const file = write(bytes);
      if (valid) {
        const corpus = Corpus.fromFile(file);
        assert.deepStrictEqual(corpus.vocabulary, ['a', '€']);
        assert.strictEqual(corpus.length, CHUNK + 100 - 2);
        assert.strictEqual(corpus.indices[CHUNK - 2], 1);
      } else {
        assert.throws(() => Corpus.fromFile(file), (e: Error) => e instanceof UserError && e.message.includes(`invalid UTF-8 at byte offset ${CHUNK - 2} `));
      }
    }
    // Invalid at the very last byte of a file just over one chunk.
    const tail = Buffer.alloc(CHUNK + 3, 'b');
    tail[CHUNK + 2] = 0xc3;
    assert.throws(() => Corpus.fromFile(write(tail)), (e: Error) => e instanceof UserError && e.message.includes(`offset ${CHUNK + 2} `));
  });

  describe('through the CLI (rnn-native train --steps 5 --hidden 8 --json)', () => {
    const cli = path.join(__dirname, '..', 'dist', 'cli.js');
    const cases: [string, Buffer, 0 | 2][] = [
      ['Unicode with CRLF', Buffer.from('Grüße 🙂 aus Köln\r\nzweite Zeile\r\n'.repeat(20), 'utf8'), 0],
      ['BOM and CR line ends', Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from('one\rtwo\rthree\r'.repeat(20))]), 0],
      ['one repeated character', Buffer.from('z'.repeat(100)), 0],
      ['invalid UTF-8 in the middle', Buffer.concat([Buffer.from('a'.repeat(50)), Buffer.of(0xc0, 0x80), Buffer.from('b'.repeat(50))]), 2],
      ['invalid UTF-8 at the end', Buffer.concat([Buffer.from('a'.repeat(50)), Buffer.of(0xe2, 0x82)]), 2],
      ['a NUL byte', Buffer.from('abc\u0000def'.repeat(10)), 2],
      ['shorter than seq-length + 1', Buffer.from('short'), 2],
      ['257 distinct characters', encode(Array.from({ length: 514 }, (_, i) => 0x100 + (i % 257))), 0],
    ];
    for (const [name, bytes, status] of cases) {
      it(`${name}: exit ${status}`, () => {
        const file = write(bytes);
        const out = path.join(dir, `run-${++count}`);
        const r = spawnSync(process.execPath, [cli, 'train', '--data', file, '--steps', '5', '--hidden', '8', '--out', out, '--json'], {
          encoding: 'utf8',
          env: { ...process.env, RNN_NATIVE_BACKEND: '' },
        });
        assert.strictEqual(r.status, status, `exit ${r.status} (signal ${r.signal}): ${r.stderr}`);
        if (status === 2) {
          assert.match(r.stderr, /^rnn-native: [^\n]+\n$/, 'one line on stderr');
          assert.doesNotMatch(r.stderr, /internal error/);
        } else {
          const events = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
          const logs = events.filter((e) => e.event === 'log');
          assert.ok(logs.length > 0 && logs.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.smoothLoss)), r.stdout);
          assert.strictEqual(events.at(-1).event, 'done');
        }
      });
    }
  });
});
