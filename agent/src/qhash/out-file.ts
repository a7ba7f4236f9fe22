/** An output file the splitter appends to, that notices when logrotate moves or truncates it. */
import { closeSync, fstatSync, openSync, writevSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { statOrUndefined } from './rotated.js';
import type { FileRef } from './state.js';

/** writev takes at most this many buffers (Linux IOV_MAX). */
const IOV_MAX = 1024;
/** A full non-blocking stdout pipe is retried after this long: short next to --follow's 200 ms poll, and no busy loop. */
const EAGAIN_RETRY_MS = 5;
const STDOUT_FD = 1;
/** stdin, stdout, stderr: not ours to close. */
const LAST_STDIO_FD = 2;

export class OutFile {
  private fd: number;
  ino = 0;
  /** Bytes in the file as far as we know (ours, appended). */
  size = 0;

  /** Bytes still to drop from the front of the output: replayed after a crash, already written before the checkpoint. */
  skip = 0;

  constructor(readonly path: string, mode: 'append' | 'truncate') {
    this.fd = this.open(mode);
  }

  private open(mode: 'append' | 'truncate'): number {
    if (this.path === '-') return STDOUT_FD;
    const fd = openSync(this.path, mode === 'append' ? 'a' : 'w', 0o644);
    const st = fstatSync(fd);
    this.ino = st.ino;
    this.size = st.size;
    return fd;
  }

  async write(bufs: Buffer[]): Promise<void> {
    if (bufs.length === 0) return;
    if (this.skip > 0) {
      // Replayed after a crash: these bytes were written before the last checkpoint was saved.
      const b = Buffer.concat(bufs);
      const n = Math.min(this.skip, b.length);
      this.skip -= n;
      bufs = [b.subarray(n)];
    }
    this.size += await writeAll(this.fd, bufs);
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
    if (this.fd > LAST_STDIO_FD) closeSync(this.fd);
  }
}

/** writev without copying the slices together; returns the bytes written. */
async function writeAll(fd: number, bufs: Buffer[]): Promise<number> {
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
      // stdout may be a non-blocking pipe: wait on a timer, not by blocking the event loop.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(EAGAIN_RETRY_MS);
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
