/**
 * The runner's scan: a file whose output holds a PEM block or the test PKI's password fails by
 * name, even though its tests pass, and neither reaches the printed log or the kept output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, removeDir, run, tempDir } from '../harness/proc.js';

const F = 'test/runner/leak-fixtures/fixtures';

test('a PEM block or the test password in a file\'s output fails that file; both are kept out of the log and the kept output', async () => {
  const dir = tempDir('runner-leaks');
  try {
    const password = 'imom-test-runner-Xk3v';
    const kept = join(dir, 'output');
    const r = await run(process.execPath, [join(REPO_ROOT, 'scripts/run-tests.mjs'), '--root', 'test/runner/leak-fixtures'], {
      cwd: REPO_ROOT, allowFail: true, timeoutMs: 120_000,
      env: { ...process.env, IMOM_TEST_CONCURRENCY: '1', IMOM_TEST_DURATIONS: join(dir, 'durations.json'), IMOM_TEST_OUTPUT_DIR: kept, IMOM_TEST_PASSWORD: password },
    });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, new RegExp(`^── ${F}/prints-pem\\.test\\.ts \\([\\d.]+ s\\) FAILED: its output holds a PEM block \\(-----BEGIN\\)$`, 'm'));
    assert.match(out, new RegExp(`^── ${F}/prints-password\\.test\\.ts \\([\\d.]+ s\\) FAILED: its output holds the test password$`, 'm'));
    assert.match(out, new RegExp(`^── ${F}/clean\\.test\\.ts \\([\\d.]+ s\\) ok$`, 'm'));
    assert.match(out, new RegExp(`^ {2}${F}/prints-pem\\.test\\.ts \\(output holds a PEM block \\(-----BEGIN\\)\\)$`, 'm'));
    assert.match(out, /^tests: 3 passed, 2 failed, 0 skipped$/m);
    assert.match(out, /\[PEM block\]/);
    assert.match(out, /wrong password \[test password\] for server\.p12/);
    const files = readdirSync(kept).sort();
    assert.deepEqual(files, ['clean', 'prints-password', 'prints-pem'].map((n) => `${F.replaceAll('/', '__')}__${n}.test.ts.log`));
    const texts = [out, ...files.map((f) => readFileSync(join(kept, f), 'utf8'))];
    for (const t of texts) {
      assert.ok(!t.includes('TUlJRXZnSUJBREFOQmdr') && !t.includes('-----BEGIN PRIVATE') && !t.includes(password), 'a leak reached the log or the kept output');
    }
    assert.match(readFileSync(join(kept, files[0]!), 'utf8'), /CN=imom-agent\) expires 2026-12-10T00:00:00Z, in 8 days/);
  } finally {
    removeDir(dir);
  }
});
