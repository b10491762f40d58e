// The corpus and its vocabulary: the sorted set of Unicode code points that occur in a UTF-8
// text, and the text as an index array (1 byte a character when K ≤ 256, else 2). A corpus of
// several files (documents) is their texts joined by a separator.
import { createHash } from 'crypto';
import { statSync } from 'fs';
import { UserError } from '../util/errors';
import { heldOutLength } from '../model/stream-walk';
import { TextInput } from './inputs';
import { arrayText, joinedText, readAll, Span, SymbolArray, SymbolText } from './symbol-text';
import { ByteSource, decodeSource, fileChunks, NotText } from './utf8';
import { MAX_VOCABULARY, Vocabulary } from './vocabulary';

/** Called with the fraction done after each chunk while a text is read and indexed. */
export type ProgressCallback = (fraction: number) => void;

const CODE_POINTS = 0x110000;

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
export interface TextSource {
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
export interface ReadText {
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

/** What a corpus is made of. */
export interface CorpusParts {
  vocabulary: readonly string[];
  symbols: SymbolText;
  sha256: string;
  source: string;
  documents: readonly CorpusDocument[];
  files: readonly CorpusFile[];
  separator: string;
  skipped: readonly SkippedFile[];
}

export class Corpus {
  private constructor(
    /** The vocabulary: one string per symbol (a whole code point), sorted by code point. */
    readonly vocabulary: readonly string[],
    /** The text as symbol indices: the documents, joined by the separator (in memory, or a token file). */
    readonly symbols: SymbolText,
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
    return Corpus.fromSources(fileSources(inputs), options.separator ?? DEFAULT_SEPARATOR, options.source ?? inputs[0].path, options.onProgress);
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
    const { texts, skipped, codePoints, indexOf, length } = surveyTexts(sources, separator, name, (bytes, of) => progress(0, bytes, of));
    const indices = codePoints.length <= 256 ? new Uint8Array(length) : new Uint16Array(length);
    let t = 0;
    const { documents, sha256 } = indexTexts(texts, separator, indexOf, indices instanceof Uint8Array ? 1 : 2, (block) => {
      indices.set(block, t);
      t += block.length;
    }, (bytes, of) => progress(1, bytes, of));
    const files = texts.filter((text) => text.source.file).map((text) => ({ path: text.source.name, bytes: text.bytes, sha256: text.sha256 }));
    const vocabulary = codePoints.map((cp) => String.fromCodePoint(cp));
    return new Corpus(vocabulary, arrayText(indices), sha256, new Vocabulary(vocabulary), name, documents, files, separator, skipped);
  }

  /** A corpus whose parts were read before (the token cache's). */
  static of(parts: CorpusParts): Corpus {
    const { vocabulary, symbols, sha256, source, documents, files, separator, skipped } = parts;
    return new Corpus(vocabulary, symbols, sha256, new Vocabulary(vocabulary), source, documents, files, separator, skipped);
  }

  /** K, the number of distinct symbols. */
  get vocabSize(): number {
    return this.vocabulary.length;
  }

  /** The number of characters (code points). */
  get length(): number {
    return this.symbols.length;
  }

  /** The text as an index array in memory (a text read through the token cache is read by ranges: `symbols`). */
  get indices(): SymbolArray {
    return readAll(this.symbols);
  }

