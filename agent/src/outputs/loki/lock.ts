/**
 * The spool's `lock` file: the pid of the one process that owns spool_dir. Taken exclusively
 * (two agents on one spool would send and acknowledge the same frames twice).
 *
 * The pid is written to a file of our own first and then hard-linked as `lock`: link(2) fails
 * when `lock` exists, like open(O_CREAT|O_EXCL), and the lock never exists half-written, so a
 * reader never mistakes a lock being taken for a stale one.
 *
 * A lock whose pid is dead (or is this process: a spool reopened without close(), as after a
 * crash in the tests) is stale and taken over: moved aside, checked to be the one judged stale
 * (another process may have taken it over in between), then taken as above.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../../core/pid.js';

const LOCK = 'lock';
/** Takeovers tried before giving up: each loses only to another process taking the same lock. */
const ATTEMPTS = 3;

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const isErr = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException)?.code === code;
const heldByOther = (pid: number | undefined): pid is number => pid !== undefined && pid !== process.pid && pidAlive(pid);
const inUse = (dir: string, pid: number) => new Error(`loki spool ${dir} is in use by process ${pid}`);

/** Takes the lock of `dir` for this process; throws when a live process holds it. */
export function lockSpool(dir: string): void {
  const lock = join(dir, LOCK);
  const mine = join(dir, `${LOCK}.${process.pid}`);
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o640, flag: 'w' });
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      try {
        linkSync(mine, lock);
        return;
      } catch (e) {
        if (!isErr(e, 'EEXIST')) throw e;
      }
      const holder = readPid(lock);
      if (heldByOther(holder)) throw inUse(dir, holder);
      const aside = join(dir, `${LOCK}.${process.pid}.stale`);
      try {
        renameSync(lock, aside);
      } catch (e) {
        if (isErr(e, 'ENOENT')) continue; // someone else moved it: try again
        throw e;
      }
      const moved = readPid(aside);
      if (moved !== holder && heldByOther(moved)) {
        // Another process took the stale lock over between our read and our move: give it back.
        try { linkSync(aside, lock); } catch { /* a third one holds it now */ }
        unlinkSync(aside);
        throw inUse(dir, moved);
      }
      unlinkSync(aside);
    }
    throw new Error(`loki spool ${dir}: could not take its lock in ${ATTEMPTS} attempts (other processes are taking it)`);
  } finally {
    unlinkSync(mine);
  }
}

/** Removes the lock of `dir` if this process holds it. */
export function unlockSpool(dir: string): void {
  const lock = join(dir, LOCK);
  if (readPid(lock) !== process.pid) return;
  try { unlinkSync(lock); } catch { /* gone */ }
}
