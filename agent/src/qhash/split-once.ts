/** `imom qhash split` without --follow: one pass over a file or stdin. */
import { closeSync, openSync, readSync } from 'node:fs';
import { OutFile } from './out-file.js';
import { Splitter, type SplitOptions, type SplitStats } from './splitter.js';
import { loadState, saveState } from './state.js';
import { CHUNK } from './tailer.js';

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
  const drain = async () => {
    const out = sp.take();
    await con.write(out.console);
    await qry.write(out.query);
  };
  if (o.input === '-') {
    for await (const chunk of process.stdin) {
      sp.push(chunk as Buffer);
      await drain();
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
        await drain();
      }
    } finally {
      closeSync(fd);
    }
  }
  sp.end();
  await drain();
  if (o.stateDir) {
    const snap = sp.snapshot();
    saveState(o.stateDir, { version: 1, console: con.ref(), query: qry.ref(), splitter: { ...snap, preparing: [], midLine: 'no' } });
  }
  con.close();
  qry.close();
  return sp.stats;
}
