import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_NAMES, CHECKS } from '../../agent/src/checks/all.js';
import { loadConfigFile } from '../../agent/src/config/load.js';
import { configSchema } from '../../agent/src/app/config-schema.js';
import { REPO_ROOT } from '../harness/proc.js';

const CHECKS_DIR = join(REPO_ROOT, 'agent/src/checks');

test('every check folder is listed in checks/all.ts under its own name and has its schema, code, README, sample.yaml and real-server test', () => {
  const folders = readdirSync(CHECKS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual(folders, [...CHECK_NAMES].sort(), 'checks/all.ts and the check folders disagree: add one import line per folder');
  for (const name of CHECK_NAMES) assert.equal(CHECKS[name].name, name, `checks/${name}/index.ts must default-export the check named "${name}"`);
  for (const name of folders) {
    for (const f of ['schema.ts', 'check.ts', 'index.ts', 'README.md', 'sample.yaml', `${name}.test.ts`]) {
      assert.ok(existsSync(join(CHECKS_DIR, name, f)), `${name}/${f} is missing`);
    }
  }
});

test('every sample.yaml validates, with its secrets from the environment', () => {
  for (const name of CHECK_NAMES) {
    const file = join(CHECKS_DIR, name, 'sample.yaml');
    const env = Object.fromEntries([...readFileSync(file, 'utf8').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => [m[1]!, 'x']));
    const cfg = loadConfigFile(file, configSchema, env);
    assert.ok((cfg.checks[name] ?? []).length > 0, `${name}/sample.yaml has no instance`);
  }
});
