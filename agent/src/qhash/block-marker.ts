/** `boundSql : …` and other configured markers: a message that opens SQL running to the next record start. */
import { skipSpaces, startsWith } from './scan.js';
import type { SqlStart } from './sql-start.js';

export interface BlockMarkers {
  markers: Buffer[];
  /** First bytes of the markers: most messages are rejected on this one test. */
  firstBytes: Set<number>;
}

export function compileBlockMarkers(list: string[]): BlockMarkers {
  const markers = list.filter((m) => m.length > 0).map((m) => Buffer.from(m));
  return { markers, firstBytes: new Set(markers.map((m) => m[0]!)) };
}

/** The message at `m` opening a block, or undefined. The caller tests `firstBytes` first (inline: it rejects most lines). */
export function matchBlockMarker(b: Buffer, m: number, e: number, bm: BlockMarkers): SqlStart | undefined {
  for (const mk of bm.markers) {
    if (startsWith(b, m, e, mk)) {
      const sqlStart = skipSpaces(b, m + mk.length, e);
      return { kind: 'block', prefixEnd: m, sqlStart, sqlEnd: e, multiline: true, extra: '', thread: '' };
    }
  }
  return undefined;
}
