#!/usr/bin/env node
// Runs every *.test.ts under agent/, test/, ruler/, scripts/ and bench/, one node --test process
// per file, so that each file can be timed and, past its limit, killed with everything it spawned.
// Node's own --test-timeout is per test, not per file: a file whose leaked child keeps its event
// loop alive was waited on for over ten minutes on a fresh machine.
//
//   npm test -- mysql redis            files whose path contains one of the words
//   npm test -- --root test/runner/fixtures   every file under that folder (fixtures included)
//   npm run test:full                  also the files marked `// test-suite: full` (long fault
//                                      matrices; `npm test` skips them), i.e. run-tests.mjs --full
//
// IMOM_TEST_CONCURRENCY   files at once (2: integration tests start real servers on 2 cores)
// IMOM_TEST_FILE_TIMEOUT  seconds one file may take before it is killed and failed (900); a file
//                         may set its own with a line `// test-file-timeout: SECONDS`
// IMOM_TEST_DURATIONS     where each file's last duration is kept, to run the longest first
// IMOM_TEST_OUTPUT_DIR    where each file's output is kept, one .log per file (.tmp/test-output)
// IMOM_TEST_PASSWORD      the password test/harness/pki.ts gives its keystores (random per run)
//
// A file whose output holds a PEM block (`-----BEGIN`) or the test password fails: no private
// key, certificate body or password may reach a line, an error or a snapshot. What is printed
// and kept has them replaced, so the leak does not spread into the CI log.
// --test-force-exit: a file ends when its tests do, and the harness's exit hook then kills
// whatever it started that is still running.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const explicitRoot = rootAt >= 0 ? args[rootAt + 1] : undefined;
if (rootAt >= 0 && !explicitRoot) usage('--root needs a folder');
const full = args.includes('--full');
const filters = args.filter((a, i) => a !== '--full' && (rootAt < 0 || (i !== rootAt && i !== rootAt + 1)));

const concurrency = positive('IMOM_TEST_CONCURRENCY', 2);
const fileLimitMs = positive('IMOM_TEST_FILE_TIMEOUT', 900) * 1000;
// After SIGTERM a file gets this long to stop its servers before everything it spawned is killed.
const TERM_GRACE_MS = 5_000;
const durationsFile = process.env.IMOM_TEST_DURATIONS
  ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'imom', 'test-durations.json');

function usage(msg) {
  console.error(`run-tests: ${msg}`);
  process.exit(2);
}

function positive(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(`${name} must be a positive number, got "${v}"`);
  return n;
}

const files = [];
function walk(dir, withFixtures) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    // Fixture folders hold tests that fail or hang on purpose; only --root runs them.
    if (name === 'fixtures' && !withFixtures) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, withFixtures);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
if (explicitRoot) walk(resolve(root, explicitRoot), true);
else for (const r of ['agent', 'test', 'ruler', 'scripts', 'bench']) { try { walk(join(root, r), false); } catch { /* folder may not exist yet */ } }

/** A file with the line `// test-suite: full` runs only with --full. */
const fullOnly = (f) => /^\/\/ test-suite: full$/m.test(readFileSync(join(root, f), 'utf8'));
const selected = files.filter((f) => (filters.length === 0 || filters.some((w) => f.includes(w))) && (full || !fullOnly(f)));
if (selected.length === 0) usage('no test files matched');

function readDurations() {
  try { return JSON.parse(readFileSync(durationsFile, 'utf8')); } catch { return {}; }
}
const known = readDurations();
// Longest first, so the slowest file does not start last and stretch the run; a file never timed
// yet goes by its size, the best guess at hand.
const byCost = (f) => known[f] ?? statSync(join(root, f)).size;
selected.sort((a, b) => byCost(b) - byCost(a) || a.localeCompare(b));

/** Every live descendant of pid, found through /proc (children of children, whatever their group). */
function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) for (const c of children.get(stack.pop()) ?? []) { out.push(c); stack.push(c); }
  return out;
}

function kill(pid, sig) {
  try { process.kill(-pid, sig); } catch { /* not a group leader */ }
  try { process.kill(pid, sig); } catch { /* gone */ }
}

// Run from inside a test (runner.test.ts), node would see NODE_TEST_CONTEXT and skip the files.
const childEnv = { ...process.env };
delete childEnv.NODE_TEST_CONTEXT;
const testPassword = (childEnv.IMOM_TEST_PASSWORD ||= `imom-test-${randomBytes(6).toString('hex')}`);
const outputDir = process.env.IMOM_TEST_OUTPUT_DIR ?? join(root, '.tmp', 'test-output');

