/**
 * The test runner (scripts/run-tests.mjs) on a fixture folder: a file that fails while its
 * spawned agent runs, a file that hangs, and a file that passes. The suite must end, name
 * what failed and what hung, run the longest first, and leave no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../../agent/src/core/pid.js';
import { REPO_ROOT, removeDir, run, tempDir } from '../harness/proc.js';

const F = 'test/runner/fixtures';

test('a failing file, a hanging file and a passing file: the run ends, names each, and leaves no process', async () => {
  const dir = tempDir('runner');
  try {
    const durations = join(dir, 'durations.json');
    // Recorded durations decide the order: longest first.
    writeFileSync(durations, JSON.stringify({ [`${F}/passes.test.ts`]: 3_000, [`${F}/fails-with-agent.test.ts`]: 2_000, [`${F}/hangs.test.ts`]: 1_000 }));
    const r = await run(process.execPath, [join(REPO_ROOT, 'scripts/run-tests.mjs'), '--root', F], {
      cwd: REPO_ROOT, allowFail: true, timeoutMs: 300_000,
      env: { ...process.env, IMOM_TEST_CONCURRENCY: '1', IMOM_TEST_FILE_TIMEOUT: '600', IMOM_TEST_DURATIONS: durations, IMOM_FIXTURE_PIDS: dir },
    });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.deepEqual([...out.matchAll(/^▶ (\S+)$/gm)].map((m) => m[1]), [`${F}/passes.test.ts`, `${F}/fails-with-agent.test.ts`, `${F}/hangs.test.ts`]);
    assert.match(out, new RegExp(`^── ${F}/hangs\\.test\\.ts \\([\\d.]+ s\\) TIMED OUT after 15s, killed with everything it spawned$`, 'm'));
    assert.match(out, new RegExp(`^── ${F}/fails-with-agent\\.test\\.ts \\([\\d.]+ s\\) FAILED$`, 'm'));
    assert.match(out, /failing on purpose, with the agent still running/);
    assert.match(out, new RegExp(`^── ${F}/passes\\.test\\.ts \\([\\d.]+ s\\) ok$`, 'm'));
    assert.match(out, new RegExp(`^Failed files:\\n {2}${F}/fails-with-agent\\.test\\.ts\\n {2}${F}/hangs\\.test\\.ts \\(timed out\\)$`, 'm'));
    assert.match(out, /^tests: 2 passed, 2 failed, 0 skipped$/m);
    // Each file's duration is printed; the hung one is not recorded as a duration.
    for (const f of ['passes', 'fails-with-agent', 'hangs']) assert.match(out, new RegExp(`^ +[\\d.]+ s {2}\\S+ +${F}/${f}\\.test\\.ts$`, 'm'));
    const recorded = JSON.parse(readFileSync(durations, 'utf8')) as Record<string, number>;
    assert.equal(recorded[`${F}/hangs.test.ts`], 1_000);
    assert.notEqual(recorded[`${F}/passes.test.ts`], 3_000);
    // Nothing the fixtures started survives them: the agent (reaped by the harness when its test
    // failed) and the sleep no harness knew of (killed by the runner's per-file limit).
    for (const f of ['agent.pid', 'sleep.pid']) {
      const pid = Number(readFileSync(join(dir, f), 'utf8'));
      assert.equal(pidAlive(pid), false, `${f} ${pid} still runs`);
    }
  } finally {
    removeDir(dir);
  }
});

test('a file marked `// test-suite: full` runs only with --full (npm run test:full)', async () => {
  const root = `${F}/full`;
  const dir = tempDir('runner-full');
  try {
    const env = { ...process.env, IMOM_TEST_CONCURRENCY: '1', IMOM_TEST_DURATIONS: join(dir, 'durations.json') };
    const without = await run(process.execPath, [join(REPO_ROOT, 'scripts/run-tests.mjs'), '--root', root], { cwd: REPO_ROOT, allowFail: true, env });
    assert.equal(without.code, 2, without.stdout + without.stderr);
    assert.match(without.stderr, /no test files matched/);
    const withFull = await run(process.execPath, [join(REPO_ROOT, 'scripts/run-tests.mjs'), '--root', root, '--full'], { cwd: REPO_ROOT, allowFail: true, env });
    assert.equal(withFull.code, 0, withFull.stdout + withFull.stderr);
    assert.match(withFull.stdout, new RegExp(`^── ${root}/full-only\\.test\\.ts \\([\\d.]+ s\\) ok$`, 'm'));
  } finally {
    removeDir(dir);
  }
});
