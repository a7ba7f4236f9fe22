/**
 * Reads the input for `--follow` one chunk at a time, through rename-and-create and copytruncate.
 *
 * States: no input file yet; the live file (after a pause at its end, first check whether it was
 * renamed away); a rotated file (renamed away, or the copy after copytruncate), read to its end
 * before the live file is opened.
 *
 * With its position the tailer keeps the file's first bytes (`head`) and the bytes before the
 * position (`tail`): when the live file no longer holds them it was emptied in place, and the
 * copy next to it that does hold them has the rest (rotated.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { advanceTail, findCopy, holds, MARK_BYTES, readAt, readHead, statOrUndefined, type ReadMark } from './rotated.js';
import type { QhashState } from './state.js';

/** 1 MB reads: large enough that the per-read cost vanishes, small enough for flat RSS. */
export const CHUNK = 1024 * 1024;

export type TailRead =
  /** New bytes, a view into the tailer's buffer: valid until the next read(). */
  | { kind: 'chunk'; chunk: Buffer }
  /** Nothing new in the live file. */
  | { kind: 'eof' }
  /** No input file. */
  | { kind: 'missing' }
  /** The input file appeared. */
  | { kind: 'opened' }
  /**
   * The live file was emptied in place. With a `copy`, the next reads return its bytes from
   * `offset` on; without one, they are lost and the live file is read from 0.
   */
  | { kind: 'truncated'; offset: number; copy: string | undefined }
  /** The rotated-away file is finished; the next reads are the live file's, from 0. */
  | { kind: 'renamed' };

interface OpenFile {
  fd: number;
  dev: number;
  ino: number;
  path: string;
  offset: number;
}

type TailState = { kind: 'absent' } | { kind: 'live'; file: OpenFile; checkRename: boolean } | { kind: 'rotated'; file: OpenFile };

const EOF: TailRead = { kind: 'eof' };
const MISSING: TailRead = { kind: 'missing' };
const OPENED: TailRead = { kind: 'opened' };
const RENAMED: TailRead = { kind: 'renamed' };
const EMPTY = Buffer.alloc(0);

function openAt(path: string, offset: number): OpenFile {
  const fd = openSync(path, constants.O_RDONLY);
  const s = fstatSync(fd);
  return { fd, dev: s.dev, ino: s.ino, offset, path };
}

export interface TailStart {
  path: string;
  offset: number;
  /** A rotated-away file (renamed, or the copy), read to its end before the live file. */
  rotated: boolean;
  /** Starting at a checkpoint: the file must be there, and `tail` is what was read before `offset`. */
  resumed: boolean;
  tail: Buffer;
}

export class Tailer {
  private state: TailState = { kind: 'absent' };
  private head: Buffer = EMPTY;
  private tail: Buffer = EMPTY;
  private readonly buf = Buffer.allocUnsafeSlow(CHUNK);

  constructor(private readonly input: string, start: TailStart) {
    if (start.resumed) {
      const file = openAt(start.path, start.offset);
      this.tail = start.tail;
      this.head = readHead(file.fd);
      this.state = start.rotated ? { kind: 'rotated', file } : { kind: 'live', file, checkRename: true };
    } else this.openLive();
  }

  read(): TailRead {
    const s = this.state;
    if (s.kind === 'absent') return this.openLive() ? OPENED : MISSING;
    if (s.kind === 'rotated') {
      const k = readSync(s.file.fd, this.buf, 0, CHUNK, s.file.offset);
      if (k > 0) {
        s.file.offset += k;
        return { kind: 'chunk', chunk: this.view(k) };
      }
      closeSync(s.file.fd);
      this.openLive();
      return RENAMED;
    }
    const file = s.file;
    if (s.checkRename) {
      // Back from a pause at the end of the file: has it been renamed away?
      s.checkRename = false;
      const now = statOrUndefined(this.input);
      if (!now || now.ino !== file.ino || now.dev !== file.dev) {
        this.state = { kind: 'rotated', file };
        return this.read();
      }
    }
    const n = readSync(file.fd, this.buf, 0, CHUNK, file.offset);
    // Checked after the read, so that it also covers a truncate during the read.
    const mark: ReadMark = { head: this.head, tail: this.tail, offset: file.offset };
    if (!holds(file.fd, fstatSync(file.fd).size, mark)) {
      // copytruncate: the file was emptied in place (and perhaps refilled past our offset), so
      // what we just read may be new content at an old offset: drop it. What we had not read
      // yet is in the copy: finish that first, as if it had been renamed.
      const copy = findCopy(this.input, file, mark);
      closeSync(file.fd);
      if (copy) this.state = { kind: 'rotated', file: openAt(copy, mark.offset) };
      else this.openLive();
      return { kind: 'truncated', offset: mark.offset, copy };
    }
    if (n === 0) {
      s.checkRename = true;
      return EOF;
    }
    const chunk = this.view(n);
    this.tail = advanceTail(this.tail, chunk);
    file.offset += n;
    if (this.head.length < MARK_BYTES) this.head = readHead(file.fd);
    return { kind: 'chunk', chunk };
  }

  /** The checkpoint's input entry for a resume at `offset` of the file being read (none without a file). */
  position(offset: number): QhashState['input'] {
    if (this.state.kind === 'absent') return undefined;
    const file = this.state.file;
    // While finishing a rotated file this records its inode under the live name; a restart finds it by inode.
    const before = readAt(file.fd, Math.max(0, offset - MARK_BYTES), Math.min(MARK_BYTES, offset));
    return { path: this.input, dev: file.dev, ino: file.ino, offset, head: this.head.toString('base64'), tail: before.toString('base64') };
  }

  close(): void {
    if (this.state.kind !== 'absent') closeSync(this.state.file.fd);
    this.state = { kind: 'absent' };
  }

  private view(n: number): Buffer {
    return n === CHUNK ? this.buf : this.buf.subarray(0, n);
  }

  /** Opens the live input from 0 when it exists; false when it does not. */
  private openLive(): boolean {
    if (!statOrUndefined(this.input)) {
      this.state = { kind: 'absent' };
      return false;
    }
    const file = openAt(this.input, 0);
    this.tail = EMPTY;
    this.head = readHead(file.fd);
    this.state = { kind: 'live', file, checkRename: true };
    return true;
  }
}
