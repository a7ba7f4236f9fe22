/**
 * I/O around the Splitter: a one-shot run over a file or stdin, and `--follow`, which tails a
 * file through rename-and-create and copytruncate rotation (reading the rest of a truncated file
 * from its copy, see rotated.ts) and resumes after a restart.
 *
 * Exactly-once across kill -9: output is written first, then the checkpoint (input offset,
 * output sizes, seen set). After a crash between the two, the splitter replays from the older
 * checkpoint and the output writer skips the bytes that are already in the files, because the
 * replay produces the same bytes.
 */
import { closeSync, constants, fstatSync, openSync, readSync, writevSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { advanceTail, findByInode, findCopy, holds, MARK_BYTES, readAt, statOrUndefined, type ReadMark } from './rotated.js';
import { Splitter, type SplitOptions, type SplitStats } from './splitter.js';
import { loadState, saveState, type FileRef, type QhashState } from './state.js';

const CHUNK = 1024 * 1024;

/** An output file we append to, that notices when logrotate moves or truncates it. */
export class OutFile {
  private fd: number;
  ino = 0;
  /** Bytes in the file as far as we know (ours, appended). */
  size = 0;

  /** Bytes still to drop from the front of the output: see the module comment. */
  skip = 0;

  constructor(readonly path: string, mode: 'append' | 'truncate') {
    this.fd = this.open(mode);
  }

  private open(mode: 'append' | 'truncate'): number {
    if (this.path === '-') return 1;
    const fd = openSync(this.path, mode === 'append' ? 'a' : 'w', 0o644);
    const st = fstatSync(fd);
    this.ino = st.ino;
    this.size = st.size;
    return fd;
  }

  write(bufs: Buffer[]): void {
    if (bufs.length === 0) return;
    if (this.skip > 0) {
      // Replayed after a crash: these bytes were written before the last checkpoint was saved.
      const b = Buffer.concat(bufs);
      const n = Math.min(this.skip, b.length);
      this.skip -= n;
      bufs = [b.subarray(n)];
    }
    this.size += writeAll(this.fd, bufs);
  }

  /** Reopens after rename; returns what happened so the caller can reset the seen set. */
  checkRotated(): 'renamed' | 'truncated' | undefined {
    if (this.path === '-') return undefined;
    const st = statOrUndefined(this.path);
    if (!st || st.ino !== this.ino) {
      closeSync(this.fd);
      this.fd = this.open('append');
      return 'renamed';
    }
    if (st.size < this.size) {
      this.size = st.size;
      return 'truncated';
    }
    return undefined;
  }

  ref(): FileRef {
    return { path: this.path, ino: this.ino, size: this.size };
  }

  close(): void {
    if (this.fd > 2) closeSync(this.fd);
  }
}

const IOV_MAX = 1024;

/** writev without copying the slices together; returns the bytes written. */
function writeAll(fd: number, bufs: Buffer[]): number {
  let total = 0;
  let i = 0;
  let first: Buffer | undefined;
  while (i < bufs.length) {
    const batch = bufs.slice(i, i + IOV_MAX);
    if (first) batch[0] = first;
    let want = 0;
    for (const b of batch) want += b.length;
    let n: number;
    try {
      n = writevSync(fd, batch);
    } catch (e) {
      // stdout may be a non-blocking pipe.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      continue;
    }
    total += n;
    if (n === want) {
      i += batch.length;
      first = undefined;
      continue;
    }
    // Partial write: skip the buffers that went out and resume inside the next one.
    let k = 0;
    while (n >= batch[k]!.length) n -= batch[k++]!.length;
    i += k;
    first = batch[k]!.subarray(n);
  }
  return total;
}

export interface SplitFilesOptions {
  input: string;
  console: string;
  query: string;
  split: SplitOptions;
  stateDir?: string;
}

/** One pass over a file or stdin ("-"). With a state folder, the seen set carries across runs. */
export async function splitOnce(o: SplitFilesOptions): Promise<SplitStats> {
  const st = o.stateDir ? loadState(o.stateDir) : undefined;
  // Without state every run starts a fresh pair of outputs; with state they accumulate.
  const mode = o.stateDir ? 'append' : 'truncate';
  const con = new OutFile(o.console, mode);
  const qry = new OutFile(o.query, mode);
  const queryRotated = !st?.query || st.query.ino !== qry.ino || qry.size < st.query.size;
  const sp = new Splitter(o.split, st && !queryRotated ? { ...st.splitter, preparing: [], midLine: 'no' } : undefined);
  const drain = () => {
    const out = sp.take();
    con.write(out.console);
    qry.write(out.query);
  };
  if (o.input === '-') {
    for await (const chunk of process.stdin) {
      sp.push(chunk as Buffer);
      drain();
    }
  } else {
    const fd = openSync(o.input, 'r');
    // One read buffer, reused: the splitter's output is written before the next read.
    const buf = Buffer.allocUnsafeSlow(CHUNK);
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) break;
        sp.push(n === CHUNK ? buf : buf.subarray(0, n));
        drain();
      }
    } finally {
      closeSync(fd);
    }
  }
  sp.end();
  drain();
  if (o.stateDir) {
    const snap = sp.snapshot();
    saveState(o.stateDir, { version: 1, console: con.ref(), query: qry.ref(), splitter: { ...snap, preparing: [], midLine: 'no' } });
  }
  con.close();
  qry.close();
  return sp.stats;
}

