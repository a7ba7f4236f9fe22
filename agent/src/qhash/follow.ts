/**
 * `imom qhash split --follow`: the Tailer's chunks through the Splitter into the outputs, with a
 * checkpoint now and then, resuming where resume.ts decides after a restart.
 *
 * Exactly-once across kill -9: output is written first, then the checkpoint (input offset,
 * output sizes, seen set). After a crash between the two, the splitter replays from the older
 * checkpoint and the output writer skips the bytes that are already in the files, because the
 * replay produces the same bytes.
 *
 * No wait blocks the event loop: polling and a full stdout pipe wait on timers, and every chunk
 * (also of a rotated file being finished) yields to signals before the next read.
 */
import { setImmediate as yieldToEvents, setTimeout as sleep } from 'node:timers/promises';
import { Checkpointer } from './checkpoint.js';
import { OutFile } from './out-file.js';
import { decideResume, type SavedInput } from './resume.js';
import { lookAtDisk } from './rotated.js';
import type { SplitFilesOptions } from './split-once.js';
import { Splitter } from './splitter.js';
import { loadState, type QhashState } from './state.js';
import { Tailer } from './tailer.js';

export interface FollowOptions extends SplitFilesOptions {
  stateDir: string;
  signal: AbortSignal;
  pollMs?: number;
  /** A SQL block at the end of the file is complete after this long without new input. */
  idleMs?: number;
  checkpointMs?: number;
}

/** copytruncate without a copy we can read: say so, and where, rather than lose lines quietly. */
function reportLost(input: string, offset: number): void {
  process.stderr.write(
    `imom qhash: ${input} was emptied in place (copytruncate) and no file next to it holds its bytes from offset ${offset} on: ` +
      'lines written after the last read and before the truncation are lost. Keep the copy uncompressed until the next rotation (logrotate delaycompress), or rotate by rename.\n',
  );
}

function savedInput(st: QhashState | undefined): SavedInput | undefined {
  const i = st?.input;
  return i && { path: i.path, dev: i.dev, ino: i.ino, offset: i.offset, head: Buffer.from(i.head, 'base64'), tail: Buffer.from(i.tail ?? '', 'base64') };
}

export async function follow(o: FollowOptions): Promise<void> {
  const pollMs = o.pollMs ?? 200;
  const idleMs = o.idleMs ?? 500;
  const st = loadState(o.stateDir);
  const saved = savedInput(st);
  const resume = decideResume(st && { input: saved, console: st.console, query: st.query }, lookAtDisk(o, saved));
  if (resume.lostFrom !== undefined) reportLost(o.input, resume.lostFrom);
  const con = new OutFile(o.console, 'append');
  const qry = new OutFile(o.query, 'append');
  let snapshot = st?.splitter;
  if (snapshot && resume.resetMidLine) snapshot = { ...snapshot, midLine: 'no' };
  // The query log moved away while we were stopped: its shapes must be written again.
  if (snapshot && resume.clearSeen) snapshot = { ...snapshot, seen: [] };
  const sp = new Splitter(o.split, snapshot, resume.resumed ? resume.read.offset : 0);
  con.skip = resume.consoleSkip;
  qry.skip = resume.querySkip;
  const tailer = new Tailer(o.input, { ...resume.read, resumed: resume.resumed, tail: resume.resumed && saved ? saved.tail : Buffer.alloc(0) });
  const cp = new Checkpointer(o.stateDir, o.checkpointMs ?? 1000);

  const drain = async () => {
    const out = sp.take();
    if (out.console.length || out.query.length) cp.dirty = true;
    await con.write(out.console);
    await qry.write(out.query);
  };
  const checkpoint = async () => {
    await drain();
    const state: QhashState = { version: 1, console: con.ref(), query: qry.ref(), splitter: sp.snapshot() };
    const input = tailer.position(sp.safeOffset());
    if (input) state.input = input;
    cp.save(state);
  };
  /** The current file is finished (rotated away or truncated): its last record is complete. */
  const finishFile = async () => {
    sp.end();
    await drain();
    sp.rebase(0);
  };
  const pause = () => sleep(pollMs, undefined, { signal: o.signal }).catch(() => undefined);

  let lastData = Date.now();
  let idled = true;
  try {
    while (!o.signal.aborted) {
      const r = tailer.read();
      switch (r.kind) {
        case 'missing':
          await pause();
          break;
        case 'opened':
          cp.dirty = true;
          break;
        case 'chunk':
          sp.push(r.chunk);
          await drain();
          lastData = Date.now();
          idled = false;
          if (cp.due()) await checkpoint();
          // Let signals in between chunks.
          await yieldToEvents();
          break;
        case 'truncated':
          if (r.copy === undefined) {
            reportLost(o.input, r.offset);
            await finishFile();
          }
          // The checkpoint names the copy (read next) or the live file (read from 0).
          await checkpoint();
          break;
        case 'renamed':
          await finishFile();
          // The tailer has opened the new file, so the checkpoint names it: a restart must not take it for unseen.
          await checkpoint();
          break;
        case 'eof':
          if (!idled && Date.now() - lastData >= idleMs) {
            sp.idle();
            idled = true;
            await drain();
          }
          if (con.checkRotated()) cp.dirty = true;
          if (qry.checkRotated()) {
            sp.resetSeen();
            cp.dirty = true;
          }
          if (cp.dirty && cp.due()) await checkpoint();
          await pause();
          break;
      }
    }
  } finally {
    // A clean stop keeps an unfinished record for the next run rather than cutting it short.
    await checkpoint();
    tailer.close();
    con.close();
    qry.close();
  }
}
