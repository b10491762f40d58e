// The token cache: a text encoded once into a file of symbol ids (1 byte each for up to 256
// symbols, else 2, little-endian), which training reads by ranges, so that a text bigger than
// memory trains in bounded memory, and a second run on the same text starts without reading it.
//
//   DIR/tokens-v1/<key>/tokens.bin, meta.json   key: SHA-256 of the files' SHA-256s and the separator
//   DIR/tokens-v1/stamps/<id>.json               the files' paths, sizes, times and inodes → key
//
// A run finds its entry by the stamps of its files (no reading); a file whose stamp changed is read
// and hashed again, and finds the entry by content when only its stamp changed (a copy, a touch).
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'fs';
import { homedir } from 'os';
import path from 'path';
import { UserError } from '../util/errors';
import { AtomicWriter, makeDirectory, writeFileAtomic } from '../util/files';
import { Corpus, CorpusDocument, fileSources, indexTexts, SkippedFile, surveyTexts } from './corpus';
import { TextInput } from './inputs';
import { fileText } from './symbol-text';

const FORMAT = 'rnn-native-tokens';
const LAYOUT = 'tokens-v1';

/** $XDG_CACHE_HOME/rnn-native, else ~/.cache/rnn-native. */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'rnn-native');
}

interface Meta {
  format: typeof FORMAT;
  version: 1;
  /** SHA-256 of the joined text (the corpus's). */
  sha256: string;
  vocabulary: string[];
  symbolBytes: 1 | 2;
  length: number;
  separator: string;
  documents: { length: number; bytes: number; sha256: string }[];
  created: string;
}

interface Stamps {
  key: string;
  files: { path: string; stamp: string; skipped?: SkippedFile['why'] }[];
}

export interface CacheOptions {
  dir: string;
  separator: string;
  /** Names the text in messages. */
  source: string;
  /** The fraction done, while a text is encoded. */
  onProgress?: (fraction: number) => void;
  /** A line the user should read (an entry rebuilt). */
  onNote?: (line: string) => void;
}

/** The corpus of the files, through the cache: found by the files' stamps, else by their contents, else encoded into it. */
export function cachedCorpus(inputs: readonly TextInput[], given: CacheOptions): Corpus {
  const root = path.join(given.dir, LAYOUT);
  // An entry is looked up by its stamps, then by content: its note is said once.
  const noted = new Set<string>();
  const options = { ...given, onNote: (line: string) => noted.has(line) || (noted.add(line), given.onNote?.(line)) };
  const real = inputs.map((input) => realOrSelf(input.path));
  const stampsFile = path.join(root, 'stamps', `${digest(JSON.stringify({ separator: options.separator, files: real }))}.json`);
  const byStamps = readJson<Stamps>(stampsFile);
  if (byStamps !== undefined && byStamps.files.length === real.length && byStamps.files.every((f, i) => f.path === real[i] && f.stamp === stampOf(real[i]))) {
    const found = openEntry(root, byStamps.key, options);
    if (found !== undefined) return corpusOf(found, inputs, byStamps.files.map((f) => f.skipped), options);
  }
  // Half the progress for reading, half for encoding (a hit by content skips the second).
  const survey = surveyTexts(fileSources(inputs), options.separator, options.source, (bytes, of) => options.onProgress?.(Math.min(1, bytes / Math.max(1, of)) / 2));
  const key = digest(JSON.stringify({ separator: survey.texts.length > 1 ? options.separator : '', files: survey.texts.map((t) => t.sha256) }));
  const skippedOf = new Map(survey.skipped.map((s) => [s.path, s.why]));
  const skipped = inputs.map((input) => skippedOf.get(input.path));
  let entry = openEntry(root, key, options);
  if (entry === undefined) entry = encode(root, key, survey, options);
  makeDirectory(path.join(root, 'stamps'));
  const stamps: Stamps = { key, files: real.map((file, i) => ({ path: file, stamp: stampOf(file), ...(skipped[i] ? { skipped: skipped[i] } : {}) })) };
  writeFileAtomic(stampsFile, JSON.stringify(stamps));
  return corpusOf(entry, inputs, skipped, options);
}

interface Entry {
  meta: Meta;
  tokens: string;
}

