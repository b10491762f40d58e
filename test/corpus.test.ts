import assert from 'assert';
import { mkdtempSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus, demoCorpus, UserError, DEMO_CHARACTERS } from '../lib';
import { UNICODE_TEXT } from './helpers';

describe('corpus and vocabulary', () => {
  it('is the sorted set of code points: one symbol per emoji, umlaut and \\r', () => {
    const corpus = Corpus.fromText('b\r\naü🙂a🙂');
    assert.deepStrictEqual(corpus.vocabulary, ['\n', '\r', 'a', 'b', 'ü', '🙂']);
    assert.strictEqual(corpus.length, 8);
    assert.deepStrictEqual(Array.from(corpus.indices), [3, 1, 0, 2, 4, 5, 2, 5]);
    assert.strictEqual(corpus.decode(corpus.indices), 'b\r\naü🙂a🙂');
  });

  it('sorts by code point, not by UTF-16 unit', () => {
    // U+FF01 sorts before U+1F642 by code point, though its UTF-16 unit is larger than 0xD83D.
    const corpus = Corpus.fromText('🙂！');
    assert.deepStrictEqual(corpus.vocabulary, ['！', '🙂']);
  });

  it('uses one byte per character up to 256 symbols and two above', () => {
    const small = Corpus.fromText(String.fromCodePoint(...Array.from({ length: 256 }, (_, i) => 0x100 + i)));
    assert.ok(small.indices instanceof Uint8Array);
    const large = Corpus.fromText(String.fromCodePoint(...Array.from({ length: 257 }, (_, i) => 0x100 + i)));
    assert.ok(large.indices instanceof Uint16Array);
    assert.strictEqual(large.indices[256], 256);
  });

  it('names the byte offset of invalid UTF-8', () => {
    const cases: [number[], number][] = [
      [[0x61, 0x62, 0xff], 2], // never valid
      [[0x61, 0xc0, 0x80], 1], // overlong
      [[0x61, 0x62, 0x63, 0xed, 0xa0, 0x80], 3], // surrogate
      [[0x61, 0xe2, 0x82], 1], // truncated at the end
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0x80], 1], // lone continuation byte
    ];
    for (const [bytes, offset] of cases) {
      assert.throws(
        () => Corpus.fromBytes(Uint8Array.from(bytes), 'f.txt'),
        (e: Error) => e instanceof UserError && e.message.includes(`byte offset ${offset} `),
        `bytes ${bytes}`
      );
    }
  });

  it('rejects an empty text, a missing file and a directory with one clear line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-corpus-'));
    writeFileSync(path.join(dir, 'empty.txt'), '');
    mkdirSync(path.join(dir, 'sub'));
    const expect = (file: string, words: string) =>
      assert.throws(
        () => Corpus.fromFile(path.join(dir, file)),
        (e: Error) => e instanceof UserError && e.message.includes(words) && !e.message.includes('\n')
      );
    expect('empty.txt', 'empty');
    expect('missing.txt', 'no such file');
    expect('sub', 'directory');
  });

  it('reads a file in chunks: characters across chunk ends, and offsets past the first chunk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-chunks-'));
    const chunk = 8 << 20;
    const file = path.join(dir, 'big.txt');
    writeFileSync(file, Buffer.concat([Buffer.alloc(chunk - 2, 'a'), Buffer.from('🙂ü\n', 'utf8')]));
    const corpus = Corpus.fromFile(file);
    assert.strictEqual(corpus.length, chunk - 2 + 3);
    assert.strictEqual(corpus.decode(corpus.indices.subarray(chunk - 3)), 'a🙂ü\n');
    assert.strictEqual(corpus.sha256, Corpus.fromText('a'.repeat(chunk - 2) + '🙂ü\n').sha256);
    const fractions: number[] = [];
    Corpus.fromFile(file, (f) => fractions.push(f));
    assert.ok(fractions.length > 0 && fractions.every((f, i) => f > 0 && f <= 1 && (i === 0 || f > fractions[i - 1])));

    writeFileSync(file, Buffer.concat([Buffer.alloc(chunk + 5, 'a'), Buffer.from([0xe2, 0x28])]));
    assert.throws(() => Corpus.fromFile(file), /invalid UTF-8 at byte offset 8388613 /);
    writeFileSync(file, Buffer.concat([Buffer.alloc(chunk - 1, 'a'), Buffer.from([0xf0, 0x9f, 0x99])]));
    assert.throws(() => Corpus.fromFile(file), new RegExp(`invalid UTF-8 at byte offset ${chunk - 1} `));
    writeFileSync(file, Buffer.concat([Buffer.alloc(chunk + 1, 'a'), Buffer.from([0])]));
    assert.throws(() => Corpus.fromFile(file), new RegExp(`a NUL byte at offset ${chunk + 1}\\)`));
  });

  it('encodes text and lists the characters outside the vocabulary', () => {
    const corpus = Corpus.fromText(UNICODE_TEXT);
    assert.strictEqual(corpus.decode(corpus.encode('Köln 🙂')), 'Köln 🙂');
    assert.throws(() => corpus.encode('Köln ✓ 🙃'), /"✓", "🙃"/);
  });

  it('ships a fixed demo corpus of about 1 MB', () => {
    const demo = demoCorpus();
    assert.ok(demo.length <= DEMO_CHARACTERS && demo.length > DEMO_CHARACTERS - 2000, `length ${demo.length}`);
    assert.strictEqual(demo.decode(demo.indices.subarray(0, 26)), 'Creakiness and atmosphere ');
    assert.strictEqual(demoCorpus().vocabSize, demo.vocabSize);
  });
  it('decodes every sequence across block and chunk boundaries (ASCII stretches, 2- to 4-byte characters)', function () {
    this.timeout(30_000);
    // Over 4 MiB (a read chunk) and many 64 KiB blocks: long ASCII stretches, then dense runs of wide characters.
    const wide = ['é', 'ж', '中', '€', '😀', '𝄞', 'ü'];
    let state = 99;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
    const parts: string[] = [];
    for (let length = 0; length < 4_400_000; ) {
      const part = next() % 3 === 0 ? Array.from({ length: 1 + (next() % 5000) }, () => wide[next() % wide.length]).join('') : 'x'.repeat(1 + (next() % 90000));
      parts.push(part);
      length += Buffer.byteLength(part);
    }
    const text = parts.join('');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rnn-decode-')), 'mixed.txt');
    writeFileSync(file, text);
    const corpus = Corpus.fromFile(file);
    assert.strictEqual(corpus.length, Array.from(text).length);
    assert.ok(corpus.decode(corpus.indices) === text, 'the decoded text is the file');
  });
});
