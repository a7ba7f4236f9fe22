/**
 * The Kafka check through SASL and TLS, against a real broker: one node of Kafka 3.9 and of
 * 4.x in turn (test/harness/kafka.ts startSecureKafka: combined broker+controller with a
 * PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL and a client-certificate (MTLS) listener, and SSL
 * listeners showing a wrong-host and an expired certificate and one allowing only TLS 1.3;
 * certificates from test/harness/pki.ts).
 * Everything goes through the `imom` CLI, with passwords from the environment (${VAR} in the
 * config).
 *
 * Fixture (kafkajs, over the PLAINTEXT listener): topic web, 2 partitions, 5 messages in each;
 * group reader committed p0=5 and p1=2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_VERSIONS, kafkaCycle, startSecureKafka, type SecureKafka } from '../../../../test/harness/kafka.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce, linesOf, spawnImom, stripStamp } from '../../../../test/harness/cli.js';
import { kafkaSchema } from './schema.js';

const PASSWORD_ENV = 'IMOM_KAFKA_PASSWORD';

/** One check cycle without the CLI, as the scheduler runs it, formatted. */
function cycle(extra: Record<string, unknown>, timeoutMs = 10_000): Promise<string[]> {
  return kafkaCycle(kafkaSchema.parse({ name: 'secure', topics: ['web'], consumer_groups: ['reader'], ...extra }), timeoutMs);
}

const HEALTHY = [
  'Status=OK, Topic=web, Offline_Partitions=0, Partitions_without_Leader=0, Lag_Exceeded_Brokers=0, Threshold=10000, Consumer_Group=reader',
  'Status=OK, Topic=web, Consumer_Group=reader, Total_Lag=3, p0=0, p1=3',
  'Status=OK, Topic=web, Consumer_Group=reader, Group_State=Empty, Members=0, Group_Protocol=classic',
  'Status=OK, Topic=web, Partitions=2, Under_Replicated_Partitions=0',
  'Status=OK, Topic=web, Leader_Skew=0, Tolerance=1, Leaders_1=2',
];

