import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisPair } from '../../../../test/harness/redis.js';
import { testPki, type TestPki } from '../../../../test/harness/pki.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';

let pki: TestPki;
let pair: RedisPair;
let dir: string;
const outputs: string[] = [];

/** The tls: block with the test CA and client certificate; `over` replaces or drops (undefined) keys. */
function tlsBlock(over: Record<string, string | undefined> = {}): string {
  const keys: Record<string, string | undefined> = { ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile, ...over };
  return Object.entries(keys).filter(([, v]) => v !== undefined).map(([k, v]) => `\n        ${k}: ${v}`).join('');
}

async function check(opts: { tls?: string | null; masters?: string[]; slaves?: string[] } = {}) {
  const tls = opts.tls === null ? '' : `\n      tls:${opts.tls ?? tlsBlock()}`;
  const cfg = checkConfig(dir, `
  redis:
    - name: session
      masters: [${(opts.masters ?? [pair.master.address]).join(', ')}]
      slaves: [${(opts.slaves ?? [pair.replica.address]).join(', ')}]${tls}
`, { timeout: '5s' });
  const r = await checkOnce(cfg);
  outputs.push(r.stdout, r.stderr);
  return r;
}

describe('redis check over TLS against real TLS-only nodes (port 0, tls-port, tls-auth-clients yes, tls-replication yes)', () => {
  before(async () => {
    dir = tempDir('redis-tls-check');
    pki = await testPki();
    pair = await RedisPair.start({ tls: pki });
  });
  after(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  test('healthy over TLS: the OK lines, the replica linked over TLS', async () => {
    const r = await check();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([...r.lines].sort(), [`Status=OK, Node=${pair.master.address}, Role=master`, `Status=OK, Node=${pair.replica.address}, Role=slave`].sort());
  });

  test('a role flip over TLS (REPLICAOF NO ONE): CRITICAL', async () => {
    await pair.withReplicaDetached(async () => {
      const r = await check();
      assert.equal(r.code, 1);
      assert.ok(r.lines.includes(`CRITICAL: Node ${pair.replica.address} is expected to be slave but found master`), r.lines.join('\n'));
    });
  });

  test('a failover over TLS (replica promoted, master demoted and linked to it): both roles CRITICAL, then OK with the new roles', async () => {
    const { master, replica } = pair;
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    await master.cli('REPLICAOF', '127.0.0.1', String(replica.port));
    try {
      await waitFor(async () => /master_link_status:up/.test(await master.cli('INFO', 'replication')), 20_000, 'the old master to replicate over TLS');
      const r = await check();
      assert.deepEqual([...r.lines].sort(), [
        `CRITICAL: Node ${master.address} is expected to be master but found slave`,
        `CRITICAL: Node ${replica.address} is expected to be slave but found master`,
      ].sort());
      const swapped = await check({ masters: [replica.address], slaves: [master.address] });
      assert.equal(swapped.code, 0, swapped.lines.join('\n'));
    } finally {
      await master.cli('REPLICAOF', 'NO', 'ONE');
      await replica.cli('REPLICAOF', '127.0.0.1', String(master.port));
      await pair.waitLinked();
    }
  });

  describe('the failure matrix: one line in words each', () => {
    const only = () => ({ masters: [pair.master.address], slaves: [] as string[] });
    const unreachable = (why: string) => [`CRITICAL: Node ${pair.master.address} is unreachable (${why})`];
    /** Runs `body` with the master showing another certificate (CONFIG SET reloads it), then puts the right one back. */
    async function withServerCert(cert: { certFile: string; keyFile: string }, body: () => Promise<void>) {
      await pair.master.cli('CONFIG', 'SET', 'tls-cert-file', cert.certFile, 'tls-key-file', cert.keyFile);
      try {
        await body();
      } finally {
        await pair.master.cli('CONFIG', 'SET', 'tls-cert-file', pki.server.certFile, 'tls-key-file', pki.server.keyFile);
      }
    }

    test('unknown CA', async () => {
      const r = await check({ ...only(), tls: tlsBlock({ ca_file: pki.otherCaFile }) });
      assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server certificate is not trusted: signed by an unknown CA'));
    });

    test('host name mismatch', async () => {
      await withServerCert(pki.wrongHost, async () => {
        const r = await check(only());
        assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server certificate is not trusted: host name mismatch (127.0.0.1 is not among its names: DNS:wrong.example)'));
      });
    });

    test('expired server certificate', async () => {
      await withServerCert(pki.expiredServer, async () => {
        const r = await check(only());
        assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server certificate is not trusted: expired'));
      });
    });

    test('client certificate required but not given', async () => {
      const r = await check({ ...only(), tls: tlsBlock({ cert_file: undefined, key_file: undefined }) });
      assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server requires a client certificate (cert_file and key_file are not set)'));
    });

    test('client certificate refused (another CA)', async () => {
      const r = await check({ ...only(), tls: tlsBlock({ cert_file: pki.otherClient.certFile, key_file: pki.otherClient.keyFile }) });
      assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server refused the client certificate: signed by a CA it does not trust'));
    });

    test('protocol version below the server minimum (tls-protocols TLSv1.3, max_version TLS12)', async () => {
      await pair.master.cli('CONFIG', 'SET', 'tls-protocols', 'TLSv1.3');
      try {
        const r = await check({ ...only(), tls: tlsBlock({ max_version: 'TLS12' }) });
        assert.deepEqual(r.lines, unreachable('TLS handshake failed: the server refused the protocol version (none of the TLS versions we offer is allowed there)'));
      } finally {
        await pair.master.cli('CONFIG', 'SET', 'tls-protocols', 'TLSv1.2 TLSv1.3');
      }
    });

    // The node drops a connection that does not start a TLS handshake, without a word: no TLS error to describe.
    test('plaintext to the TLS port (no tls block)', async () => {
      const r = await check({ ...only(), tls: null });
      assert.deepEqual(r.lines, unreachable('Connection is closed.'));
    });

    test('our client certificate expires within expiry_warning: one ERROR line after the OK one', async () => {
      const r = await check({ ...only(), tls: tlsBlock({ cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile }) });
      assert.equal(r.lines[0], `Status=OK, Node=${pair.master.address}, Role=master`);
      assert.match(r.lines[1] ?? '', new RegExp(`^ERROR: TLS certificate ${pki.soonExpiringClient.certFile} \\(CN=imom-agent\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d days?$`));
      assert.equal(r.lines.length, 2);
    });
  });

  test('a key file readable by others: one ERROR line after the node lines, the connection still made', async () => {
    const key = join(dir, 'client-0644.key');
    copyFileSync(pki.client.keyFile, key);
    chmodSync(key, 0o644);
    const r = await check({ masters: [pair.master.address], slaves: [], tls: tlsBlock({ key_file: key }) });
    assert.deepEqual(r.lines, [
      `Status=OK, Node=${pair.master.address}, Role=master`,
      `ERROR: TLS key file ${key} is readable by others (mode 0644); chmod o-r it`,
    ]);
  });

  test('no certificate body, key or test password in any output', () => {
    assert.ok(outputs.length > 0);
    for (const o of outputs) {
      assert.ok(!o.includes('-----BEGIN'), 'a PEM body leaked');
      assert.ok(!o.includes(pki.password), 'the test password leaked');
    }
  });
});
