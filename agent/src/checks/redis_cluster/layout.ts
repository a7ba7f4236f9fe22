/**
 * The intended layout (which node is meant to be master, which slave), when `masters` is not
 * configured: the layout first observed, kept as JSON in the instance's state folder so a restart
 * of the agent does not forget what "failovered" and "failbacked" are measured against.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type Role = 'master' | 'slave';

export interface LayoutFile {
  version: 1;
  cluster: string;
  /** ip:port → role when first observed. */
  nodes: Record<string, Role>;
  updated: string;
}

/** `<instance state folder>/layout.json`. */
export function layoutPath(instanceDir: string): string {
  return join(instanceDir, 'layout.json');
}

/**
 * Where the layout was kept before each instance had its own folder: `<state_dir>/redis_cluster/<name>.layout.json`,
 * the name with every character outside [A-Za-z0-9_.-] as `_`. The agent's instance folder is
 * `<state_dir>/redis_cluster/<name>` (name as written), so `<state_dir>/redis_cluster` is that folder
 * less `/<name>`; undefined when the folder is not named so (then there is no old place to look).
 */
export function legacyLayoutPath(instanceDir: string, instance: string): string | undefined {
  const suffix = `/${instance}`;
  if (!instanceDir.endsWith(suffix)) return undefined;
  return join(instanceDir.slice(0, -suffix.length), `${instance.replace(/[^A-Za-z0-9_.-]/g, '_')}.layout.json`);
}

/**
 * Moves a layout file from its old place to `path` (one rename), unless `path` already exists
 * (then the old file is left alone). Returns whether it moved; no old file is not an error.
 */
export async function moveLegacyLayout(legacy: string, path: string): Promise<boolean> {
  if (await exists(path) || !(await exists(legacy))) return false;
  await mkdir(dirname(path), { recursive: true });
  try {
    await rename(legacy, path);
  } catch (e) {
    // Gone between the look and the rename.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** undefined when there is no file yet; throws when the file exists but cannot be read or parsed. */
export async function readLayout(path: string): Promise<LayoutFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const data = JSON.parse(text) as Partial<LayoutFile>;
  if (data.version !== 1 || typeof data.nodes !== 'object' || data.nodes === null) throw new Error('not a layout file (version 1)');
  for (const [addr, role] of Object.entries(data.nodes)) {
    if (role !== 'master' && role !== 'slave') throw new Error(`bad role for ${addr}`);
  }
  return data as LayoutFile;
}

/** Atomic: written to a temporary file in the same folder, then renamed over the old one. */
export async function writeLayout(path: string, layout: LayoutFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(layout, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}
