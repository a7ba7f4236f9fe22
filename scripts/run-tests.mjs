#!/usr/bin/env node
// Runs every *.test.ts under agent/, test/, ruler/ and scripts/ with node's test runner.
// `npm test -- mysql redis` runs only files whose path contains one of the words.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['agent', 'test', 'ruler', 'scripts', 'bench'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
for (const r of roots) { try { walk(join(root, r)); } catch { /* folder may not exist yet */ } }
const filters = process.argv.slice(2);
const selected = files.filter((f) => filters.length === 0 || filters.some((w) => f.includes(w))).sort();
if (selected.length === 0) { console.error('no test files matched'); process.exit(1); }
// Integration tests start real servers; two files at a time suits a 2-core machine.
const concurrency = process.env.IMOM_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...selected], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
