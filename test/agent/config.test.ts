import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imom } from '../harness/cli.js';
import { removeDir, tempDir } from '../harness/proc.js';
import { parseConfigText } from '../../agent/src/config/load.js';
import { configSchema } from '../../agent/src/app/config-schema.js';
import { ConfigError } from '../../agent/src/config/errors.js';

const GOOD = `
env: prod
host: auto
interval: 60s
timeout: 10s
outputs:
  file: { path: /var/log/imom/check.log }
  syslog: { enabled: true }
checks:
  mysql:
    - name: order-db
      user: monitor
      password: \${IMOM_MYSQL_PASSWORD}
      master: 10.100.21.230:3306
      slaves: [10.100.21.232:3306, 10.100.21.233:3306]
      max_seconds_behind_master: 30
  redis:
    - name: session
      password: \${IMOM_REDIS_PASSWORD:-}
      masters: [192.168.21.141:6381]
      slaves: [192.168.21.152:6381]
`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(yaml, 'imom.yaml', configSchema, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return [...e.problems];
  }
  return [];
}

test('the issue example parses; ${VAR} comes from the environment; durations become ms', () => {
  const cfg = parseConfigText(GOOD, 'imom.yaml', configSchema, { IMOM_MYSQL_PASSWORD: 'pw' });
  assert.equal(cfg.interval, 60_000);
  assert.equal(cfg.timeout, 10_000);
  const mysql = (cfg.checks as { mysql: { password: string; slaves: { port: number }[] }[] }).mysql[0]!;
  assert.equal(mysql.password, 'pw');
  assert.equal(mysql.slaves[1]!.port, 3306);
});

test('errors name the file, the line and the path, and never echo a value', () => {
  const bad = GOOD.replace('10.100.21.233:3306', '10.100.21.233').replace('timeout: 10s', 'timeout: 10x').replace('max_seconds_behind_master: 30', 'max_seconds_behind_master: 30\n      passwd: hunter2');
  assert.deepEqual(problems(bad, { IMOM_MYSQL_PASSWORD: 'pw' }), [
    'imom.yaml:5: timeout: expected a duration like 10s, 1m or 500ms',
    'imom.yaml:15: checks.mysql[0].slaves[1]: expected host:port',
    'imom.yaml:17: checks.mysql[0].passwd: unknown key "passwd"',
  ]);
  assert.deepEqual(problems(GOOD), ['imom.yaml:13: checks.mysql[0].password: environment variable IMOM_MYSQL_PASSWORD is not set']);
  assert.match(problems('a: [1,\n')[0]!, /^imom\.yaml:\d+:\d+: invalid YAML/);
  assert.deepEqual(problems('checks:\n  mysql:\n    - name: a\n      user: u\n      master: h:1\n    - name: a\n      user: u\n      master: h:2\n'), ['imom.yaml:6: checks.mysql[1].name: duplicate instance name "a"']);
});

test('imom config validate exits 2 with the path; schema prints a JSON Schema; usage errors exit 2', async () => {
  const dir = tempDir('config');
  try {
    const f = join(dir, 'imom.yaml');
    writeFileSync(f, GOOD.replace('10.100.21.233:3306', 'not-an-address'));
    const bad = await imom(['config', 'validate', f], { env: { IMOM_MYSQL_PASSWORD: 'Sup3r-secret' } });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), `imom: ${f}:15: checks.mysql[0].slaves[1]: expected host:port`);
    writeFileSync(f, GOOD);
    const ok = await imom(['config', 'validate', f], { env: { IMOM_MYSQL_PASSWORD: 'Sup3r-secret' } });
    assert.equal(ok.code, 0, ok.stderr);
    const schema = await imom(['config', 'schema']);
    assert.equal(schema.code, 0);
    const js = JSON.parse(schema.stdout) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    assert.ok(js.properties.checks?.properties?.mysql && js.properties.checks.properties.redis && js.properties.outputs);
    assert.equal((await imom(['check'])).code, 2, 'missing --config is a usage error');
    assert.equal((await imom(['check', '--config', join(dir, 'missing.yaml')])).code, 2);
    assert.equal((await imom(['check', '--config', f, '--only', 'nosuch'], { env: { IMOM_MYSQL_PASSWORD: 'x' } })).code, 2);
    assert.equal((await imom(['--help'])).code, 0);
  } finally {
    removeDir(dir);
  }
});
