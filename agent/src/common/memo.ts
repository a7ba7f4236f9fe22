/**
 * What a cycle must remember for the next one (a node's rejected_connections, the master the
 * Sentinels named), kept in memory and in the instance's state folder, one small JSON file per
 * key, so that `imom check --once` and an agent restart compare with the last cycle too.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';

export class Memo<T> {
  private value: T | undefined;
  private loaded = false;

  /** `key` names the file: `<stateDir>/<key>.json` (every character but A-Za-z0-9_.- as `_`). */
  constructor(private readonly stateDir: string, key: string, private readonly schema: z.ZodType<T>) {
    this.path = join(stateDir, `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }
  readonly path: string;

  /** The last value: from memory, or from the file on the first call (a missing or unreadable file is no value). */
  async get(): Promise<T | undefined> {
    if (!this.loaded) {
      this.loaded = true;
      try {
        const parsed = this.schema.safeParse(JSON.parse(await readFile(this.path, 'utf8')));
        if (parsed.success && this.value === undefined) this.value = parsed.data;
      } catch {
        // No file yet, or a damaged one: this cycle is the first.
      }
    }
    return this.value;
  }

  /**
   * Keeps `value`; the file is written (only when the value changed) atomically (a temporary file, then a rename). A file
   * that cannot be written costs only the comparison across a restart: memory still has it.
   */
  async set(value: T): Promise<void> {
    // Unchanged (the usual case: rejected_connections rarely moves): no write every cycle.
    if (this.loaded && this.value !== undefined && JSON.stringify(this.value) === JSON.stringify(value)) return;
    this.value = value;
    this.loaded = true;
    try {
      await mkdir(this.stateDir, { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o644 });
      await rename(tmp, this.path);
    } catch {
      // See above.
    }
  }
}
