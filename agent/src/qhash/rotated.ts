/**
 * Finding the file we were reading after logrotate moved it away or emptied it in place.
 *
 * A read position is only meaningful together with what was read: the first bytes of the file
 * (`head`) and the bytes just before the position (`tail`). If the live file no longer holds
 * both, it was truncated (and perhaps refilled past our offset). After copytruncate, the copy
 * that still holds them, next to the live file, has the bytes we had not read yet.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DiskNow, InputOnDisk, SavedInput } from './resume.js';

export const MARK_BYTES = 64;

/** What a reader knows about its position in one file. */
export interface ReadMark {
  /** First bytes of the file (up to MARK_BYTES). */
  readonly head: Buffer;
  /** The bytes just before `offset` (up to MARK_BYTES). */
  readonly tail: Buffer;
  readonly offset: number;
}

export function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

export function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, b, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

/** The last MARK_BYTES of `prev` followed by `next`. */
export function advanceTail(prev: Buffer, next: Buffer): Buffer {
  if (next.length >= MARK_BYTES) return Buffer.from(next.subarray(next.length - MARK_BYTES));
  const joined = Buffer.concat([prev, next]);
  return joined.subarray(Math.max(0, joined.length - MARK_BYTES));
}

/**
 * Does the open file still hold what we read up to `mark.offset`? The head is compared over what
 * both have (a file shorter than MARK_BYTES when first read grows its head later).
 */
export function holds(fd: number, size: number, mark: ReadMark): boolean {
  if (size < mark.offset) return false;
  const head = readAt(fd, 0, Math.min(MARK_BYTES, size));
  const k = Math.min(head.length, mark.head.length);
  if (!head.subarray(0, k).equals(mark.head.subarray(0, k))) return false;
  if (mark.tail.length === 0) return true;
  return readAt(fd, mark.offset - mark.tail.length, mark.tail.length).equals(mark.tail);
}

/** Files next to `path` whose name starts with its name (logrotate's `.1`, `-20261121`), newest first. */
function siblings(path: string): { path: string; st: Stats }[] {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { path: string; st: Stats }[] = [];
  for (const n of names) {
    if (!n.startsWith(base) || n === base) continue;
    const p = join(dir, n);
    const st = statOrUndefined(p);
    if (st?.isFile()) out.push({ path: p, st });
  }
  return out.sort((a, b) => b.st.mtimeMs - a.st.mtimeMs);
}

/** After rename-and-create while we were stopped: the old file, found by inode next to the input. */
export function findByInode(path: string, dev: number, ino: number): string | undefined {
  return siblings(path).find((s) => s.st.ino === ino && s.st.dev === dev)?.path;
}

/**
 * After copytruncate: the copy of what we were reading, i.e. a sibling (not the live inode) that
 * holds our head and our tail at our offset. A compressed copy (logrotate `compress` without
 * `delaycompress`) does not match, and the caller reports the loss.
 */
export function findCopy(path: string, live: { dev: number; ino: number }, mark: ReadMark): string | undefined {
  // Nothing read yet from an empty file: nothing to identify a copy by.
  if (mark.head.length === 0) return undefined;
  for (const s of siblings(path)) {
    if ((s.st.ino === live.ino && s.st.dev === live.dev) || s.st.size < mark.offset) continue;
    let fd: number;
    try {
      fd = openSync(s.path, 'r');
    } catch {
      continue;
    }
    try {
      if (holds(fd, s.st.size, mark)) return s.path;
    } finally {
      closeSync(fd);
    }
  }
  return undefined;
}

/** The first MARK_BYTES of an open file. */
export const readHead = (fd: number): Buffer => readAt(fd, 0, MARK_BYTES);

/** Does the file at `path` (with these stats) hold `mark`? */
function fileHolds(path: string, st: Stats, mark: ReadMark): boolean {
  const fd = openSync(path, 'r');
  try {
    return holds(fd, st.size, mark);
  } finally {
    closeSync(fd);
  }
}

const outputNow = (path: string): DiskNow['console'] => {
  const st = statOrUndefined(path);
  return st ? { path, now: { ino: st.ino, size: st.size } } : { path };
};

/** What resume.ts's decideResume needs to know about the input and the outputs now. */
export function lookAtDisk(paths: { input: string; console: string; query: string }, saved: SavedInput | undefined): DiskNow {
  // A position saved for another path says nothing about this one.
  if (saved && saved.path !== paths.input) saved = undefined;
  const st = statOrUndefined(paths.input);
  const input: InputOnDisk = { path: paths.input };
  const mark: ReadMark | undefined = saved && { head: saved.head, tail: saved.tail, offset: saved.offset };
  if (st) input.live = { dev: st.dev, ino: st.ino, holdsMark: mark !== undefined && fileHolds(paths.input, st, mark) };
  if (saved) input.renamed = findByInode(paths.input, saved.dev, saved.ino);
  if (st && mark) input.copy = findCopy(paths.input, st, mark);
  return { input, console: outputNow(paths.console), query: outputNow(paths.query) };
}
