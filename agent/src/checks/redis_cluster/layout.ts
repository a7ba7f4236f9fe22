/**
 * The intended layout (which node is meant to be master, which slave), when `masters` is not
 * configured: the layout first observed, kept as JSON in the agent's state folder so a restart
 * of the agent does not forget what "failovered" and "failbacked" are measured against.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Role = 'master' | 'slave';

export interface LayoutFile {
  version: 1;
  cluster: string;
  /** ip:port → role when first observed. */
  nodes: Record<string, Role>;
  updated: string;
}

export function layoutPath(stateDir: string, instance: string): string {
  return join(stateDir, 'redis_cluster', `${instance.replace(/[^A-Za-z0-9_.-]/g, '_')}.layout.json`);
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
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(layout, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}