  /**
   * The text trained on and the text held out: the last ⌊fraction·n⌋ characters of each document
   * are held out, the documents' parts joined by the separator (one document: the end of the text).
   */
  split(fraction: number): { training: SymbolText; heldOut: SymbolArray } {
    const one = this.documents.length === 1;
    const cuts = this.documents.map((d) => ({ ...d, heldOut: one ? heldOutLength(d.length, fraction, this.source) : Math.floor(fraction * d.length) }));
    const separator = one ? [] : this.vocab.encode(this.separator);
    const spans = (part: (d: (typeof cuts)[number]) => Span) => cuts.map(part);
    const heldOut = readAll(joinedText(this.symbols, spans((d) => ({ start: d.start + d.length - d.heldOut, length: d.heldOut })), separator));
    if (!one && fraction > 0 && heldOut.length < 2) {
      throw new UserError(`${this.source}: --val-fraction ${fraction} holds out ${heldOut.length} characters of its ${this.documents.length} documents, and validation needs at least 2`);
    }
    return { training: joinedText(this.symbols, spans((d) => ({ start: d.start, length: d.length - d.heldOut })), separator), heldOut };
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
    const wide = vocab.size > 256;
    // Mapped as it is read: a text in the token cache is never held whole.
    const symbols: SymbolText = {
      length: this.length,
      symbolBytes: wide ? 2 : 1,
      read: (start, end) => {
        const from = this.symbols.read(start, end);
        const out = wide ? new Uint16Array(from.length) : new Uint8Array(from.length);
        for (let t = 0; t < from.length; t++) out[t] = to[from[t]];
        return out;
      },
    };
    const { sha256, source, documents, files, separator, skipped } = this;
    return Corpus.of({ vocabulary: vocab.symbols, symbols, sha256, source, documents, files, separator, skipped });
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
        (codePoints) => {
          for (let i = 0; i < codePoints.length; i++) {
            const cp = codePoints[i];
            if (seen[cp] === 0) {
              seen[cp] = 1;
              newlySeen.push(cp);
            }
          }
          length += codePoints.length;
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

/** The first pass over texts and what it finds: the texts kept, the files skipped, the vocabulary and the joined length. */
export interface Survey {
  texts: ReadText[];
  skipped: SkippedFile[];
  /** The vocabulary's code points, in order. */
  codePoints: number[];
  /** The symbol of each code point (−1: none). */
  indexOf: Int32Array;
  /** Characters of the texts joined by the separator. */
  length: number;
}

/** The first pass and the vocabulary: nothing to read, or more than MAX_VOCABULARY characters, is a UserError. */
export function surveyTexts(sources: TextSource[], separator: string, name: string, progress: (bytes: number, of: number) => void): Survey {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(separator)) {
    throw new UserError(`the separator ${JSON.stringify(separator)} is not well-formed text (it holds a lone surrogate)`);
  }
  const total = sources.reduce((sum, s) => sum + s.size, 0);
  const seen = new Uint8Array(CODE_POINTS);
  const { texts, skipped } = firstPass(sources, seen, (bytes) => progress(bytes, total));
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
  return { texts, skipped, codePoints, indexOf, length };
}

/** The sources of files to read (a folder's may be skipped when binary or empty). */
export function fileSources(inputs: readonly TextInput[]): TextSource[] {
  return inputs.map((input) => ({
    read: fileChunks(input.path, NOT_REGULAR),
    size: sizeOf(input.path),
    name: input.path,
    skippable: input.inFolder,
    file: true,
    stamp: () => stampOf(input.path),
  }));
}

/**
 * The second pass: each text's symbols, the separator's between them, given to `emit` block by
 * block (a view valid until it returns). A text that is not what the first pass read (another
 * length, hash or modification time, a character it did not see) is refused. Returns where each
 * document starts and the SHA-256 of the joined text.
 */
export function indexTexts(
  texts: readonly ReadText[],
  separator: string,
  indexOf: Int32Array,
  symbolBytes: 1 | 2,
  emit: (block: SymbolArray) => void,
  progress: (bytes: number, of: number) => void
): { documents: CorpusDocument[]; sha256: string } {
  const whole = createHash('sha256');
  const separatorBytes = Buffer.from(separator, 'utf8');
  const separatorSymbols = Array.from(separator, (ch) => indexOf[ch.codePointAt(0)!]);
  const documents: CorpusDocument[] = [];
  const kept = texts.reduce((sum, text) => sum + text.source.size, 0);
  let block: SymbolArray = new Uint8Array(0);
  let before = 0;
  let t = 0;
  texts.forEach((text, i) => {
    if (i > 0) {
      whole.update(separatorBytes);
      emit((symbolBytes === 1 ? Uint8Array : Uint16Array).from(separatorSymbols));
      t += separatorSymbols.length;
    }
    const start = t;
    const hash = createHash('sha256');
    decodeSource(
      text.source.read,
      text.source.name,
      (codePoints) => {
        if (block.length < codePoints.length) block = symbolBytes === 1 ? new Uint8Array(codePoints.length) : new Uint16Array(codePoints.length);
        const n = codePoints.length;
        if (t - start + n > text.length) throw changedWhileRead(text.source.name);
        for (let k = 0; k < n; k++) {
          const index = indexOf[codePoints[k]];
          if (index < 0) throw changedWhileRead(text.source.name);
          block[k] = index;
        }
        emit(block.subarray(0, n));
        t += n;
      },
      (chunk, bytes) => {
        hash.update(chunk);
        if (texts.length > 1) whole.update(chunk);
        progress(before + bytes, kept);
      }
    );
    if (t !== start + text.length || hash.digest('hex') !== text.sha256 || text.source.stamp?.() !== text.stamp) throw changedWhileRead(text.source.name);
    before += text.source.size;
    documents.push({ source: text.source.name, start, length: text.length });
  });
  return { documents, sha256: texts.length === 1 ? texts[0].sha256 : whole.digest('hex') };
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