for (const version of KAFKA_VERSIONS) {
  describe(`kafka check with SASL and TLS against a real broker, Kafka ${version}`, () => {
    let k: SecureKafka;
    let dir: string;
    let caFile: string;
    let otherCaFile: string;
    let clientTls: string;
    let n = 0;

    /**
     * One `imom check --once` with a kafka target on `broker`; `sasl` and `tls` are YAML flow
     * maps (the SASL password is always `${IMOM_KAFKA_PASSWORD}`, set from `password`).
     */
    const check = async (broker: string, o: { sasl?: string; tls?: string; password?: string }) => {
      const cliDir = join(dir, `run-${++n}`);
      mkdirSync(cliDir);
      const cfg = checkConfig(cliDir, `
  kafka:
    - name: secure
      brokers: [${broker}]
      topics: [web]
      consumer_groups: [reader]${o.sasl ? `\n      sasl: { ${o.sasl}, password: "\${${PASSWORD_ENV}}" }` : ''}${o.tls ? `\n      tls: { ${o.tls} }` : ''}
`, { timeout: '10s' });
      const r = await checkOnce(cfg, { env: { [PASSWORD_ENV]: o.password ?? '' } });
      return { ...r, log: readFileSync(join(cliDir, 'check.log'), 'utf8') };
    };

    before(async () => {
      dir = tempDir(`kafka-security-${version}`);
      k = await startSecureKafka(version);
      caFile = k.pki.caFile;
      otherCaFile = k.pki.otherCaFile;
      clientTls = `ca_file: ${caFile}, cert_file: ${k.pki.client.certFile}, key_file: ${k.pki.client.keyFile}`;
      const kafka = new Kafka({ clientId: 'fixture', brokers: [k.listeners.plaintext], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'web', numPartitions: 2, replicationFactor: 1 }] });
        const p = kafka.producer();
        await p.connect();
        await p.send({ topic: 'web', acks: -1, messages: [0, 1].flatMap((partition) => Array.from({ length: 5 }, (_, i) => ({ partition, value: `m${i}` }))) });
        await p.disconnect();
        // A new group's coordinator may still be loading: set, then read back until both offsets stick.
        const want = [{ partition: 0, offset: '5' }, { partition: 1, offset: '2' }];
        await waitFor(async () => {
          await admin.setOffsets({ groupId: 'reader', topic: 'web', partitions: want });
          const [got] = await admin.fetchOffsets({ groupId: 'reader', topics: ['web'] });
          const offsets = (got?.partitions ?? []).map((x) => `${x.partition}:${x.offset}`).sort().join(',');
          return offsets === '0:5,1:2';
        }, 30_000, 'the group offsets to be committed', 250);
      } finally {
        await admin.disconnect();
      }
    });

    after(async () => {
      await k?.stop();
      if (dir) removeDir(dir);
    });

    test('healthy through SASL/PLAIN, SCRAM-SHA-256, TLS, and SCRAM-SHA-512 over TLS: the same OK lines, exit 0', async () => {
      const { plain, scram } = k.users;
      const cases = [
        { what: 'SASL_PLAINTEXT, PLAIN', broker: k.listeners.saslPlaintext, sasl: `mechanism: plain, username: ${plain.username}`, password: plain.password },
        { what: 'SASL_PLAINTEXT, SCRAM-SHA-256', broker: k.listeners.saslPlaintext, sasl: `mechanism: scram-sha-256, username: ${scram.username}`, password: scram.password },
        { what: 'SSL', broker: k.listeners.ssl, tls: `ca_file: ${caFile}` },
        // `ca:`, the key before the one tls schema, still works.
        { what: 'SASL_SSL, SCRAM-SHA-512, old key ca', broker: k.listeners.saslSsl, sasl: `mechanism: scram-sha-512, username: ${scram.username}`, password: scram.password, tls: `ca: ${caFile}` },
      ];
      for (const c of cases) {
        const r = await check(c.broker, c);
        assert.equal(r.code, 0, `${c.what}: ${r.stderr}${r.stdout}`);
        assert.deepEqual(r.lines, HEALTHY, c.what);
        for (const out of [r.stdout, r.stderr, r.log]) assert.ok(!out.includes(plain.password) && !out.includes(scram.password), `${c.what}: a password leaked`);
      }
    });

    test('a wrong SASL password: one CRITICAL line naming the broker and the broker\'s reason; no password anywhere', async () => {
      const WRONG = `wr0ng-${k.users.plain.password}`;
      const plain = await check(k.listeners.saslPlaintext, { sasl: `mechanism: plain, username: ${k.users.plain.username}`, password: WRONG });
      assert.equal(plain.code, 1, plain.stderr + plain.stdout);
      assert.deepEqual(plain.lines, [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.saslPlaintext} (SASL authentication failed: Authentication failed: Invalid username or password)`,
      ]);
      const scram = await check(k.listeners.saslSsl, { sasl: `mechanism: scram-sha-256, username: ${k.users.scram.username}`, password: WRONG, tls: `ca: ${caFile}` });
      assert.equal(scram.code, 1, scram.stderr + scram.stdout);
      assert.deepEqual(scram.lines, [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.saslSsl} (SASL authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256)`,
      ]);
      for (const out of [plain.stdout, plain.stderr, plain.log, scram.stdout, scram.stderr, scram.log]) {
        assert.ok(!out.includes(WRONG) && !out.includes(k.users.plain.password) && !out.includes(k.users.scram.password), 'a password leaked');
      }
    });

    test('TLS failures, one CRITICAL line each: unknown CA, host name mismatch, expired, protocol version below the broker\'s minimum', async () => {
      const unreachable = (broker: string, reason: string) => [`CRITICAL: Kafka cluster unreachable, brokers tried: ${broker} (TLS handshake failed: ${reason})`];
      const r = await check(k.listeners.ssl, { tls: `ca_file: ${otherCaFile}` });
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.deepEqual(r.lines, unreachable(k.listeners.ssl, 'the broker certificate is not trusted: signed by an unknown CA'));
      // No ca_file: Node's bundled CAs do not know the test CA either.
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl], tls: {} }), unreachable(k.listeners.ssl, 'the broker certificate is not trusted: signed by an unknown CA'));
      assert.deepEqual(await cycle({ brokers: [k.listeners.wrongHost], tls: { ca_file: caFile } }),
        unreachable(k.listeners.wrongHost, 'the broker certificate is not trusted: host name mismatch (127.0.0.1 is not among its names: DNS:wrong.example)'));
      assert.deepEqual(await cycle({ brokers: [k.listeners.expired], tls: { ca_file: caFile } }), unreachable(k.listeners.expired, 'the broker certificate is not trusted: expired'));
      assert.deepEqual(await cycle({ brokers: [k.listeners.tls13], tls: { ca_file: caFile, max_version: 'TLS12' } }),
        unreachable(k.listeners.tls13, 'the broker refused the protocol version (none of the TLS versions we offer is allowed there)'));
      assert.deepEqual(await cycle({ brokers: [k.listeners.tls13], tls: { ca_file: caFile } }), HEALTHY);
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl], tls: { ca_file: otherCaFile, insecure_skip_verify: true } }), HEALTHY);
      // A host name rather than an address: verified against the certificate's DNS name; server_name overrides it.
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl.replace('127.0.0.1', 'localhost')], tls: { ca_file: caFile } }), HEALTHY);
      assert.deepEqual(await cycle({ brokers: [k.listeners.wrongHost], tls: { ca_file: caFile, server_name: 'wrong.example' } }), HEALTHY);
    });

    test('an expiring certificate, the broker\'s or ours, and a key readable by others: one ERROR line each after the OK lines', async () => {
      const expired = await cycle({ brokers: [k.listeners.expired], tls: { insecure_skip_verify: true } });
      assert.deepEqual(expired.slice(0, -1), HEALTHY);
      assert.match(expired.at(-1)!, new RegExp(`^ERROR: TLS certificate of broker ${k.listeners.expired} \\(CN=localhost\\) expired 2020-02-01T00:00:00Z, \\d+ days ago$`));
      const soon = k.pki.soonExpiringClient;
      const ends = new X509Certificate(readFileSync(soon.certFile)).validToDate.toISOString().replace('.000Z', 'Z');
      const loose = join(dir, 'loose-key.pem');
      copyFileSync(soon.keyFile, loose);
      chmodSync(loose, 0o644);
      assert.deepEqual(await cycle({ brokers: [k.listeners.mtls], tls: { ca_file: caFile, cert_file: soon.certFile, key_file: loose } }), [
        ...HEALTHY,
        `ERROR: TLS key file ${loose} is readable by others (mode 0644); chmod o-r it`,
        `ERROR: TLS certificate ${soon.certFile} (CN=imom-agent) expires ${ends}, in 2 days`,
      ]);
    });

    test('mutual TLS: a client certificate from the CA gets the OK lines; none, another CA\'s or an expired one, one CRITICAL line', async () => {
      const ok = await check(k.listeners.mtls, { tls: clientTls });
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      assert.deepEqual(ok.lines, HEALTHY);
      const key = readFileSync(k.pki.client.keyFile, 'utf8').split('\n').find((l) => l.length > 40)!;
      for (const out of [ok.stdout, ok.stderr, ok.log]) assert.ok(!out.includes(key) && !out.includes('-----BEGIN'), 'the client key leaked');
      const unreachable = (reason: string) => [`CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.mtls} (TLS handshake failed: ${reason})`];
      const withCert = (c: { certFile: string; keyFile: string }) => ({ brokers: [k.listeners.mtls], tls: { ca_file: caFile, cert_file: c.certFile, key_file: c.keyFile } });
      assert.deepEqual(await cycle({ brokers: [k.listeners.mtls], tls: { ca_file: caFile } }), unreachable('the broker requires a client certificate (cert_file and key_file are not set)'));
      assert.deepEqual(await cycle(withCert(k.pki.otherClient)), unreachable('the broker refused the client certificate: not trusted'));
      const expired = await cycle(withCert(k.pki.expiredClient));
      assert.deepEqual(expired[0], unreachable('the broker refused the client certificate: not trusted')[0]);
      assert.match(expired[1] ?? '', new RegExp(`^ERROR: TLS certificate ${k.pki.expiredClient.certFile} \\(CN=imom-agent\\) expired 2020-02-01T00:00:00Z, \\d+ days ago$`));
    });

    test('reload re-reads the certificate: replaced under the same path, SIGHUP, the new one is used', async () => {
      const cliDir = join(dir, 'reload');
      mkdirSync(cliDir);
      const cert = join(cliDir, 'client.pem');
      const keyFile = join(cliDir, 'client-key.pem');
      copyFileSync(k.pki.soonExpiringClient.certFile, cert);
      copyFileSync(k.pki.soonExpiringClient.keyFile, keyFile);
      const cfg = checkConfig(cliDir, `
  kafka:
    - name: secure
      brokers: [${k.listeners.mtls}]
      topics: [web]
      consumer_groups: [reader]
      tls: { ca_file: ${caFile}, cert_file: ${cert}, key_file: ${keyFile} }
`, { interval: '500ms', timeout: '10s' });
      const log = join(cliDir, 'check.log');
      const lines = () => { try { return linesOf(readFileSync(log, 'utf8')).map(stripStamp); } catch { return []; } };
      const expiring = `ERROR: TLS certificate ${cert} (CN=imom-agent) expires`;
      const agent = spawnImom(['agent', '--config', cfg]);
      let stderr = '';
      agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      await waitFor(() => lines().some((l) => l.startsWith(expiring)), 30_000, 'the expiry line of the first certificate');
      copyFileSync(k.pki.client.certFile, cert);
      copyFileSync(k.pki.client.keyFile, keyFile);
      agent.kill('SIGHUP');
      await waitFor(() => stderr.includes('config reloaded'), 30_000, 'the reload');
      assert.match(stderr, /instances 0 added, 0 removed, 1 changed/);
      const after = lines().length;
      // Every cycle with the old certificate ends in its ERROR line: two whole cycles of OK lines
      // at the end (whatever run was in flight at the reload) are cycles with the new one.
      await waitFor(() => {
        const l = lines();
        return l.length >= after + 2 * HEALTHY.length && l.slice(-2 * HEALTHY.length).every((x) => x.startsWith('Status=OK'));
      }, 30_000, 'two cycles of OK lines after the reload');
      agent.kill('SIGTERM');
      const [code] = (await once(agent, 'exit')) as [number];
      assert.equal(code, 0, stderr);
    });

    test('tls/sasl not matching the listener: the reason says which setting to look at', async () => {
      const { plain } = k.users;
      const sasl = { mechanism: 'plain', username: plain.username, password: plain.password };
      const cases: [Record<string, unknown>, string][] = [
        [{ brokers: [k.listeners.ssl] }, 'connection closed by broker before answering ApiVersions (a TLS listener? tls is not set)'],
        [{ brokers: [k.listeners.saslSsl], sasl }, 'connection closed by broker before answering ApiVersions (a TLS listener? tls is not set)'],
        [{ brokers: [k.listeners.saslPlaintext] }, 'connection closed by broker after ApiVersions (a SASL listener? sasl is not set)'],
        [{ brokers: [k.listeners.saslSsl], tls: { ca_file: caFile } }, 'connection closed by broker after ApiVersions (a SASL listener? sasl is not set)'],
        [{ brokers: [k.listeners.plaintext], tls: { ca_file: caFile } }, 'TLS handshake failed: connection reset by broker (not a TLS listener? tls is set)'],
        [{ brokers: [k.listeners.plaintext], sasl }, 'SaslHandshake: ILLEGAL_SASL_STATE (not a SASL listener? sasl is set)'],
      ];
      for (const [extra, reason] of cases) {
        const broker = (extra.brokers as string[])[0]!;
        assert.deepEqual(await cycle(extra), [`CRITICAL: Kafka cluster unreachable, brokers tried: ${broker} (${reason})`]);
      }
    });
  });
}
