// Writing files so that a failure never leaves a broken or half-written file behind.
import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, Stats, statSync, unlinkSync, writeSync } from 'fs';
import path from 'path';
import { UserError } from './errors';

/**
 * Writes data to a temporary file in the same directory, fsyncs it, renames it over `file`
 * and fsyncs the directory: a crash or a full disk leaves either the old file or the new one.
 * Failures are UserErrors naming the file (the old file, if any, is untouched).
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const writer = AtomicWriter.open(file);
  writer.write(data);
  writer.commit();
}

/**
 * writeFileAtomic in pieces, for output too big to hold: write() appends to the temporary file,
 * commit() puts it in place, abort() removes it. Until commit(), `file` is as it was; a failure
 * removes the temporary file and is a UserError naming `file`.
 */
export class AtomicWriter {
  private fd: number | undefined;
  private readonly temp: string;

  private constructor(readonly file: string) {
    this.temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  }

  static open(file: string): AtomicWriter {
    const writer = new AtomicWriter(file);
    writer.guard(() => {
      writer.fd = openSync(writer.temp, 'w', 0o644);
    });
    return writer;
  }

  write(data: Uint8Array | string): void {
    this.guard((fd) => {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    });
  }

  commit(): void {
    this.guard((fd) => {
      fsyncSync(fd);
      closeSync(fd);
      this.fd = undefined;
      renameSync(this.temp, this.file);
    });
    syncDirectory(path.dirname(this.file));
  }

  /** Removes the temporary file; `file` stays as it was. */
  abort(): void {
    try {
      if (this.fd !== undefined) closeSync(this.fd);
    } catch {
      // closing can only fail on a descriptor that is already gone
    }
    this.fd = undefined;
    try {
      unlinkSync(this.temp);
    } catch {
      // the temporary file was never created or is already gone
    }
  }

  private guard(step: (fd: number) => void): void {
    try {
      step(this.fd!);
    } catch (error) {
      this.abort();
      throw new UserError(`${this.file}: could not write (${describeWriteError(error as NodeJS.ErrnoException)}); the previous file, if any, is intact`);
    }
  }
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some file systems cannot fsync a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Why a file could not be written or a directory made, in words (a Node fs error's `path` says where). */
export function describeWriteError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOENT':
      // Some file systems (/proc, /sys) say ENOENT for a new file in a directory that exists.
      return error.path !== undefined && isDirectory(path.dirname(error.path))
        ? 'the directory exists, but its file system allows no new files there'
        : 'the directory does not exist';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EEXIST':
      return 'a file of that name is in the way';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return systemWords(error);
  }
}

/** The system's words for an error ("EINVAL: invalid argument, open 'x'" gives "invalid argument (EINVAL)"). */
function systemWords(error: NodeJS.ErrnoException): string {
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(error.message)?.[1];
  if (words === undefined || error.code === undefined) return error.code ?? error.message;
  return `${words} (${error.code})`;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Why a file could not be read, in the words every command uses. */
export function describeReadError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENXIO': // opening a socket
      return NOT_REGULAR;
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return `cannot read (${error.code ?? error.message})`;
  }
}

const NOT_REGULAR = 'not a regular file (a pipe, socket or device)';

/**
 * Opens a file the user named, for reading, and refuses at once anything but a regular file: with
 * O_NONBLOCK, opening a FIFO returns instead of waiting for a writer, and fstat checks the file
 * actually opened (a stat before the open could see another file). Every reader of a user's file
 * opens it here. `notRegular` words the refusal of a pipe, socket or device. The caller closes fd.
 */
export function openRegularFile(file: string, notRegular = NOT_REGULAR): { fd: number; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  }
  const stat = fstatSync(fd);
  if (stat.isFile()) return { fd, stat };
  closeSync(fd);
  throw new UserError(`${file}: ${stat.isDirectory() ? 'is a directory' : notRegular}`);
}

/** A whole file's bytes; a failure is a UserError naming the file and why. */
export function readUserFile(file: string): Buffer {
  const { fd } = openRegularFile(file);
  try {
    return readFileSync(fd);
  } catch (error) {
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  } finally {
    closeSync(fd);
  }
}

/** A line of a file: its text (a '\r' before the newline kept), its number from 1, its bytes [start, end) with the newline, and whether one ends it. */
export interface FileLine {
  text: string;
  number: number;
  start: number;
  end: number;
  terminated: boolean;
}

