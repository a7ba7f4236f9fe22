/** Shared by the Promtail tests: numbered check lines, rotation, exactly-once accounting. */
import { appendFileSync, copyFileSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { logFileTimestamp } from '../../agent/src/core/format.js';
import { sleep } from '../harness/proc.js';
import type { LogEntry } from '../harness/loki.js';

/** A line as the agent writes it: local time, second precision. */
export function checkLine(d: Date, body: string): string {
  return `${logFileTimestamp(d, 'local')} | ${body}`;
}

/** A Spring Boot console line (logback's `yyyy-MM-dd HH:mm:ss.SSS`, local time). */
export function springLine(d: Date, level: string, thread: string, logger: string, msg: string): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  return `${stamp} ${level.padStart(5)} 4120 --- [${thread}] ${logger.padEnd(40)} : ${msg}`;
}

/** Unique, numbered check line: "… | Status=OK, Seq=<tag>-<n>, …" (levels cycle OK/ERROR/CRITICAL for label coverage). */
export function seqLine(tag: string, n: number, d = new Date()): string {
  return n % 97 === 0
    ? checkLine(d, `CRITICAL: Node 127.0.0.1:6381 is expected to be master but found slave Seq=${tag}-${n}`)
    : checkLine(d, `Status=${n % 89 === 0 ? 'ERROR' : 'OK'}, Slave=127.0.0.1, Seq=${tag}-${n}, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes`);
}

export type Rotation = 'none' | 'rename' | 'copytruncate';

export interface WriteOptions {
  readonly tag: string;
  readonly from?: number;
  readonly count: number;
  /** Lines per write burst, and the pause after each. */
  readonly batch?: number;
  readonly pauseMs?: number;
  readonly rotation?: Rotation;
  readonly rotateEvery?: number;
  /** The n-th line (without its newline); a check line by default. */
  readonly line?: (tag: string, n: number, d: Date) => string;
}

/**
 * Appends numbered lines to `path`, rotating every `rotateEvery` lines:
 *  - rename: path -> path.<k>, the next write creates a new path (logrotate `create`);
 *  - copytruncate: copy path -> path.<k>, truncate path to 0, keep appending (logrotate `copytruncate`).
 * Rotation happens right after the write that completes a block of `rotateEvery` lines,
 * which is the hard case for a tailer: the newest lines are the least likely to be read yet.
 * Returns the number of rotations.
 */
export async function writeNumbered(path: string, o: WriteOptions): Promise<number> {
  const from = o.from ?? 0;
  const batch = o.batch ?? 200;
  let k = 0;
  for (let i = from; i < from + o.count;) {
    const n = Math.min(batch, from + o.count - i, o.rotateEvery ? o.rotateEvery - ((i - from) % o.rotateEvery) : batch);
    const now = new Date();
    let chunk = '';
    for (let j = 0; j < n; j++) chunk += (o.line ?? seqLine)(o.tag, i + j, now) + '\n';
    appendFileSync(path, chunk);
    i += n;
    if (o.rotation && o.rotation !== 'none' && o.rotateEvery && (i - from) % o.rotateEvery === 0 && i < from + o.count) {
      // logrotate numbering: .1 -> .2, .2 -> .3, …, then the live file becomes .1
      for (let j = k; j >= 1; j--) renameSync(`${path}.${j}`, `${path}.${j + 1}`);
      k++;
      const to = `${path}.1`;
      if (o.rotation === 'rename') renameSync(path, to);
      else {
        copyFileSync(path, to);
        truncateSync(path, 0);
      }
    }
    if (o.pauseMs) await sleep(o.pauseMs);
  }
  return k;
}

export interface Accounting {
  readonly expected: number;
  readonly received: number;
  readonly missing: number[];
  readonly duplicated: number[];
}

/** Which numbered lines of `tag` are missing from, or repeated in, what Loki returned. */
export function account(entries: readonly LogEntry[], tag: string, from: number, count: number): Accounting {
  const seen = new Map<number, number>();
  const re = new RegExp(`Seq=${tag}-(\\d+)\\b`);
  for (const e of entries) {
    const m = re.exec(e.line);
    if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  }
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let i = from; i < from + count; i++) {
    const c = seen.get(i) ?? 0;
    if (c === 0) missing.push(i);
    else if (c > 1) duplicated.push(i);
  }
  return { expected: count, received: entries.length, missing, duplicated };
}

/** "17-23, 40" for a readable failure message. */
export function ranges(ns: readonly number[], max = 20): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length && out.length < max; ) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(', ') + (out.length === max ? ', …' : '');
}

/** The end marker of the fault tests: a check line of its own tag, which no test counts. */
export const END = seqLine('end', 1);
export const withoutEnd = (selector: string) => `${selector} != "Seq=end-1"`;

/**
 * The fault tests' rotation load: ~5,000 lines/s in bursts of 250 every 50 ms, rotated every
 * 10,000 lines (~2 s), right after a burst: the hard case, as the newest lines are the least
 * likely to be read yet.
 */
export const ROTATION = { total: 50_000, every: 10_000, write: { count: 50_000, batch: 250, pauseMs: 50, rotateEvery: 10_000 } } as const;

/** Newlines in `file`: the lines written so far. */
export function linesIn(file: string): number {
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}
