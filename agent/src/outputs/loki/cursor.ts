/**
 * The spool's cursor file, `cursor` = {"seq":N,"offset":M}: every frame before byte M of
 * segment N was answered 2xx (or dead-lettered). Replaced by rename, so a crash leaves the old
 * or the new one, never half of either.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A place in the spool: byte `offset` of segment `seq`. */
export interface Pos {
  seq: number;
  offset: number;
}

export function cmpPos(a: Pos, b: Pos): number {
  return a.seq - b.seq || a.offset - b.offset;
}

const CURSOR = 'cursor';

export function readCursor(dir: string): Pos | undefined {
  try {
    const c = JSON.parse(readFileSync(join(dir, CURSOR), 'utf8')) as Partial<Pos>;
    if (Number.isInteger(c.seq) && Number.isInteger(c.offset)) return { seq: c.seq!, offset: c.offset! };
  } catch {
    /* no cursor yet */
  }
  return undefined;
}

export function writeCursor(dir: string, pos: Pos): void {
  const p = join(dir, CURSOR);
  writeFileSync(`${p}.tmp`, JSON.stringify(pos));
  renameSync(`${p}.tmp`, p);
}