const LINE_CHUNK = 1 << 20;

/**
 * Calls visit with each line of a file the user named, in order, up to byte `to` (default: its end),
 * reading a MiB at a time: a file of any length is read in bounded memory. visit returns false to
 * stop. Lines split at '\n' bytes, which are never inside a UTF-8 character, so each line decodes
 * as it would in the whole file. A failure to read is a UserError naming the file.
 */
export function forEachLine(file: string, visit: (line: FileLine) => boolean | void, to?: number): void {
  const { fd, stat } = openRegularFile(file);
  try {
    visitLines(fd, Math.min(to ?? stat.size, stat.size), visit);
  } catch (error) {
    if (error instanceof UserError || (error as NodeJS.ErrnoException).code === undefined) throw error;
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  } finally {
    closeSync(fd);
  }
}

function visitLines(fd: number, end: number, visit: (line: FileLine) => boolean | void): void {
  const chunk = Buffer.allocUnsafe(LINE_CHUNK);
  let carry = Buffer.alloc(0);
  let carryStart = 0;
  let number = 0;
  for (let position = 0; position < end; ) {
    const read = readSync(fd, chunk, 0, Math.min(LINE_CHUNK, end - position), position);
    if (read === 0) break;
    position += read;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
    const whole = data.lastIndexOf(10) + 1;
    const text = data.toString('utf8', 0, whole);
    // One decode per chunk is much faster than one per line; a string as long as its bytes has a
    // character per byte, so its offsets are byte offsets. Otherwise each line is decoded alone.
    const lines = text.length === whole ? splitText(text, carryStart, number) : splitBytes(data.subarray(0, whole), carryStart, number);
    for (const line of lines) if (visit(line) === false) return;
    number += lines.length;
    const lineStart = whole;
    // A copy: the chunk is read into again.
    carry = Buffer.from(data.subarray(lineStart));
    carryStart += lineStart;
  }
  if (carry.length > 0) visit({ text: carry.toString('utf8'), number: ++number, start: carryStart, end: carryStart + carry.length, terminated: false });
}

function splitText(text: string, offset: number, numbered: number): FileLine[] {
  const lines: FileLine[] = [];
  for (let start = 0, newline = text.indexOf('\n'); newline >= 0; start = newline + 1, newline = text.indexOf('\n', start)) {
    lines.push({ text: text.slice(start, newline), number: numbered + lines.length + 1, start: offset + start, end: offset + newline + 1, terminated: true });
  }
  return lines;
}

function splitBytes(data: Buffer, offset: number, numbered: number): FileLine[] {
  const lines: FileLine[] = [];
  for (let start = 0, newline = data.indexOf(10); newline >= 0; start = newline + 1, newline = data.indexOf(10, start)) {
    lines.push({ text: data.toString('utf8', start, newline), number: numbered + lines.length + 1, start: offset + start, end: offset + newline + 1, terminated: true });
  }
  return lines;
}

/** Copies bytes [0, length) of `file` to `writer` a MiB at a time. */
export function copyFileStart(file: string, length: number, writer: AtomicWriter): void {
  const { fd } = openRegularFile(file);
  try {
    const chunk = Buffer.allocUnsafe(LINE_CHUNK);
    for (let position = 0; position < length; ) {
      const read = readSync(fd, chunk, 0, Math.min(LINE_CHUNK, length - position), position);
      if (read === 0) throw new UserError(`${file}: changed while it was read (shorter than ${length} bytes)`);
      writer.write(chunk.subarray(0, read));
      position += read;
    }
  } catch (error) {
    writer.abort();
    if (error instanceof UserError || (error as NodeJS.ErrnoException).code === undefined) throw error;
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes `dir` and its missing parents; a failure is a UserError "<label>: cannot create the
 * directory (why)". Not mkdirSync({ recursive: true }): it loops forever where mkdir says ENOENT
 * under a parent that exists (/proc/x). Here each directory is tried once more after its parent.
 */
export function makeDirectory(dir: string, label = dir): void {
  try {
    createDirectory(path.resolve(dir));
  } catch (error) {
    throw new UserError(`${label}: cannot create the directory (${describeWriteError(error as NodeJS.ErrnoException)})`);
  }
}

function createDirectory(dir: string, afterParent = false): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(dir)) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir || afterParent) throw error;
    createDirectory(parent);
    createDirectory(dir, true);
  }
}