export interface FollowOptions extends SplitFilesOptions {
  stateDir: string;
  signal: AbortSignal;
  pollMs?: number;
  /** A SQL block at the end of the file is complete after this long without new input. */
  idleMs?: number;
  checkpointMs?: number;
}

interface Input {
  fd: number;
  dev: number;
  ino: number;
  offset: number;
  path: string;
}

const readHead = (fd: number): Buffer => readAt(fd, 0, MARK_BYTES);

/** copytruncate without a copy we can read: say so, and where, rather than lose lines quietly. */
function reportLost(input: string, offset: number): void {
  process.stderr.write(
    `imom qhash: ${input} was emptied in place (copytruncate) and no file next to it holds its bytes from offset ${offset} on: ` +
      'lines written after the last read and before the truncation are lost. Keep the copy uncompressed until the next rotation (logrotate delaycompress), or rotate by rename.\n',
  );
}

export async function follow(o: FollowOptions): Promise<void> {
  const pollMs = o.pollMs ?? 200;
  const idleMs = o.idleMs ?? 500;
  const checkpointMs = o.checkpointMs ?? 1000;
  const st: QhashState | undefined = loadState(o.stateDir);

  const skipFor = (ref: FileRef | undefined, path: string) => {
    if (!ref || ref.path !== path) return { skip: 0, same: false };
    const now = statOrUndefined(path);
    if (!now || now.ino !== ref.ino || now.size < ref.size) return { skip: 0, same: false };
    return { skip: now.size - ref.size, same: true };
  };
  const cs = skipFor(st?.console, o.console);
  const qs = skipFor(st?.query, o.query);
  const con = new OutFile(o.console, 'append');
  const qry = new OutFile(o.query, 'append');

  // Where to start reading, and from which file (the rotated-away old one, or the copy, first).
  let reading: Input | undefined;
  let snapshot = st?.splitter;
  let startOffset = 0;
  let resumed = false;
  let tail: Buffer = Buffer.alloc(0);
  const openAt = (path: string, offset: number): Input => {
    const fd = openSync(path, constants.O_RDONLY);
    const s = fstatSync(fd);
    return { fd, dev: s.dev, ino: s.ino, offset, path };
  };
  const resumeAt = (input: Input, mark: ReadMark) => {
    reading = input;
    startOffset = mark.offset;
    tail = mark.tail;
    resumed = true;
  };
  const cur = statOrUndefined(o.input);
  if (st?.input && st.input.path === o.input) {
    const saved = st.input;
    const mark: ReadMark = { head: Buffer.from(saved.head, 'base64'), tail: Buffer.from(saved.tail ?? '', 'base64'), offset: saved.offset };
    if (cur && cur.ino === saved.ino && cur.dev === saved.dev) {
      const live = openAt(o.input, mark.offset);
      if (holds(live.fd, cur.size, mark)) resumeAt(live, mark);
      else {
        // Emptied in place while we were stopped (copytruncate): finish from the copy first.
        const copy = findCopy(o.input, cur, mark);
        if (copy) {
          closeSync(live.fd);
          resumeAt(openAt(copy, mark.offset), mark);
        } else {
          reportLost(o.input, mark.offset);
          live.offset = 0;
          reading = live;
          snapshot = snapshot && { ...snapshot, midLine: 'no' };
        }
      }
    } else {
      const old = findByInode(o.input, saved.dev, saved.ino);
      if (old) resumeAt(openAt(old, mark.offset), mark);
      else snapshot = snapshot && { ...snapshot, midLine: 'no' };
    }
  }
  // The query log moved away while we were stopped: its shapes must be written again.
  if (st?.query && !qs.same && snapshot) snapshot = { ...snapshot, seen: [] };
  const sp = new Splitter(o.split, snapshot, startOffset);
  if (resumed) {
    con.skip = cs.skip;
    qry.skip = qs.skip;
  }

  let head: Buffer = Buffer.alloc(0);
  const open = (path: string): Input | undefined => {
    if (!statOrUndefined(path)) return undefined;
    tail = Buffer.alloc(0);
    return openAt(path, 0);
  };

  reading ??= open(o.input);
  if (reading) head = readHead(reading.fd);

  let lastCheckpoint = 0;
  let dirty = true;
  const drain = () => {
    const out = sp.take();
    if (out.console.length || out.query.length) dirty = true;
    con.write(out.console);
    qry.write(out.query);
  };
  const checkpoint = () => {
    drain();
    const state: QhashState = {
      version: 1,
      console: con.ref(),
      query: qry.ref(),
      splitter: sp.snapshot(),
    };
    // While finishing a rotated file this records its inode under the live name; a restart finds it by inode.
    if (reading) {
      const offset = sp.safeOffset();
      const before = readAt(reading.fd, Math.max(0, offset - MARK_BYTES), Math.min(MARK_BYTES, offset));
      state.input = { path: o.input, dev: reading.dev, ino: reading.ino, offset, head: head.toString('base64'), tail: before.toString('base64') };
    }
    saveState(o.stateDir, state);
    lastCheckpoint = Date.now();
    dirty = false;
  };
  /** The current file is finished (rotated away or truncated): its last record is complete. */
  const finishFile = () => {
    sp.end();
    drain();
    sp.rebase(0);
  };

  let lastData = Date.now();
  let idled = true;
  let atEof = true;
  const buf = Buffer.allocUnsafeSlow(CHUNK);
  try {
    while (!o.signal.aborted) {
      if (!reading) {
        reading = open(o.input);
        if (reading) {
          head = readHead(reading.fd);
          dirty = true;
        } else {
          await sleep(pollMs, undefined, { signal: o.signal }).catch(() => undefined);
          continue;
        }
      }
      if (atEof) {
        // Back from a pause at the end of the file: has it been renamed away?
        atEof = false;
        const now = statOrUndefined(o.input);
        if (reading.path !== o.input || !now || now.ino !== reading.ino || now.dev !== reading.dev) {
          // Renamed away, or we are finishing the old file after a restart, or the copy after a
          // copytruncate. Read it to its end, then move on to the live file.
          for (;;) {
            const k = readSync(reading.fd, buf, 0, CHUNK, reading.offset);
            if (k === 0) break;
            reading.offset += k;
            sp.push(k === CHUNK ? buf : buf.subarray(0, k));
            drain();
          }
          closeSync(reading.fd);
          finishFile();
          // Open the new file now, so that the checkpoint names it: a restart must not take it for unseen.
          reading = open(o.input);
          if (reading) head = readHead(reading.fd);
          checkpoint();
          continue;
        }
      }
      const n = readSync(reading.fd, buf, 0, CHUNK, reading.offset);
      // Checked after the read, so that it also covers a truncate during the read.
      const mark: ReadMark = { head, tail, offset: reading.offset };
      if (reading.path === o.input && !holds(reading.fd, fstatSync(reading.fd).size, mark)) {
        // copytruncate: the file was emptied in place (and perhaps refilled past our offset), so
        // what we just read may be new content at an old offset: drop it. What we had not read
        // yet is in the copy: finish that first, as if it had been renamed.
        const copy = findCopy(o.input, reading, mark);
        closeSync(reading.fd);
        if (copy) reading = openAt(copy, mark.offset);
        else {
          reportLost(o.input, mark.offset);
          finishFile();
          reading = open(o.input);
          if (reading) head = readHead(reading.fd);
        }
        atEof = true;
        checkpoint();
        continue;
      }
      if (n > 0) {
        const chunk = n === CHUNK ? buf : buf.subarray(0, n);
        tail = advanceTail(tail, chunk);
        reading.offset += n;
        if (head.length < MARK_BYTES) head = readHead(reading.fd);
        sp.push(chunk);
        drain();
        lastData = Date.now();
        idled = false;
        if (Date.now() - lastCheckpoint >= checkpointMs) checkpoint();
        // Let signals in between chunks.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      atEof = true;
      if (!idled && Date.now() - lastData >= idleMs) {
        sp.idle();
        idled = true;
        drain();
      }
      if (con.checkRotated()) dirty = true;
      const q = qry.checkRotated();
      if (q) {
        sp.resetSeen();
        dirty = true;
      }
      if (dirty && Date.now() - lastCheckpoint >= checkpointMs) checkpoint();
      await sleep(pollMs, undefined, { signal: o.signal }).catch(() => undefined);
    }
  } finally {
    // A clean stop keeps an unfinished record for the next run rather than cutting it short.
    checkpoint();
    if (reading) closeSync(reading.fd);
    con.close();
    qry.close();
  }
}
