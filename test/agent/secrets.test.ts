/**
 * Secrets from files (issue 11 item 8): `<key>_file:` in place of every secret key,
 * `${file:/path}` and `${credential:NAME}` inside strings. A problem names the config's
 * FILE:LINE and the secret file, never its content; one trailing newline is dropped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/src/config/load.js';
import { configSchema, type AgentConfig } from '../../agent/src/app/config-schema.js';
import { ConfigError } from '../../agent/src/config/errors.js';
import { RedisPair } from '../harness/redis.js';
import { checkOnce, writeConfig } from '../harness/cli.js';
import { removeDir, tempDir } from '../harness/proc.js';

const SECRET = 'Xy9-s3cr3t pw';
let dir: string;
let secretFile: string;

function parse(yaml: string, env: NodeJS.ProcessEnv = {}): AgentConfig {
  return parseConfigText(yaml, 'imom.yaml', configSchema, env);
}

function problem(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parse(yaml, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(!e.message.includes(SECRET), `the error echoes the secret: ${e.message}`);
    return e.message;
  }
  assert.fail('the config validated');
}

const mysql = (auth: string) => `checks:\n  mysql:\n    - name: db\n      user: monitor\n      ${auth}\n      master: 127.0.0.1:3306\n`;

describe('secrets from files', () => {
  before(() => {
    dir = tempDir('secrets');
    secretFile = join(dir, 'secret');
    // What `echo "$PW" > file` leaves: the newline goes, the trailing space stays.
    writeFileSync(secretFile, `${SECRET}\n`);
  });
  after(() => removeDir(dir));

  test('every secret key of the agent takes <key>_file: each check, and the Loki output', () => {
    const c = parse(`
checks:
  mysql:
    - { name: db, user: u, password_file: ${secretFile}, master: 127.0.0.1:3306 }
  redis:
    - { name: session, password_file: ${secretFile}, masters: [127.0.0.1:6379] }
  redis_cluster:
    - { name: cache, password_file: ${secretFile}, nodes: [127.0.0.1:7000] }
  solr:
    - { name: search, url: http://127.0.0.1:8983/solr, username: u, password_file: ${secretFile} }
  kafka:
    - { name: bus, brokers: [127.0.0.1:9092], topics: [t], sasl: { mechanism: plain, username: u, password_file: ${secretFile} } }
outputs:
  loki: { url: http://127.0.0.1:3100, basic_auth: { username: u, password_file: ${secretFile} } }
`);
    assert.equal(c.checks.mysql?.[0]?.password, SECRET);
    assert.equal(c.checks.redis?.[0]?.password, SECRET);
    assert.equal(c.checks.redis_cluster?.[0]?.password, SECRET);
    assert.equal(c.checks.solr?.[0]?.password, SECRET);
    assert.equal(c.checks.kafka?.[0]?.sasl?.password, SECRET);
    assert.equal(c.outputs.loki?.basic_auth?.password, SECRET);
    const bearer = parse(`outputs:\n  loki: { url: http://127.0.0.1:3100, bearer_token_file: ${secretFile} }\n`);
    assert.equal(bearer.outputs.loki?.bearer_token, SECRET);
  });

  test('${file:/path} and ${credential:NAME} inside a string; only one trailing newline (or CRLF) goes', () => {
    const creds = join(dir, 'credentials');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'mysql.pw'), `${SECRET}\r\n`);
    writeFileSync(join(dir, 'two-newlines'), `${SECRET}\n\n`);
    assert.equal(parse(mysql(`password: "\${file:${secretFile}}"`)).checks.mysql?.[0]?.password, SECRET);
    assert.equal(parse(mysql('password: "pre-${credential:mysql.pw}"'), { CREDENTIALS_DIRECTORY: creds }).checks.mysql?.[0]?.password, `pre-${SECRET}`);
    assert.equal(parse(mysql(`password_file: ${join(dir, 'two-newlines')}`)).checks.mysql?.[0]?.password, `${SECRET}\n`);
    // ${VAR:-default} is still the environment's, even for a variable named file.
    assert.equal(parse(mysql('password: "${file:-fallback}"')).checks.mysql?.[0]?.password, 'fallback');
  });

  const CASES: Array<[what: string, yaml: () => string, message: () => string, env?: NodeJS.ProcessEnv]> = [
    ['a missing password_file', () => mysql(`password_file: ${dir}/none`), () => `imom.yaml:5: checks.mysql[0].password_file: cannot read secret file ${dir}/none: ENOENT`],
    ['a folder as password_file', () => mysql(`password_file: ${dir}`), () => `imom.yaml:5: checks.mysql[0].password_file: cannot read secret file ${dir}: EISDIR`],
    ['an empty secret file', () => (writeFileSync(join(dir, 'empty'), '\n'), mysql(`password_file: ${dir}/empty`)), () => `imom.yaml:5: checks.mysql[0].password_file: secret file ${dir}/empty is empty`],
    ['a relative path', () => mysql('password_file: secret'), () => 'imom.yaml:5: checks.mysql[0].password_file: secret file secret is not an absolute path'],
    ['password and password_file both', () => mysql(`password: x\n      password_file: ${secretFile}`), () => 'imom.yaml:6: checks.mysql[0].password_file: set either password or password_file, not both'],
    ['a missing ${file:}', () => mysql(`password: "\${file:${dir}/none}"`), () => `imom.yaml:5: checks.mysql[0].password: cannot read secret file ${dir}/none: ENOENT`],
    ['${credential:} outside systemd', () => mysql('password: "${credential:mysql}"'), () => 'imom.yaml:5: checks.mysql[0].password: ${credential:mysql} needs $CREDENTIALS_DIRECTORY (set by systemd for a unit with LoadCredential=)'],
    ['${credential:} with a path in its name', () => mysql('password: "${credential:../secret}"'), () => 'imom.yaml:5: checks.mysql[0].password: ${credential:../secret}: not a credential name', { CREDENTIALS_DIRECTORY: '/' }],
    ['a missing credential', () => mysql('password: "${credential:mysql}"'), () => `imom.yaml:5: checks.mysql[0].password: cannot read secret file ${dir}/mysql: ENOENT`, {}],
    ['_file beside a key that is not a secret', () => mysql(`user_file: ${secretFile}`), () => 'imom.yaml:5: checks.mysql[0].user_file: unknown key "user_file"'],
  ];
  for (const [what, yaml, message, env] of CASES) {
    test(`config error: ${what}`, () => {
      assert.equal(problem(yaml(), env && Object.keys(env).length === 0 ? { CREDENTIALS_DIRECTORY: dir } : env), message());
    });
  }
});

describe('secrets from files reach a real password-protected Redis', () => {
  const PASSWORD = 'redis-pw-from-file';
  let pair: RedisPair;
  let work: string;
  before(async () => {
    work = tempDir('secrets-redis');
    pair = await RedisPair.start({ password: PASSWORD });
  });
  after(async () => {
    await pair?.stop();
    removeDir(work);
  });

  const config = (auth: string) =>
    writeConfig(work, `
host: secrets-test
timeout: 5s
state_dir: ${work}/state
outputs:
  file: { path: ${work}/check.log }
checks:
  redis:
    - name: session
      ${auth}
      masters: [${pair.master.address}]
      slaves: [${pair.replica.address}]
`);

  test('password_file, ${file:} and ${credential:} (LoadCredential= under $CREDENTIALS_DIRECTORY) each log in; a wrong file does not', async () => {
    const creds = join(work, 'credentials');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'redis'), `${PASSWORD}\n`);
    writeFileSync(join(work, 'redis.pw'), `${PASSWORD}\n`);
    writeFileSync(join(work, 'wrong.pw'), 'not-the-password\n');
    for (const auth of [`password_file: ${work}/redis.pw`, `password: "\${file:${work}/redis.pw}"`, 'password: "${credential:redis}"']) {
      const r = await checkOnce(config(auth), { env: { CREDENTIALS_DIRECTORY: creds } });
      assert.equal(r.code, 0, `${auth}: ${r.stdout}${r.stderr}`);
      assert.equal(r.lines.length, 2, r.stdout);
      assert.ok(r.lines.every((l) => l.startsWith('Status=OK,')), r.stdout);
    }
    const wrong = await checkOnce(config(`password_file: ${work}/wrong.pw`));
    assert.notEqual(wrong.code, 0);
    assert.ok(wrong.lines.some((l) => /^(ERROR|CRITICAL)/.test(l)), wrong.stdout);
    assert.ok(!(wrong.stdout + wrong.stderr).includes('not-the-password'));
  });

  test('the CLI names the config line and the missing file, and exits 2', async () => {
    const file = config(`password_file: ${work}/missing.pw`);
    const r = await checkOnce(file);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `imom: ${file}:10: checks.redis[0].password_file: cannot read secret file ${work}/missing.pw: ENOENT\n`);
  });
});
