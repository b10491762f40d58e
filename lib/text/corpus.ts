// The corpus and its vocabulary: the sorted set of Unicode code points that occur in a UTF-8
// text, and the text as an index array (1 byte a character when K ≤ 256, else 2).
import { createHash } from 'crypto';
import { closeSync, fstatSync, readSync } from 'fs';
import { UserError } from '../util/errors';
import { describeReadError, openRegularFile } from '../util/files';
import { MAX_VOCABULARY, Vocabulary } from './vocabulary';

/** Called with the fraction done after each chunk while a text is read and indexed. */
export type ProgressCallback = (fraction: number) => void;

const CODE_POINTS = 0x110000;

/** Reads of a text, from its start each time it is called: one array, or a file in chunks. */
type ByteSource = () => Iterable<Uint8Array>;

const CHUNK_BYTES = 8 << 20;

/**
 * Calls onCodePoint for each code point of strict UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF) in bytes, whose first byte is at offset `base` of the text. Returns how many
 * bytes it decoded: all of them, or, when `final` is false, up to a sequence cut by the end of
 * the chunk. Throws a UserError naming the text offset of an invalid sequence or of a NUL byte.
 */
function decodeUtf8(bytes: Uint8Array, base: number, final: boolean, source: string, onCodePoint: (cp: number) => void): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i];
    if (b0 < 0x80) {
      if (b0 === 0) {
        throw new UserError(`${source}: looks like a binary file (a NUL byte at offset ${base + i}); the text must be UTF-8`);
      }
      onCodePoint(b0);
      i += 1;
      continue;
    }
    let need: number;
    let cp: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      if (b0 === 0xe0) lo = 0xa0; // no overlongs
      if (b0 === 0xed) hi = 0x9f; // no surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      if (b0 === 0xf0) lo = 0x90; // no overlongs
      if (b0 === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else {
      throw invalidUtf8(source, bytes, i, base);
    }
    for (let k = 1; k <= need; k++) {
      if (i + k >= n && !final) return i; // the rest of the sequence is in the next chunk
      const b = i + k < n ? bytes[i + k] : -1;
      if (b < lo || b > hi) throw invalidUtf8(source, bytes, i, base);
      cp = (cp << 6) | (b & 0x3f);
      lo = 0x80;
      hi = 0xbf;
    }
    onCodePoint(cp);
    i += need + 1;
  }
  return n;
}

/** Decodes a whole source chunk by chunk, carrying a sequence cut at a chunk's end. */
function decodeSource(
  read: ByteSource,
  source: string,
  onCodePoint: (cp: number) => void,
  onChunk: (chunk: Uint8Array, bytesDone: number) => void
): void {
  let carry = new Uint8Array(0);
  let base = 0;
  for (const chunk of read()) {
    onChunk(chunk, base + carry.length + chunk.length);
    const bytes = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const decoded = decodeUtf8(bytes, base, false, source, onCodePoint);
    carry = Uint8Array.from(bytes.subarray(decoded));
    base += decoded;
  }
  decodeUtf8(carry, base, true, source, onCodePoint);
}

function invalidUtf8(source: string, bytes: Uint8Array, offset: number, base: number): UserError {
  const shown = Array.from(bytes.subarray(offset, offset + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new UserError(`${source}: invalid UTF-8 at byte offset ${base + offset} (bytes ${shown}); the text must be UTF-8`);
}

/** A file in chunks of CHUNK_BYTES, so that the whole file is never held in memory at once. */
function fileChunks(fd: number): ByteSource {
  return function* () {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = 0; ; ) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, position);
      if (read === 0) return;
      position += read;
      yield buffer.subarray(0, read);
    }
  };
}

/**
 * Each code point of a UTF-8 file in order, read in chunks (memory: one chunk), with the refusals
 * of Corpus.fromFile (invalid UTF-8, a file that is not regular).
 */
export function forEachCodePoint(path: string, onCodePoint: (cp: number) => void): void {
  const { fd } = openRegularFile(path, 'not a regular file');
  try {
    decodeSource(fileChunks(fd), path, onCodePoint, () => {});
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  } finally {
    closeSync(fd);
  }
}

export class Corpus {
  private constructor(
    /** The vocabulary: one string per symbol (a whole code point), sorted by code point. */
    readonly vocabulary: readonly string[],
    /** The text as symbol indices. */
    readonly indices: Uint8Array | Uint16Array,
    /** SHA-256 of the text's UTF-8 bytes, in hex: checkpoints record it to refuse another text. */
    readonly sha256: string,
    readonly vocab: Vocabulary,
    /** Where the text came from (a path), for messages. */
    readonly source: string
  ) {}

