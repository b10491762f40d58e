// Strict UTF-8 decoding of texts read in chunks: no overlongs, no surrogates, nothing above
// U+10FFFF, no NUL bytes. Code points come out in batches (one per chunk), not one call each.
import { isUtf8 } from 'buffer';
import { closeSync, readSync } from 'fs';
import { UserError } from '../util/errors';
import { describeReadError, openRegularFile } from '../util/files';

/** Reads of a text, from its start each time it is called: one array, or a file in chunks. */
export type ByteSource = () => Iterable<Uint8Array>;

const CHUNK_BYTES = 4 << 20;

/** Decoding looks for ASCII by blocks of this many bytes. */
const BLOCK_BYTES = 1 << 16;

/** A text that is not UTF-8 (or holds a NUL byte): in a folder, a file skipped as binary. */
export class NotText extends UserError {}

/**
 * Decodes bytes, whose first byte is at offset `base` of the text, into `out` (at least as long as
 * bytes). Returns the bytes decoded (all, or, when `final` is false, up to a sequence cut by the
 * chunk's end) and the code points written. Throws NotText naming the offset of an invalid
 * sequence or of a NUL byte.
 */
function decodeUtf8(bytes: Uint8Array, base: number, final: boolean, source: string, out: Uint32Array): { decoded: number; count: number } {
  const n = bytes.length;
  let i = 0;
  let count = 0;
  while (i < n) {
    const b0 = bytes[i];
    if (b0 < 0x80) {
      if (b0 === 0) {
        throw new NotText(`${source}: looks like a binary file (a NUL byte at offset ${base + i}); the text must be UTF-8`);
      }
      out[count++] = b0;
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
      if (i + k >= n && !final) return { decoded: i, count }; // the rest of the sequence is in the next chunk
      const b = i + k < n ? bytes[i + k] : -1;
      if (b < lo || b > hi) throw invalidUtf8(source, bytes, i, base);
      cp = (cp << 6) | (b & 0x3f);
      lo = 0x80;
      hi = 0xbf;
    }
    out[count++] = cp;
    i += need + 1;
  }
  return { decoded: n, count };
}

/**
 * Decodes a whole source chunk by chunk, carrying a sequence cut at a chunk's end: onCodePoints
 * gets each chunk's code points (a view valid until it returns), onChunk each chunk's bytes and
 * the bytes read so far. The platform validates (buffer.isUtf8); ASCII blocks are their own code
 * points; on invalid input, decodeUtf8 finds the offset to name.
 */
export function decodeSource(
  read: ByteSource,
  source: string,
  onCodePoints: (codePoints: Uint8Array | Uint32Array) => void,
  onChunk: (chunk: Uint8Array, bytesDone: number) => void
): void {
  let carry = new Uint8Array(0);
  let base = 0;
  let out = new Uint32Array(0);
  // A block of code points: ASCII is its own code points; any other block is validated by the platform.
  const decodeBlock = (bytes: Uint8Array, at: number) => {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (!isUtf8(buffer)) {
      decodeUtf8(bytes, at, true, source, new Uint32Array(bytes.length)); // throws, naming the offset
      throw new NotText(`${source}: invalid UTF-8 after byte offset ${at}; the text must be UTF-8`);
    }
    if (out.length < bytes.length) out = new Uint32Array(bytes.length);
    onCodePoints(out.subarray(0, decodeValid(bytes, out)));
  };
  // Whole sequences: ASCII stretches (by blocks) as they are, the blocks between them decoded.
  const decode = (bytes: Uint8Array) => {
    const nul = bytes.indexOf(0);
    if (nul >= 0) decodeUtf8(bytes.subarray(0, nul + 1), base, true, source, new Uint32Array(nul + 1));
    for (let start = 0; start < bytes.length; ) {
      let end = start;
      while (end < bytes.length && isAscii(bytes.subarray(end, Math.min(bytes.length, end + BLOCK_BYTES)))) end = Math.min(bytes.length, end + BLOCK_BYTES);
      if (end > start) {
        onCodePoints(bytes.subarray(start, end));
        start = end;
        continue;
      }
      const block = bytes.subarray(start, Math.min(bytes.length, start + BLOCK_BYTES));
      const stop = block.length === bytes.length - start ? block.length : completeLength(block);
      decodeBlock(block.subarray(0, stop || block.length), base + start);
      start += stop || block.length;
    }
  };
  for (const chunk of read()) {
    onChunk(chunk, base + carry.length + chunk.length);
    const bytes = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const complete = completeLength(bytes);
    decode(bytes.subarray(0, complete));
    carry = Uint8Array.from(bytes.subarray(complete));
    base += complete;
  }
  decode(carry);
}

/** Whether every byte is below 0x80, four at a time (buffer.isAscii is slower here). */
function isAscii(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  let any = 0;
  for (let i = 0; i < head; i++) any |= bytes[i];
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + head, (n - head) >> 2);
  for (let i = 0; i < words.length; i++) any |= words[i];
  for (let i = head + words.length * 4; i < n; i++) any |= bytes[i];
  return (any & 0x80808080) === 0;
}

/** Bytes up to a sequence cut by the end (whose lead byte is among the last three). */
function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let j = n - 1; j >= Math.max(0, n - 3); j--) {
    const b = bytes[j];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return j + need > n ? j : n;
  }
  return n;
}

/** The code points of bytes that are well-formed UTF-8 (checked before) into out; returns how many. */
function decodeValid(bytes: Uint8Array, out: Uint32Array): number {
  const n = bytes.length;
  let count = 0;
  for (let i = 0; i < n; ) {
    const b0 = bytes[i];
    if (b0 < 0x80) {
      out[count++] = b0;
      i += 1;
    } else if (b0 < 0xe0) {
      out[count++] = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      i += 2;
    } else if (b0 < 0xf0) {
      out[count++] = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      i += 3;
    } else {
      out[count++] = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
      i += 4;
    }
  }
  return count;
}

function invalidUtf8(source: string, bytes: Uint8Array, offset: number, base: number): NotText {
  const shown = Array.from(bytes.subarray(offset, offset + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new NotText(`${source}: invalid UTF-8 at byte offset ${base + offset} (bytes ${shown}); the text must be UTF-8`);
}

/** A file in chunks, opened at each read, so that the whole file is never held in memory at once. */
export function fileChunks(file: string, notRegular: string): ByteSource {
  return function* () {
    const { fd, stat } = openRegularFile(file, notRegular);
    try {
      // A small file's own size (+1 to see its end in one read): many small files cost no big buffers.
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, stat.size + 1));
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
  decodeSource(fileChunks(path, 'not a regular file'), path, (codePoints) => codePoints.forEach((cp: number) => onCodePoint(cp)), () => {});
}
