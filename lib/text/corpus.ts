// The corpus and its vocabulary: the sorted set of Unicode code points that occur in a UTF-8
// text, and the text as an index array (1 byte a character when K ≤ 256, else 2). A corpus of
// several files (documents) is their texts joined by a separator.
import { createHash } from 'crypto';
import { closeSync, readSync, statSync } from 'fs';
import { UserError } from '../util/errors';
import { describeReadError, openRegularFile } from '../util/files';
import { heldOutLength } from '../model/stream-walk';
import { TextInput } from './inputs';
import { MAX_VOCABULARY, Vocabulary } from './vocabulary';

/** Called with the fraction done after each chunk while a text is read and indexed. */
export type ProgressCallback = (fraction: number) => void;

const CODE_POINTS = 0x110000;

/** Reads of a text, from its start each time it is called: one array, or a file in chunks. */
type ByteSource = () => Iterable<Uint8Array>;

const CHUNK_BYTES = 8 << 20;

/** A text that is not UTF-8 (or holds a NUL byte): in a folder, a file skipped as binary. */
class NotText extends UserError {}

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
        throw new NotText(`${source}: looks like a binary file (a NUL byte at offset ${base + i}); the text must be UTF-8`);
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

function invalidUtf8(source: string, bytes: Uint8Array, offset: number, base: number): NotText {
  const shown = Array.from(bytes.subarray(offset, offset + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new NotText(`${source}: invalid UTF-8 at byte offset ${base + offset} (bytes ${shown}); the text must be UTF-8`);
}

/** A file in chunks of CHUNK_BYTES, opened at each read, so that the whole file is never held in memory at once. */
function fileChunks(file: string, notRegular: string): ByteSource {
  return function* () {
    const { fd } = openRegularFile(file, notRegular);
    try {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      for (let position = 0; ; ) {
        const read = readBytes(fd, buffer, position, file);
        if (read === 0) return;
        position += read;
        yield buffer.subarray(0, read);
      }
    } finally {
      closeSync(fd);
    }
  };
}

function readBytes(fd: number, buffer: Buffer, position: number, file: string): number {
  try {
    return readSync(fd, buffer, 0, buffer.length, position);
  } catch (error) {
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  }
}

/**
 * Each code point of a UTF-8 file in order, read in chunks (memory: one chunk), with the refusals
 * of Corpus.fromFile (invalid UTF-8, a file that is not regular).
 */
export function forEachCodePoint(path: string, onCodePoint: (cp: number) => void): void {
  decodeSource(fileChunks(path, 'not a regular file'), path, onCodePoint, () => {});
}

/** A file of a corpus, as config.json records it. */
export interface CorpusFile {
  path: string;
  bytes: number;
  /** SHA-256 of the file, in hex. */
  sha256: string;
}

/** A document of a corpus: its name and where its symbols are in the index array. */
export interface CorpusDocument {
  source: string;
  start: number;
  length: number;
}

/** A file left out of a folder: binary (not UTF-8, or holding a NUL byte) or empty. */
export interface SkippedFile {
  path: string;
  why: 'binary' | 'empty';
}

/** A text to read: its bytes (from the start at each call), its size in bytes and name, and whether a binary or empty one is skipped rather than refused. */
interface TextSource {
  read: ByteSource;
  size: number;
  name: string;
  skippable: boolean;
  /** Recorded as a file of the corpus. */
  file: boolean;
  /** The file's size and modification time: a file written again between the passes is refused, even with the same text. */
  stamp?: () => string;
}

/** A text of the first pass: its length in characters and hash. */
interface ReadText {
  source: TextSource;
  stamp: string | undefined;
  length: number;
  bytes: number;
  sha256: string;
}

const NOT_REGULAR = 'not a regular file (the text is read twice, so save it to a file first)';

/** Between the documents of a corpus, unless another is given: each document starts on a line of its own. */
export const DEFAULT_SEPARATOR = '\n';

/** A separator as the command line gives it: \n, \t and \\ are escapes, any other backslash is itself. */
export function unescapeSeparator(text: string): string {
  return text.replace(/\\([nt\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

export class Corpus {
  private constructor(
    /** The vocabulary: one string per symbol (a whole code point), sorted by code point. */
    readonly vocabulary: readonly string[],
    /** The text as symbol indices: the documents, joined by the separator. */
    readonly indices: Uint8Array | Uint16Array,
    /** SHA-256 of the text's UTF-8 bytes (the documents joined by the separator), in hex: checkpoints record it to refuse another text. */
    readonly sha256: string,
    readonly vocab: Vocabulary,
    /** Where the text came from (a path, or a description of several), for messages. */
    readonly source: string,
    readonly documents: readonly CorpusDocument[],
    /** The files read, in order (none for a text given as a string). */
    readonly files: readonly CorpusFile[],
    /** Joins the documents (when there are several). */
    readonly separator: string,
    /** Files of folders left out: binary or empty. */
    readonly skipped: readonly SkippedFile[]
  ) {}

  /** Reads a UTF-8 file in chunks: memory is the index array (1 or 2 bytes a character) and one chunk. */
  static fromFile(path: string, onProgress?: ProgressCallback): Corpus {
    return Corpus.fromFiles([{ path, inFolder: false }], { onProgress });
  }

  /**
   * Reads several files as one corpus, their texts joined by the separator. Files from a folder
   * that are binary or empty are skipped (listed in `skipped`); any other is refused.
   */
  static fromFiles(inputs: readonly TextInput[], options: { separator?: string; source?: string; onProgress?: ProgressCallback } = {}): Corpus {
    if (inputs.length === 0) throw new UserError('Corpus.fromFiles: give at least one file');
    const sources = inputs.map(
      (input): TextSource => ({
        read: fileChunks(input.path, NOT_REGULAR),
        size: sizeOf(input.path),
        name: input.path,
        skippable: input.inFolder,
        file: true,
        stamp: () => stampOf(input.path),
      })
    );
    return Corpus.fromSources(sources, options.separator ?? DEFAULT_SEPARATOR, options.source ?? inputs[0].path, options.onProgress);
  }

  static fromText(text: string, source = 'text'): Corpus {
    if (typeof text !== 'string') throw new UserError(`Corpus.fromText: the text must be a string, got ${typeof text}`);
    return Corpus.fromBytes(Buffer.from(text, 'utf8'), source);
  }

  static fromBytes(bytes: Uint8Array, source = 'text', onProgress?: ProgressCallback): Corpus {
    return Corpus.fromSources([{ read: () => [bytes], size: bytes.length, name: source, skippable: false, file: false }], DEFAULT_SEPARATOR, source, onProgress);
  }

  /**
   * Two passes over the texts: the vocabulary, each text's SHA-256 and length, then the index array.
   * The second pass hashes again and must see the same texts: a text that changed in between is an
   * error, never an index array of another text (nor a character indexed as symbol 0).
   */
  private static fromSources(sources: TextSource[], separator: string, name: string, onProgress?: ProgressCallback): Corpus {
    // Progress: each pass is half, in bytes read of the texts it reads.
    const progress = (pass: number, bytes: number, of: number) => onProgress?.((pass + Math.min(1, bytes / Math.max(1, of))) / 2);
    const total = sources.reduce((sum, s) => sum + s.size, 0);
    const seen = new Uint8Array(CODE_POINTS);
    const { texts, skipped } = firstPass(sources, seen, (bytes) => progress(0, bytes, total));
    if (texts.length === 0) throw nothingToRead(skipped);
    if (texts.length > 1) for (const ch of separator) seen[ch.codePointAt(0)!] = 1;
    const separatorLength = texts.length > 1 ? Array.from(separator).length : 0;
    const length = texts.reduce((sum, t) => sum + t.length, 0) + separatorLength * (texts.length - 1);

    const codePoints: number[] = [];
    const indexOf = new Int32Array(CODE_POINTS).fill(-1);
    for (let cp = 0; cp < CODE_POINTS; cp++) {
      if (seen[cp]) {
        indexOf[cp] = codePoints.length;
        codePoints.push(cp);
      }
    }
    if (codePoints.length > MAX_VOCABULARY) {
      throw new UserError(`${name}: ${codePoints.length} distinct characters; at most ${MAX_VOCABULARY} are supported`);
    }
    const indices = codePoints.length <= 256 ? new Uint8Array(length) : new Uint16Array(length);
    const whole = createHash('sha256');
    const separatorBytes = Buffer.from(separator, 'utf8');
    const separatorSymbols = Array.from(separator, (ch) => indexOf[ch.codePointAt(0)!]);
    const documents: CorpusDocument[] = [];
    const kept = texts.reduce((sum, text) => sum + text.source.size, 0);
    let before = 0;
    let t = 0;
    texts.forEach((text, i) => {
      if (i > 0) {
        whole.update(separatorBytes);
        for (const symbol of separatorSymbols) indices[t++] = symbol;
      }
      const start = t;
      const hash = createHash('sha256');
      decodeSource(
        text.source.read,
        text.source.name,
        (cp) => {
          const index = indexOf[cp];
          if (index < 0 || t === start + text.length) throw changedWhileRead(text.source.name);
          indices[t++] = index;
        },
        (chunk, bytes) => {
          hash.update(chunk);
          whole.update(chunk);
          progress(1, before + bytes, kept);
        }
      );
      if (t !== start + text.length || hash.digest('hex') !== text.sha256 || text.source.stamp?.() !== text.stamp) throw changedWhileRead(text.source.name);
      before += text.source.size;
      documents.push({ source: text.source.name, start, length: text.length });
    });
    const sha256 = texts.length === 1 ? texts[0].sha256 : whole.digest('hex');
    const files = texts.filter((text) => text.source.file).map((text) => ({ path: text.source.name, bytes: text.bytes, sha256: text.sha256 }));
    const vocabulary = codePoints.map((cp) => String.fromCodePoint(cp));
    return new Corpus(vocabulary, indices, sha256, new Vocabulary(vocabulary), name, documents, files, separator, skipped);
  }

  /** K, the number of distinct symbols. */
  get vocabSize(): number {
    return this.vocabulary.length;
  }

  /** The number of characters (code points). */
  get length(): number {
    return this.indices.length;
  }

  /**
   * The text trained on and the text held out: the last ⌊fraction·n⌋ characters of each document
   * are held out, the documents' parts joined by the separator. One document needs no copy.
   */
  split(fraction: number): { training: Uint8Array | Uint16Array; heldOut: Uint8Array | Uint16Array } {
    if (this.documents.length === 1) {
      const heldOut = heldOutLength(this.length, fraction, this.source);
      return { training: this.indices.subarray(0, this.length - heldOut), heldOut: this.indices.subarray(this.length - heldOut) };
    }
    const cuts = this.documents.map((d) => ({ ...d, heldOut: Math.floor(fraction * d.length) }));
    const heldOutParts = cuts.filter((d) => d.heldOut > 0).map((d) => this.indices.subarray(d.start + d.length - d.heldOut, d.start + d.length));
    const heldOut = this.joined(heldOutParts);
    if (fraction > 0 && heldOut.length < 2) {
      throw new UserError(`${this.source}: --val-fraction ${fraction} holds out ${heldOut.length} characters of its ${this.documents.length} documents, and validation needs at least 2`);
    }
    return { training: this.joined(cuts.map((d) => this.indices.subarray(d.start, d.start + d.length - d.heldOut))), heldOut };
  }

  /** The symbol index of each character of text; throws a UserError listing unknown characters. */
  encode(text: string): Int32Array {
    return this.vocab.encode(text);
  }

  decode(symbols: ArrayLike<number>): string {
    return this.vocab.decode(symbols);
  }

  /** Parts of the index array joined by the separator's symbols. */
  private joined(parts: (Uint8Array | Uint16Array)[]): Uint8Array | Uint16Array {
    const separator = parts.length > 1 ? this.vocab.encode(this.separator) : new Int32Array(0);
    const length = parts.reduce((sum, p) => sum + p.length, 0) + separator.length * Math.max(0, parts.length - 1);
    const out = this.indices instanceof Uint8Array ? new Uint8Array(length) : new Uint16Array(length);
    let at = 0;
    parts.forEach((part, i) => {
      if (i > 0) {
        out.set(separator, at);
        at += separator.length;
      }
      out.set(part, at);
      at += part.length;
    });
    return out;
  }
}

/**
 * The first pass: the code points seen (marked in `seen`), each text's length and SHA-256. A
 * skippable text found binary or empty is left out (its code points unmarked).
 */
function firstPass(sources: TextSource[], seen: Uint8Array, progress: (bytes: number) => void): { texts: ReadText[]; skipped: SkippedFile[] } {
  const texts: ReadText[] = [];
  const skipped: SkippedFile[] = [];
  let before = 0;
  for (const source of sources) {
    const newlySeen: number[] = [];
    const stamp = source.stamp?.();
    const hash = createHash('sha256');
    let length = 0;
    let bytes = 0;
    try {
      decodeSource(
        source.read,
        source.name,
        (cp) => {
          if (!seen[cp]) {
            seen[cp] = 1;
            newlySeen.push(cp);
          }
          length++;
        },
        (chunk, read) => {
          hash.update(chunk);
          bytes += chunk.length;
          progress(before + read);
        }
      );
    } catch (error) {
      if (!(error instanceof NotText && source.skippable)) throw error;
      for (const cp of newlySeen) seen[cp] = 0;
      skipped.push({ path: source.name, why: 'binary' });
      before += source.size;
      continue;
    }
    before += source.size;
    if (length > 0) texts.push({ source, stamp, length, bytes, sha256: hash.digest('hex') });
    else if (source.skippable) skipped.push({ path: source.name, why: 'empty' });
    else throw new UserError(`${source.name}: the text is empty`);
  }
  return { texts, skipped };
}

function nothingToRead(skipped: SkippedFile[]): UserError {
  const binary = skipped.filter((s) => s.why === 'binary').length;
  const what = binary === skipped.length ? 'binary' : binary === 0 ? 'empty' : 'binary or empty';
  return new UserError(`no text to train on: ${skipped.length === 1 ? 'the one file is' : `all ${skipped.length} files are`} ${what} (${listed(skipped.map((s) => s.path))})`);
}

/** "a, b, c and 4 more" */
export function listed(names: readonly string[], shown = 3): string {
  const head = names.slice(0, shown).join(', ');
  return names.length > shown ? `${head} and ${names.length - shown} more` : head;
}

function stampOf(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'gone';
  }
}

/** The size in bytes of a file, for progress (0 when unreadable: reading it reports the problem). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function changedWhileRead(source: string): UserError {
  return new UserError(`${source}: the file changed while it was read (it is read twice); train again once nothing writes to it`);
}