const PEM_MARK = '-----BEGIN';
/** What in a file's output must never be there, in words (never the text itself). */
function leaks(out) {
  const found = [];
  if (out.includes(PEM_MARK)) found.push(`a PEM block (${PEM_MARK})`);
  if (out.includes(testPassword)) found.push('the test password');
  return found;
}
/** The output with PEM blocks and the password replaced, for the log and the kept file. */
function redacted(out) {
  return out.split(testPassword).join('[test password]').replace(/-----BEGIN[^]*?(?:-----END[^\n]*?-----|$)/g, '[PEM block]');
}

function fileLimit(file) {
  const m = /^\/\/ test-file-timeout: (\d+)$/m.exec(readFileSync(join(root, file), 'utf8'));
  return m ? Number(m[1]) * 1000 : fileLimitMs;
}

function runFile(file) {
  return new Promise((res) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', '--test-reporter=spec', file], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: childEnv,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    let timedOut = false;
    const limitMs = fileLimit(file);
    const limit = setTimeout(() => {
      timedOut = true;
      const tree = descendants(child.pid);
      // The harness in the file's process stops what it started on SIGTERM, then exits.
      for (const p of [child.pid, ...tree]) kill(p, 'SIGTERM');
      setTimeout(() => {
        for (const p of [child.pid, ...tree, ...descendants(child.pid)]) kill(p, 'SIGKILL');
      }, TERM_GRACE_MS).unref();
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      res({ file, code, signal, out, timedOut, limitMs, ms: Date.now() - started });
    });
  });
}

const count = (out, word) => {
  const m = [...out.matchAll(new RegExp(`^ℹ ${word} (\\d+)$`, 'gm'))].at(-1);
  return m ? Number(m[1]) : 0;
};

const results = [];
const queue = [...selected];
async function worker() {
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    console.log(`▶ ${f}`);
    const r = await runFile(f);
    r.pass = count(r.out, 'pass');
    r.fail = count(r.out, 'fail') + count(r.out, 'cancelled');
    r.skipped = count(r.out, 'skipped') + count(r.out, 'todo');
    r.leaks = leaks(r.out);
    r.out = redacted(r.out);
    try {
      mkdirSync(outputDir, { recursive: true });
      writeFileSync(join(outputDir, `${f.replaceAll('/', '__')}.log`), r.out);
    } catch (e) { console.error(`run-tests: cannot keep the output of ${f} in ${outputDir}: ${e.message}`); }
    // A file that crashed, hung, leaked or exited non-zero without a failed test still failed.
    r.failed = r.timedOut || r.code !== 0 || r.fail > 0 || r.leaks.length > 0;
    if (r.failed && r.fail === 0) r.fail = 1;
    results.push(r);
    const leaked = r.leaks.length ? `: its output holds ${r.leaks.join(' and ')}` : '';
    const verdict = r.timedOut ? `TIMED OUT after ${r.limitMs / 1000}s, killed with everything it spawned${leaked}` : r.failed ? `FAILED${leaked}` : 'ok';
    process.stdout.write(`\n── ${f} (${(r.ms / 1000).toFixed(1)} s) ${verdict}\n${r.out}\n`);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, selected.length) }, worker));

const fresh = readDurations();
for (const r of results) if (!r.timedOut) fresh[r.file] = r.ms;
try {
  mkdirSync(dirname(durationsFile), { recursive: true });
  writeFileSync(`${durationsFile}.tmp`, JSON.stringify(fresh, null, 1));
  renameSync(`${durationsFile}.tmp`, durationsFile);
} catch (e) { console.error(`run-tests: cannot record durations in ${durationsFile}: ${e.message}`); }

console.log('\nFile durations, longest first:');
for (const r of [...results].sort((a, b) => b.ms - a.ms)) {
  console.log(`  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.timedOut ? 'TIMEOUT' : r.failed ? 'FAIL   ' : 'ok     '}  ${r.file}`);
}
const failedFiles = results.filter((r) => r.failed);
if (failedFiles.length) console.log(`\nFailed files:\n${failedFiles.map((r) => `  ${r.file}${r.timedOut ? ' (timed out)' : ''}${r.leaks.length ? ` (output holds ${r.leaks.join(' and ')})` : ''}`).join('\n')}`);
console.log(`Each file's output: ${outputDir}`);
const sum = (k) => results.reduce((n, r) => n + r[k], 0);
console.log(`\ntests: ${sum('pass')} passed, ${sum('fail')} failed, ${sum('skipped')} skipped`);
process.exit(failedFiles.length ? 1 : 0);
