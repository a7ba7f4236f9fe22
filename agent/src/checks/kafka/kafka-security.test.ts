/**
 * The Kafka check through SASL and TLS, against a real broker: one node of Kafka 3.9 and of
 * 4.x in turn (test/harness/kafka.ts startSecureKafka: combined broker+controller with a
 * PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL and a client-certificate (MTLS) listener).
 * Everything goes through the `imom` CLI, with passwords from the environment (${VAR} in the
 * config).
 *
 * Fixture (kafkajs, over the PLAINTEXT listener): topic web, 2 partitions, 5 messages in each;
 * group reader committed p0=5 and p1=2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_VERSIONS, kafkaCycle, startSecureKafka, type SecureKafka } from '../../../../test/harness/kafka.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';
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
      caFile = join(dir, 'ca.pem');
      otherCaFile = join(dir, 'other-ca.pem');
      writeFileSync(caFile, k.caPem);
      writeFileSync(otherCaFile, k.otherCaPem);
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
        { what: 'SSL', broker: k.listeners.ssl, tls: `ca: ${caFile}` },
        { what: 'SASL_SSL, SCRAM-SHA-512', broker: k.listeners.saslSsl, sasl: `mechanism: scram-sha-512, username: ${scram.username}`, password: scram.password, tls: `ca: ${caFile}` },
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

    test('TLS with a CA that did not sign the broker\'s certificate: CRITICAL with the verification error; insecure_skip_verify connects', async () => {
      const r = await check(k.listeners.ssl, { tls: `ca: ${otherCaFile}` });
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.deepEqual(r.lines, [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.ssl} (TLS handshake failed: self-signed certificate in certificate chain)`,
      ]);
      // No `ca`: the system CAs do not know the test CA either.
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl], tls: {} }), [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.ssl} (TLS handshake failed: self-signed certificate in certificate chain)`,
      ]);
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl], tls: { ca: otherCaFile, insecure_skip_verify: true } }), HEALTHY);
      // A host name rather than an address: verified against the certificate's DNS name.
      assert.deepEqual(await cycle({ brokers: [k.listeners.ssl.replace('127.0.0.1', 'localhost')], tls: { ca: caFile } }), HEALTHY);
    });

    test('mutual TLS: a client certificate from the CA gets the OK lines; none, or one from another CA, one CRITICAL line', async () => {
      const ok = await check(k.listeners.mtls, { tls: `ca: ${caFile}, cert: ${k.client.cert}, key: ${k.client.key}` });
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      assert.deepEqual(ok.lines, HEALTHY);
      const key = readFileSync(k.client.key, 'utf8').split('\n').find((l) => l.length > 40)!;
      for (const out of [ok.stdout, ok.stderr, ok.log]) assert.ok(!out.includes(key), 'the client key leaked');
      const none = await cycle({ brokers: [k.listeners.mtls], tls: { ca: caFile } });
      const other = await cycle({ brokers: [k.listeners.mtls], tls: { ca: caFile, cert: k.otherClient.cert, key: k.otherClient.key } });
      assert.deepEqual(none, [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.mtls} (TLS handshake failed: the broker refused the client certificate (alert: bad certificate; tls.cert and tls.key are not set))`,
      ]);
      assert.deepEqual(other, [
        `CRITICAL: Kafka cluster unreachable, brokers tried: ${k.listeners.mtls} (TLS handshake failed: the broker does not trust the client certificate (alert: certificate unknown))`,
      ]);
    });

    test('tls/sasl not matching the listener: the reason says which setting to look at', async () => {
      const { plain } = k.users;
      const sasl = { mechanism: 'plain', username: plain.username, password: plain.password };
      const cases: [Record<string, unknown>, string][] = [
        [{ brokers: [k.listeners.ssl] }, 'connection closed by broker before answering ApiVersions (a TLS listener? tls is not set)'],
        [{ brokers: [k.listeners.saslSsl], sasl }, 'connection closed by broker before answering ApiVersions (a TLS listener? tls is not set)'],
        [{ brokers: [k.listeners.saslPlaintext] }, 'connection closed by broker after ApiVersions (a SASL listener? sasl is not set)'],
        [{ brokers: [k.listeners.saslSsl], tls: { ca: caFile } }, 'connection closed by broker after ApiVersions (a SASL listener? sasl is not set)'],
        [{ brokers: [k.listeners.plaintext], tls: { ca: caFile } }, 'TLS handshake failed: connection reset by broker (not a TLS listener? tls is set)'],
        [{ brokers: [k.listeners.plaintext], sasl }, 'SaslHandshake: ILLEGAL_SASL_STATE (not a SASL listener? sasl is set)'],
      ];
      for (const [extra, reason] of cases) {
        const broker = (extra.brokers as string[])[0]!;
        assert.deepEqual(await cycle(extra), [`CRITICAL: Kafka cluster unreachable, brokers tried: ${broker} (${reason})`]);
      }
    });
  });
}
