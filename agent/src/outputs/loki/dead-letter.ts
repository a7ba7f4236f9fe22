/**
 * `spool_dir/dead-letter.ndjson`: batches Loki refused for good, one JSON object per batch
 * whose `push` field is a Loki JSON push body (re-send it with curl). Rotated to
 * `dead-letter.1.ndjson` past `maxBytes`.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from './batch.js';
import type { SpoolReport } from './report.js';

export const deadLetterPath = (dir: string): string => join(dir, 'dead-letter.ndjson');

/** Appends `batch` with its (already redacted) reason; reports a rotation or a failed write. */
export function writeDeadLetter(dir: string, maxBytes: number, batch: Batch, reason: string, report: (r: SpoolReport) => void): void {
  const file = deadLetterPath(dir);
  const record = {
    dead_lettered_at: new Date().toISOString(),
    error: reason,
    lines: batch.lines,
    // The body of a Loki JSON push: re-send with `curl -H 'Content-Type: application/json' --data @- …/loki/api/v1/push`.
    push: {
      streams: [...batch.streams].map(([labels, entries]) => ({
        stream: JSON.parse(labels) as Record<string, string>,
        values: entries.map((e) => [`${e.ms}${String(e.sub).padStart(6, '0')}`, e.line.toString('utf8')]),
      })),
    },
  };
  try {
    try {
      if (statSync(file).size > maxBytes) {
        renameSync(file, join(dir, 'dead-letter.1.ndjson'));
        report({ level: 'WARN', code: 'dead_letter_rotated', message: `loki dead-letter file reached ${maxBytes} bytes; rotated to dead-letter.1.ndjson (the previous .1 was replaced)` });
      }
    } catch { /* no file yet */ }
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  } catch (e) {
    report({ level: 'ERROR', code: 'dead_letter_write_failed', message: `loki dead-letter write failed (${(e as Error).message}); ${batch.lines} rejected lines lost` });
  }
}
