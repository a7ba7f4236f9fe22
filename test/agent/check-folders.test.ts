import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKS } from '../../agent/src/checks/registry.js';
import { loadConfigFile } from '../../agent/src/config/load.js';
import { configSchema } from '../../agent/src/config/schema.js';
import { REPO_ROOT } from '../harness/proc.js';

const CHECKS_DIR = join(REPO_ROOT, 'agent/src/checks');

test('every check folder is found by the registry and has its schema, code, README, sample.yaml and real-server test', () => {
  const folders = readdirSync(CHECKS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual(folders, CHECKS.map((c) => c.name).sort(), 'a folder the registry does not find (index.ts must default-export the check)');
  for (const name of folders) {
    for (const f of ['schema.ts', 'check.ts', 'index.ts', 'README.md', 'sample.yaml', `${name}.test.ts`]) {
      assert.ok(existsSync(join(CHECKS_DIR, name, f)), `${name}/${f} is missing`);
    }
  }
});

test('every sample.yaml validates, with its secrets from the environment', () => {
  for (const c of CHECKS) {
    const file = join(CHECKS_DIR, c.name, 'sample.yaml');
    const env = Object.fromEntries([...readFileSync(file, 'utf8').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => [m[1]!, 'x']));
    const cfg = loadConfigFile(file, configSchema, env);
    assert.ok(((cfg.checks as Record<string, unknown[] | undefined>)[c.name] ?? []).length > 0, `${c.name}/sample.yaml has no instance`);
  }
});
