/**
 * Checks are found, not listed: every folder next to this file whose index module
 * default-exports a CheckDefinition named like the folder is a check. Adding a check is adding
 * a folder (see check-folders.test.ts for what the folder must hold).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CheckDefinition } from '../core/check.js';

const here = dirname(fileURLToPath(import.meta.url));
// From source (tsx) the folders hold index.ts; built, index.js.
const index = import.meta.url.endsWith('.ts') ? 'index.ts' : 'index.js';

async function discover(): Promise<CheckDefinition[]> {
  const folders = readdirSync(here, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(here, d.name, index)))
    .map((d) => d.name)
    .sort();
  return Promise.all(
    folders.map(async (name) => {
      const mod = (await import(pathToFileURL(join(here, name, index)).href)) as { default?: CheckDefinition };
      if (mod.default?.name !== name) throw new Error(`checks/${name}/${index} must default-export the check named "${name}" (defineCheck)`);
      return mod.default;
    }),
  );
}

/** Every check, by folder name. */
export const CHECKS: readonly CheckDefinition[] = await discover();
