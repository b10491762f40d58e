// A file that grows, read from where the last read stopped: the lines and text appended since, never
// the whole file again. A file that shrank, was replaced (another inode) or was deleted says `reset`:
// what was read of it no longer holds, and reading starts again from its beginning.
import { closeSync, constants, fstatSync, openSync, readSync } from 'fs';
import { StringDecoder } from 'string_decoder';

/** The most bytes one read takes: a huge file is caught up with over several polls. */
const CHUNK = 4 << 20;

export interface TailRead {
  /** The file shrank, was replaced or is gone: forget what was read of it. */
  reset: boolean;
  /** The text appended since the last read (UTF-8 decoded; a character cut by the end of a write waits for the next read). */
  text: string;
}

export class FileTail {
  private offset = 0;
  private inode: number | undefined;
  private decoder = new StringDecoder('utf8');

  constructor(readonly file: string) {}

  /** The text appended since the last read. A missing, unreadable or irregular file (or a symbolic link) reads as empty. */
  read(): TailRead {
    let fd: number;
    try {
      fd = openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return { reset: this.forget(), text: '' };
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { reset: this.forget(), text: '' };
      let reset = false;
      if (this.inode !== undefined && (stat.ino !== this.inode || stat.size < this.offset)) reset = this.forget();
      this.inode = stat.ino;
      const length = Math.min(stat.size - this.offset, CHUNK);
      if (length <= 0) return { reset, text: '' };
      const buffer = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buffer, got, length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      return { reset, text: this.decoder.write(buffer.subarray(0, got)) };
    } catch {
      return { reset: this.forget(), text: '' };
    } finally {
      closeSync(fd);
    }
  }

  /** Back to the start; true when something had been read (the reader must drop it). */
  private forget(): boolean {
    const had = this.inode !== undefined;
    this.offset = 0;
    this.inode = undefined;
    this.decoder = new StringDecoder('utf8');
    return had;
  }
}

/** A FileTail read in whole lines: a last line without its newline waits for it. */
export class LineTail {
  private readonly tail: FileTail;
  private partial = '';

  constructor(file: string) {
    this.tail = new FileTail(file);
  }

  read(): { reset: boolean; lines: string[] } {
    const { reset, text } = this.tail.read();
    if (reset) this.partial = '';
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    return { reset, lines: lines.map((line) => line.replace(/\r$/, '')) };
  }
}