/** An entry whose meta.json reads and whose tokens.bin has its length; a truncated one is noted (and encoded again). */
function openEntry(root: string, key: string, options: CacheOptions): Entry | undefined {
  const dir = path.join(root, key);
  const meta = readJson<Meta>(path.join(dir, 'meta.json'));
  if (meta === undefined || meta.format !== FORMAT || meta.version !== 1) return undefined;
  const tokens = path.join(dir, 'tokens.bin');
  const size = existsSync(tokens) ? statSync(tokens).size : -1;
  if (size !== meta.length * meta.symbolBytes) {
    options.onNote?.(`the token cache of ${options.source} is truncated (${dir}); encoding the text again`);
    return undefined;
  }
  return { meta, tokens };
}

/** The second pass, into tokens.bin (staged, then renamed), then meta.json. */
function encode(root: string, key: string, survey: ReturnType<typeof surveyTexts>, options: CacheOptions): Entry {
  const dir = path.join(root, key);
  makeDirectory(dir);
  const tokens = path.join(dir, 'tokens.bin');
  const symbolBytes = survey.codePoints.length <= 256 ? 1 : 2;
  const writer = AtomicWriter.open(tokens);
  let result;
  try {
    result = indexTexts(survey.texts, options.separator, survey.indexOf, symbolBytes, (block) => writer.write(block instanceof Uint8Array ? block : littleEndian(block)), (bytes, of) =>
      options.onProgress?.(0.5 + Math.min(1, bytes / Math.max(1, of)) / 2)
    );
    writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
  const meta: Meta = {
    format: FORMAT,
    version: 1,
    sha256: result.sha256,
    vocabulary: survey.codePoints.map((cp) => String.fromCodePoint(cp)),
    symbolBytes,
    length: survey.length,
    separator: survey.texts.length > 1 ? options.separator : '',
    documents: survey.texts.map((t) => ({ length: t.length, bytes: t.bytes, sha256: t.sha256 })),
    created: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return { meta, tokens };
}

function corpusOf(entry: Entry, inputs: readonly TextInput[], skipped: readonly (SkippedFile['why'] | undefined)[], options: CacheOptions): Corpus {
  const { meta } = entry;
  const kept = inputs.filter((_, i) => skipped[i] === undefined);
  if (kept.length !== meta.documents.length) throw new UserError(`${options.source}: the token cache does not match the files; remove ${path.dirname(entry.tokens)} and train again`);
  const separatorLength = Array.from(meta.separator).length;
  let start = 0;
  const documents: CorpusDocument[] = meta.documents.map((d, i) => {
    const document = { source: kept[i].path, start, length: d.length };
    start += d.length + separatorLength;
    return document;
  });
  return Corpus.of({
    vocabulary: meta.vocabulary,
    symbols: fileText(entry.tokens, meta.length, meta.symbolBytes),
    sha256: meta.sha256,
    source: options.source,
    documents,
    files: meta.documents.map((d, i) => ({ path: kept[i].path, bytes: d.bytes, sha256: d.sha256 })),
    separator: meta.documents.length > 1 ? meta.separator : options.separator,
    skipped: inputs.flatMap((input, i) => (skipped[i] === undefined ? [] : [{ path: input.path, why: skipped[i]! }])),
  });
}

/** What the cache holds: each entry's key, size on disk, symbols and when it was made. */
export function cacheEntries(dir: string): { key: string; bytes: number; symbols: number; documents: number; created: string }[] {
  const root = path.join(dir, LAYOUT);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => /^[0-9a-f]{64}$/.test(name))
    .flatMap((key) => {
      const meta = readJson<Meta>(path.join(root, key, 'meta.json'));
      const tokens = path.join(root, key, 'tokens.bin');
      const bytes = existsSync(tokens) ? statSync(tokens).size : 0;
      return [{ key, bytes, symbols: meta?.length ?? 0, documents: meta?.documents.length ?? 0, created: meta?.created ?? '' }];
    });
}

/** Removes the cache's entries and stamps; returns the bytes freed. A run reading an entry keeps reading it (the file stays until closed). */
export function clearCache(dir: string): number {
  const freed = cacheEntries(dir).reduce((sum, e) => sum + e.bytes, 0);
  rmSync(path.join(dir, LAYOUT), { recursive: true, force: true });
  return freed;
}

/** A file's size, modification and change times and inode: any write changes it. */
function stampOf(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
  } catch {
    return 'gone';
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as T) : undefined;
  } catch {
    return undefined; // absent or damaged: read the text again
  }
}

function realOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** 2-byte symbols as little-endian bytes, whatever the machine's order. */
function littleEndian(block: Uint16Array): Uint8Array {
  const bytes = Buffer.allocUnsafe(block.length * 2);
  for (let i = 0; i < block.length; i++) bytes.writeUInt16LE(block[i], 2 * i);
  return bytes;
}
