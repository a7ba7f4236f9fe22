/** One query-log line: a shape's first execution. */

/** What one `{"QHash":"<32 hex>","sql":…}` line weighs besides its SQL, for the per-execution comparison in the stats. */
export const PER_EXECUTION_ENTRY_OVERHEAD = 52;

export function queryLogLine(qhash: string, fingerprint: string, firstSeen: string, example: string | null, truncated: boolean): Buffer {
  const entry: Record<string, unknown> = { QHash: qhash, sql: fingerprint, first_seen: firstSeen, example };
  if (truncated) entry.truncated = true;
  return Buffer.from(JSON.stringify(entry) + '\n');
}
