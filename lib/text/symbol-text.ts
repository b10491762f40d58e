// A text as symbol indices, read by ranges: an array in memory, a token file on disk (read by
// positioned reads, so that a text bigger than memory is never held whole), or parts of either
// joined by a separator.
import { openSync, readSync } from 'fs';
import { UserError } from '../util/errors';
import { describeReadError } from '../util/files';

export type SymbolArray = Uint8Array | Uint16Array;

export interface SymbolText {
  readonly length: number;
  /** 1 or 2: the symbols' width (2 when the vocabulary has more than 256 symbols). */
  readonly symbolBytes: 1 | 2;
  /** Symbols start..end−1 (a view or a copy: the caller must not write to it). */
  read(start: number, end: number): SymbolArray;
}

export function arrayText(symbols: SymbolArray): SymbolText {
  return { length: symbols.length, symbolBytes: symbols instanceof Uint8Array ? 1 : 2, read: (start, end) => symbols.subarray(start, end) };
}

/** The whole text in memory. */
export function readAll(text: SymbolText): SymbolArray {
  return text.read(0, text.length);
}

/**
 * A token file of `length` symbols of `symbolBytes` each (little-endian), open while the process
 * runs: positioned reads, so that memory is what is read, not the file.
 */
export function fileText(file: string, length: number, symbolBytes: 1 | 2): SymbolText {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  }
  const read = (start: number, end: number): SymbolArray => {
    const bytes = Buffer.allocUnsafe((end - start) * symbolBytes);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, start * symbolBytes + done);
      if (n === 0) throw new UserError(`${file}: the token file ended early (truncated while in use?); train again to rebuild it`);
      done += n;
    }
    return symbolBytes === 1 ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : Uint16Array.from({ length: end - start }, (_, i) => bytes.readUInt16LE(2 * i));
  };
  return { length, symbolBytes, read };
}

/** A range of a base text. */
export interface Span {
  start: number;
  length: number;
}

/**
 * Spans of a base text joined by a separator's symbols, read without copying the whole: one span
 * and no separator reads the base directly.
 */
export function joinedText(base: SymbolText, spans: readonly Span[], separator: ArrayLike<number>): SymbolText {
  const parts = spans.filter((s) => s.length > 0);
  if (parts.length === 1) {
    const [{ start, length }] = parts;
    return { length, symbolBytes: base.symbolBytes, read: (from, to) => base.read(start + from, start + to) };
  }
  // Where each part starts in the joined text.
  const starts: number[] = [];
  let length = 0;
  parts.forEach((part, i) => {
    if (i > 0) length += separator.length;
    starts.push(length);
    length += part.length;
  });
  const read = (from: number, to: number): SymbolArray => {
    const out = base.symbolBytes === 1 ? new Uint8Array(to - from) : new Uint16Array(to - from);
    // The last part starting at or before `from`, then forward.
    let lo = 0;
    let hi = parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= from) lo = mid;
      else hi = mid - 1;
    }
    for (let p = lo, at = from; at < to; p++) {
      if (p > 0 && at < starts[p]) {
        // In the separator before part p.
        const sepFrom = at - (starts[p] - separator.length);
        const n = Math.min(to, starts[p]) - at;
        for (let k = 0; k < n; k++) out[at - from + k] = separator[sepFrom + k];
        at += n;
      }
      if (at >= to) break;
      const end = Math.min(to, starts[p] + parts[p].length);
      if (at < end) {
        out.set(base.read(parts[p].start + at - starts[p], parts[p].start + end - starts[p]), at - from);
        at = end;
      }
    }
    return out;
  };
  return { length, symbolBytes: base.symbolBytes, read };
}