  /** Reads a UTF-8 file in chunks: memory is the index array (1 or 2 bytes a character) and one chunk. */
  static fromFile(path: string, onProgress?: ProgressCallback): Corpus {
    const { fd, stat } = openRegularFile(path, 'not a regular file (the text is read twice, so save it to a file first)');
    try {
      const corpus = Corpus.fromSource(fileChunks(fd), stat.size, path, onProgress);
      const after = fstatSync(fd);
      if (after.size !== stat.size || after.mtimeMs !== stat.mtimeMs) throw changedWhileRead(path);
      return corpus;
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`${path}: ${describeReadError(error as NodeJS.ErrnoException)}`);
    } finally {
      closeSync(fd);
    }
  }

  static fromText(text: string, source = 'text'): Corpus {
    if (typeof text !== 'string') throw new UserError(`Corpus.fromText: the text must be a string, got ${typeof text}`);
    return Corpus.fromBytes(Buffer.from(text, 'utf8'), source);
  }

  static fromBytes(bytes: Uint8Array, source = 'text', onProgress?: ProgressCallback): Corpus {
    return Corpus.fromSource(() => [bytes], bytes.length, source, onProgress);
  }

  /**
   * Two passes over the text: the vocabulary, its SHA-256 and length, then the index array. The
   * second pass hashes again and must see the same text: a text that changed in between is an
   * error, never an index array of another text (nor a character indexed as symbol 0).
   */
  private static fromSource(read: ByteSource, size: number, source: string, onProgress?: ProgressCallback): Corpus {
    if (size === 0) throw new UserError(`${source}: the text is empty`);
    const report = (pass: number) => (_chunk: Uint8Array, done: number) =>
      onProgress?.((pass + Math.min(1, done / size)) / 2);
    const seen = new Uint8Array(CODE_POINTS);
    const hash = createHash('sha256');
    const firstPass = report(0);
    let length = 0;
    decodeSource(
      read,
      source,
      (cp) => {
        seen[cp] = 1;
        length++;
      },
      (chunk, done) => {
        hash.update(chunk);
        firstPass(chunk, done);
      }
    );

    const codePoints: number[] = [];
    const indexOf = new Int32Array(CODE_POINTS).fill(-1);
    for (let cp = 0; cp < CODE_POINTS; cp++) {
      if (seen[cp]) {
        indexOf[cp] = codePoints.length;
        codePoints.push(cp);
      }
    }
    if (codePoints.length > MAX_VOCABULARY) {
      throw new UserError(`${source}: ${codePoints.length} distinct characters; at most ${MAX_VOCABULARY} are supported`);
    }
    const indices = codePoints.length <= 256 ? new Uint8Array(length) : new Uint16Array(length);
    let t = 0;
    const secondHash = createHash('sha256');
    const secondPass = report(1);
    decodeSource(
      read,
      source,
      (cp) => {
        const index = indexOf[cp];
        if (index < 0 || t === length) throw changedWhileRead(source);
        indices[t++] = index;
      },
      (chunk, done) => {
        secondHash.update(chunk);
        secondPass(chunk, done);
      }
    );
    const sha256 = hash.digest('hex');
    if (t !== length || secondHash.digest('hex') !== sha256) throw changedWhileRead(source);
    const vocabulary = codePoints.map((cp) => String.fromCodePoint(cp));
    return new Corpus(vocabulary, indices, sha256, new Vocabulary(vocabulary), source);
  }

  /** K, the number of distinct symbols. */
  get vocabSize(): number {
    return this.vocabulary.length;
  }

  /** The number of characters (code points). */
  get length(): number {
    return this.indices.length;
  }

  /** The symbol index of each character of text; throws a UserError listing unknown characters. */
  encode(text: string): Int32Array {
    return this.vocab.encode(text);
  }

  decode(symbols: ArrayLike<number>): string {
    return this.vocab.decode(symbols);
  }

  /**
   * The same text indexed in another vocabulary, one that holds each of its characters (a trained
   * model's, which the text may use only part of: train --init-from). The SHA-256 and source stay
   * the text's. A character the vocabulary lacks is a UserError listing them (`model` names it).
   */
  inVocabulary(vocab: Vocabulary, model = 'the model'): Corpus {
    if (vocab.symbols.length === this.vocabulary.length && vocab.symbols.every((s, i) => s === this.vocabulary[i])) return this;
    const to = this.vocabulary.map((s) => vocab.indexOf(s.codePointAt(0)!));
    const lacking = this.vocabulary.filter((_, i) => to[i] < 0);
    if (lacking.length > 0) {
      const shown = lacking.slice(0, 40).map((s) => JSON.stringify(s)).join(', ');
      const more = lacking.length > 40 ? ` and ${lacking.length - 40} more` : '';
      const count = `${lacking.length} character${lacking.length === 1 ? '' : 's'}`;
      throw new UserError(`${this.source} has ${count} not in the vocabulary of ${model} (${vocab.size} characters, which it keeps): ${shown}${more}`);
    }
    const indices = vocab.size <= 256 ? new Uint8Array(this.length) : new Uint16Array(this.length);
    for (let t = 0; t < this.length; t++) indices[t] = to[this.indices[t]];
    return new Corpus(vocab.symbols, indices, this.sha256, vocab, this.source);
  }
}

function changedWhileRead(source: string): UserError {
  return new UserError(`${source}: the file changed while it was read (it is read twice); train again once nothing writes to it`);
}
