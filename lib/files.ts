// Writing files so that a failure never leaves a broken or half-written file behind.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'fs';
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
      return 'the directory does not exist';
    default:
      return error.code ?? error.message;
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
    default:
      return `cannot read (${error.code ?? error.message})`;
  }
}

/** A whole file's bytes; a failure is a UserError naming the file and why. */
export function readUserFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  }
}
