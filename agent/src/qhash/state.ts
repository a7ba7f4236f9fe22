/**
 * The splitter's persisted state: where it is in the input, how much it had written to each
 * output at that point, and the seen-shape set. One JSON file replaced atomically, so a crash
 * leaves either the old or the new checkpoint, never a mix.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/errors.js';

const fileRef = z.object({ path: z.string(), ino: z.number(), size: z.number().int().nonnegative() });

const stateSchema = z.object({
  version: z.literal(1),
  input: z
    .object({
      path: z.string(),
      dev: z.number(),
      ino: z.number(),
      offset: z.number().int().nonnegative(),
      /** First bytes of the file (base64), to notice a file truncated and refilled past our offset. */
      head: z.string(),
      /** The bytes just before `offset` (base64): with `head`, finds the copy after copytruncate. */
      tail: z.string().optional(),
    })
    .optional(),
  console: fileRef.optional(),
  query: fileRef.optional(),
  splitter: z.object({
    seen: z.array(z.string()),
    preparing: z.array(z.tuple([z.string(), z.object({ qhash: z.string(), fingerprint: z.string(), awaiting: z.object({ sql: z.string(), firstSeen: z.string() }).optional() })])),
    midLine: z.enum(['no', 'pass', 'swallow']),
  }),
});

export type QhashState = z.infer<typeof stateSchema>;
export type FileRef = z.infer<typeof fileRef>;

const FILE = 'qhash-state.json';

export function statePath(dir: string): string {
  return join(dir, FILE);
}

export function loadState(dir: string): QhashState | undefined {
  let text: string;
  try {
    text = readFileSync(statePath(dir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${statePath(dir)}: cannot read state: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${statePath(dir)}: state is not valid JSON; remove it to start over (the query log may then repeat shapes)`);
  }
  const r = stateSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${statePath(dir)}: state is not in the expected form (${r.error.issues[0]?.message ?? 'invalid'}); remove it to start over`);
  return r.data;
}

export function saveState(dir: string, st: QhashState): void {
  mkdirSync(dir, { recursive: true });
  const p = statePath(dir);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(st));
  renameSync(tmp, p);
}
