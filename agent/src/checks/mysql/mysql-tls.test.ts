/**
 * The mysql check over TLS against a real MariaDB pair that refuses plaintext
 * (require_secure_transport=ON, its own certificate from the harness's CA; `monitor` REQUIRE SSL,
 * `monitor_x509` REQUIRE X509), and each TLS failure as the one line an operator sees. The
 * primary speaks only TLS 1.3 and the replica at most TLS 1.2, for the protocol-version cases
 * (replication between them is TLS 1.3, unverified). One pair for the whole file;
 * the server certificate is swapped with FLUSH SSL, not a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplicationPair, MONITOR_PASSWORD, MONITOR_USER, MONITOR_X509_USER } from '../../../../test/harness/mariadb.js';
import { testPki, type TestPki } from '../../../../test/harness/pki.js';
import { removeDir, tempDir } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce, imom } from '../../../../test/harness/cli.js';

let pair: ReplicationPair;
let pki: TestPki;
let dir: string;

async function check(tls: string | undefined, user = MONITOR_USER) {
  const cfg = checkConfig(dir, `
  mysql:
    - name: order-db
      user: ${user}
      password: \${IMOM_MYSQL_PASSWORD}
      master: ${pair.primary.address}
      slaves: [${pair.replica.address}]
${tls === undefined ? '' : `      tls:\n${tls.trim().split('\n').map((l) => `        ${l.trim()}`).join('\n')}\n`}`);
  const r = await checkOnce(cfg, { env: { IMOM_MYSQL_PASSWORD: MONITOR_PASSWORD } });
  // No password, key or certificate body in anything the run wrote.
  for (const out of [r.stdout, r.stderr, readFileSync(`${dir}/check.log`, 'utf8')]) {
    for (const secret of ['-----BEGIN', MONITOR_PASSWORD, pki.password]) assert.ok(!out.includes(secret), `${secret} leaked:\n${out}`);
  }
  const rank = (l: string) => (/^Status=\w+, Master=/.test(l) ? 0 : 1);
  return { ...r, lines: [...r.lines].sort((a, b) => rank(a) - rank(b)) };
}

const ok = () => [
  new RegExp(`^Status=OK, Master=${pair.primary.address}, Master_Log_File=mysql-bin\\.\\d+, Master_Log_Position=\\d+$`),
  new RegExp(`^Status=OK, Slave=${pair.replica.address}, Master_Log_File=mysql-bin\\.\\d+, .*, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes$`),
];
/** The replica's OK line while the check cannot read the primary: the primary's fields are NULL. */
const replicaOkWithoutPrimary = () =>
  new RegExp(`^Status=OK, Slave=${pair.replica.address}, Master_Log_File=NULL, Master_Log_Position=NULL, Slave_Master_Log_File=mysql-bin\\.\\d+, .*, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes$`);

function assertOk(r: Awaited<ReturnType<typeof check>>) {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.lines.length, 2, r.stdout);
  ok().forEach((re, i) => assert.match(r.lines[i]!, re));
}

