/**
 * Config errors never echo a value and always name FILE:LINE (issue 17 item 5). Each case was a
 * real defect: a password that yaml quoted back, a !tag that silently became "", a number
 * reported as "required", the same node twice, a misspelt placeholder taken literally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imom } from '../harness/cli.js';
import { removeDir, tempDir } from '../harness/proc.js';
import { parseConfigText } from '../../agent/src/config/load.js';
import { configSchema } from '../../agent/src/app/config-schema.js';
import { ConfigError } from '../../agent/src/config/errors.js';

const SECRET = 'Xy9-s3cr3t';
const redis = (password: string, extra = '') => `checks:\n  redis:\n    - name: session\n      password: ${password}\n      masters: [127.0.0.1:6379]\n${extra}`;

function problem(text: string): string {
  try {
    parseConfigText(text, 'imom.yaml', configSchema, {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('the config validated');
}

const CASES: Array<[what: string, yaml: string, message: string]> = [
  ['an unquoted *alias as a password', redis(`*${SECRET}`), 'imom.yaml:4:17: invalid YAML: an alias (*name) that refers to no anchor'],
  ['a |block header as a password', redis(`|${SECRET}`), 'imom.yaml:4:18: invalid YAML: unexpected characters (a value that starts with | > * & ! % @ must be quoted)'],
  ['an unknown !tag as a password (it became an empty string)', redis(`!${SECRET}`), 'imom.yaml:4:17: invalid YAML: an unknown !tag (quote a value that starts with !)'],
  ['a number where a string is expected', redis('12345'), 'imom.yaml:4: checks.redis[0].password: expected a string, got a number'],
  ['a list where a string is expected', redis(`[${SECRET}]`), 'imom.yaml:4: checks.redis[0].password: expected a string, got a list'],
  ['a missing key is still "required"', 'checks:\n  mysql:\n    - name: db\n      master: 127.0.0.1:3306\n', 'imom.yaml:3: checks.mysql[0].user: required (expected a string)'],
  ['an anchor that contains itself', `a: &${SECRET} [*${SECRET}]\n`, 'imom.yaml:1:'],
  ['an alias bomb', [...Array(9).keys()].map((i) => (i === 0 ? 'l0: &l0 [x,x,x,x,x,x,x,x,x,x]' : `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(',')}]`)).join('\n'), 'imom.yaml:2:10: invalid YAML: aliases expand past 100 times or into themselves (an alias bomb?)'],
  ['the same node as master and slave', redis('"p"', '      slaves: [127.0.0.1:6380, 127.0.0.1:6379]\n'), 'imom.yaml:6: checks.redis[0].slaves[1]: the same node as checks.redis[0].masters[0] (imom.yaml:5)'],
  ['the same replica twice, host names in any case', 'checks:\n  mysql:\n    - name: db\n      user: u\n      master: 127.0.0.1:3306\n      slaves:\n        - DB2:3307\n        - db2:3307\n', 'imom.yaml:8: checks.mysql[0].slaves[1]: the same node as checks.mysql[0].slaves[0] (imom.yaml:7)'],
  ['an unknown {placeholder} in a file path', 'outputs:\n  file: { path: "/var/log/imom/{chek}.log" }\n', 'imom.yaml:2: outputs.file.path: unknown placeholder {chek} (known: {check}, {instance})'],
];

for (const [what, yaml, message] of CASES) {
  test(`config error: ${what}`, () => {
    const got = problem(yaml);
    if (message.endsWith(':')) assert.ok(got.startsWith(message), got);
    else assert.equal(got, message);
    assert.ok(!got.includes(SECRET), `the error echoes the secret: ${got}`);
  });
}

test('the CLI prints such an error with FILE:LINE, never the value, and exits 2', async () => {
  const dir = tempDir('config-errors');
  try {
    const file = join(dir, 'imom.yaml');
    writeFileSync(file, redis(`*${SECRET}`));
    const r = await imom(['config', 'validate', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `imom: ${file}:4:17: invalid YAML: an alias (*name) that refers to no anchor\n`);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET));
  } finally {
    removeDir(dir);
  }
});
