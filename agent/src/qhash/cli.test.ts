import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imom } from '../../../test/harness/cli.js';
import { removeDir, tempDir } from '../../../test/harness/proc.js';
import { fingerprintSql } from './fingerprint.js';

test('imom qhash fingerprint prints <qhash>\\t<fingerprint>', async () => {
  const r = await imom(['qhash', 'fingerprint'], { input: "select * from t where id in (1, 2) and name = 'x'\n" });
  assert.equal(r.code, 0);
  const fp = fingerprintSql('SELECT * FROM t WHERE id IN (?) AND name = ?');
  assert.equal(r.stdout, `${fp.qhash}\t${fp.fingerprint}\n`);
});

test('--config is validated: unknown keys and bad patterns name file:line and exit 2', async () => {
  const dir = tempDir('qhash-cli');
  try {
    const cfg = join(dir, 'qhash.yaml');
    writeFileSync(cfg, 'example: false\np6spy_formats:\n  - "%(currentTime)|%(elapsedTime)|%(sql)"\nmax_shape: 10\n');
    const r = await imom(['qhash', 'split', '-', '--console', join(dir, 'c'), '--query', join(dir, 'q'), '--config', cfg], { input: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${cfg}:3: p6spy_formats\\[0\\]: unknown placeholder %\\(elapsedTime\\)`));
    assert.match(r.stderr, new RegExp(`${cfg}:4: max_shape: unknown key "max_shape"`));
    const ok = join(dir, 'ok.yaml');
    writeFileSync(ok, 'p6spy_formats:\n  - "%(currentTime)|%(executionTime)|%(category)|%(sqlSingleLine)"\nexample: true\n');
    const r2 = await imom(['qhash', 'split', '-', '--console', '-', '--query', join(dir, 'q'), '--config', ok], { input: '1685671200123|4|statement|select 1 from dual where x = 5\n' });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /^1685671200123\|4\|statement\|"QHash":"[0-9a-f]{32}"\n$/);
    const bad = await imom(['qhash', 'split', '-', '--console', '-', '--query', join(dir, 'q'), '--format', 'no placeholders'], { input: '' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format "no placeholders": pattern has no SQL placeholder/);
  } finally {
    removeDir(dir);
  }
});