describe('mysql check over TLS against a real MariaDB pair with require_secure_transport=ON', () => {
  before(async () => {
    dir = tempDir('mysql-tls');
    pki = await testPki();
    pair = await ReplicationPair.start({ tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile }, tlsVersions: { primary: 'TLSv1.3', replica: 'TLSv1.2' } });
  });
  after(async () => {
    await pair?.stop();
    if (dir) removeDir(dir);
  });

  test('verify_identity (the default with a tls block): the OK lines, over TLS', async () => {
    assertOk(await check(`ca_file: ${pki.caFile}`));
  });

  test('REQUIRE X509: OK with our client certificate; without one, the server refuses and the line says none was given', async () => {
    assertOk(await check(`ca_file: ${pki.caFile}\ncert_file: ${pki.client.certFile}\nkey_file: ${pki.client.keyFile}`, MONITOR_X509_USER));
    const r = await check(`ca_file: ${pki.caFile}`, MONITOR_X509_USER);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [pair.primary, pair.replica].map((s, i) =>
      `Status=ERROR, ${i ? 'Slave' : 'Master'}=${s.address}, Error=Access denied for user '${MONITOR_X509_USER}'@'127.0.0.1' (using password: YES), and no client certificate was given (an account REQUIRE X509 needs one: cert_file, key_file)`));
  });

  test('mode preferred over TLS: OK, unverified (the other CA\'s file is not used to check)', async () => {
    assertOk(await check(`ca_file: ${pki.otherCaFile}\nmode: preferred`));
  });

  test('a bad tls block is a config error naming file, line and path (exit 2), never a failure at the first connection', async () => {
    const cfg = checkConfig(dir, `
  mysql:
    - name: order-db
      user: ${MONITOR_USER}
      master: ${pair.primary.address}
      tls:
        mode: verify_full
        ca_file: ${pki.client.keyFile}
`);
    const r = await imom(['config', 'validate', cfg]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${cfg}:\\d+: checks\\.mysql\\[0\\]\\.tls\\.mode: `));
    assert.match(r.stderr, new RegExp(`${cfg}:\\d+: checks\\.mysql\\[0\\]\\.tls\\.ca_file: ca_file ${pki.client.keyFile} holds no PEM certificate`));
    assert.ok(!r.stderr.includes('-----BEGIN'), r.stderr);
  });

  test('plaintext (no tls block, or mode disabled): the server\'s refusal, and that it went without TLS', async () => {
    for (const tls of [undefined, 'mode: disabled']) {
      const r = await check(tls);
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [pair.primary, pair.replica].map((s, i) =>
        `Status=ERROR, ${i ? 'Slave' : 'Master'}=${s.address}, Error=Access denied for user '${MONITOR_USER}'@'127.0.0.1' (using password: YES), over plaintext to a server that offers TLS (one with require_secure_transport=ON, or an account REQUIRE SSL, refuses that): configure tls`));
    }
  });

  test('a CA that did not sign the server\'s certificate: one ERROR line per server naming it; mode required does not verify', async () => {
    const r = await check(`ca_file: ${pki.otherCaFile}`);
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 2);
    assert.deepEqual(r.lines, [`Master=${pair.primary.address}`, `Slave=${pair.replica.address}`].map((s) =>
      `Status=ERROR, ${s}, Error=TLS handshake failed: the server certificate is not trusted: signed by an unknown CA`));
    assertOk(await check(`ca_file: ${pki.otherCaFile}\nmode: required`));
  });

  test('a server certificate for another host name: ERROR naming the mismatch; verify_ca checks the CA only', async () => {
    await pair.primary.useCertificate(pki.wrongHost);
    try {
      const r = await check(`ca_file: ${pki.caFile}`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.lines[0], `Status=ERROR, Master=${pair.primary.address}, Error=TLS handshake failed: the server certificate is not trusted: host name mismatch (127.0.0.1 is not among its names: DNS:wrong.example)`);
      assert.match(r.lines[1]!, replicaOkWithoutPrimary());
      assertOk(await check(`ca_file: ${pki.caFile}\nmode: verify_ca`));
    } finally {
      await pair.primary.useCertificate(pki.server);
    }
  });

  test('an expired server certificate: ERROR naming it', async () => {
    await pair.primary.useCertificate(pki.expiredServer);
    try {
      const r = await check(`ca_file: ${pki.caFile}`);
      assert.equal(r.code, 1);
      assert.equal(r.lines[0], `Status=ERROR, Master=${pair.primary.address}, Error=TLS handshake failed: the server certificate is not trusted: expired`);
      assert.match(r.lines[1]!, replicaOkWithoutPrimary());
    } finally {
      await pair.primary.useCertificate(pki.server);
    }
  });

  test('a client certificate from another CA: the server refuses it', async () => {
    const r = await check(`ca_file: ${pki.caFile}\ncert_file: ${pki.otherClient.certFile}\nkey_file: ${pki.otherClient.keyFile}`, MONITOR_X509_USER);
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 2);
    assert.deepEqual(r.lines, [`Master=${pair.primary.address}`, `Slave=${pair.replica.address}`].map((s) =>
      `Status=ERROR, ${s}, Error=TLS handshake failed: the server refused the client certificate: signed by a CA it does not trust`));
  });

  test('protocol versions: max_version TLS12 below the primary\'s TLS 1.3, min_version TLS13 above the replica\'s TLS 1.2', async () => {
    const below = await check(`ca_file: ${pki.caFile}\nmax_version: TLS12`);
    assert.equal(below.code, 1);
    assert.equal(below.lines[0], `Status=ERROR, Master=${pair.primary.address}, Error=TLS handshake failed: the server refused the protocol version (none of the TLS versions we offer is allowed there)`);
    assert.match(below.lines[1]!, replicaOkWithoutPrimary());
    const above = await check(`ca_file: ${pki.caFile}\nmin_version: TLS13`);
    assert.equal(above.code, 1);
    assert.match(above.lines[0]!, ok()[0]!);
    // The server answers a TLS 1.3-only hello with the protocol_version alert: the same words.
    assert.equal(above.lines[1], `Status=ERROR, Slave=${pair.replica.address}, Error=TLS handshake failed: the server refused the protocol version (none of the TLS versions we offer is allowed there)`);
  });

  test('a client key file readable by others: each server\'s line is ERROR and the warning line follows', async () => {
    const key = join(dir, 'client-key.pem');
    copyFileSync(pki.client.keyFile, key);
    chmodSync(key, 0o644);
    const r = await check(`ca_file: ${pki.caFile}\ncert_file: ${pki.client.certFile}\nkey_file: ${key}`, MONITOR_X509_USER);
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 4, r.stdout);
    assert.match(r.lines[0]!, new RegExp(`^Status=ERROR, Master=${pair.primary.address}, Master_Log_File=`));
    assert.equal(r.lines[1], `Status=ERROR, Master=${pair.primary.address}, Error=TLS key file ${key} is readable by others (mode 0644); chmod o-r it`);
    assert.equal(r.lines[3], `Status=ERROR, Slave=${pair.replica.address}, Error=TLS key file ${key} is readable by others (mode 0644); chmod o-r it`);
  });

  test('certificates expiring within expiry_warning (ours and the server\'s): each server\'s line is ERROR and one line per certificate follows', async () => {
    const r = await check(`ca_file: ${pki.caFile}\ncert_file: ${pki.soonExpiringClient.certFile}\nkey_file: ${pki.soonExpiringClient.keyFile}\nexpiry_warning: 3650d`, MONITOR_X509_USER);
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 6, r.stdout);
    for (const [i, server] of [[0, `Master=${pair.primary.address}`], [3, `Slave=${pair.replica.address}`]] as const) {
      assert.match(r.lines[i]!, new RegExp(`^Status=ERROR, ${server}, Master_Log_File=`));
      assert.match(r.lines[i + 1]!, new RegExp(`^Status=ERROR, ${server}, Error=TLS certificate ${pki.soonExpiringClient.certFile} \\(.*CN=imom-agent.*\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ days?$`));
      assert.match(r.lines[i + 2]!, new RegExp(`^Status=ERROR, ${server}, Error=TLS certificate of server ${server.split('=')[1]} \\(CN=localhost\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ days?$`));
    }
  });
});
