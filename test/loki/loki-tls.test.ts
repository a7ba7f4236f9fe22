/**
 * Loki behind mutual TLS: loki/loki-tls.yaml (server.http_tls_config and grpc_tls_config,
 * client_auth_type RequireAndVerifyClientCert, Loki's own gRPC clients with a client
 * certificate) runs as a real Loki with the harness's CA (test/harness/pki.ts). Over it: the
 * agent's direct push over HTTP and gRPC (the exactly-once check once more), the relay's line
 * query, `imom rules test`, and `imom stack up --loki-tls-dir` with its Promtail. Then the failure matrix: each way a handshake with
 * Loki fails is one phrase saying which side refused and why, in the push's ERROR line, the
 * gRPC push's, and the relay's.
 *
 * Two Lokis: `loki` (multi-tenant, so the rule tester can use it; every call here names
 * TENANT) and `old`, serving an expired certificate and refusing anything below TLS 1.3, which
 * is only ever handshaken with.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadTls } from '../../agent/src/core/tls/index.js';
import { tlsSchema } from '../../agent/src/config/tls.js';
import { createSender } from '../../agent/src/outputs/loki/create-sender.js';
import { relayConfigSchema } from '../../agent/src/relay/config.js';
import { alertContent } from '../../agent/src/relay/lines.js';
import { rulesTest } from '../../agent/src/rules/cli.js';
import { waitForCount, startLoki, type LokiHandle } from '../harness/loki.js';
import { lokiTls } from '../harness/loki-tls.js';
import { testPki, type TestPki } from '../harness/pki.js';
import { freePorts, REPO_ROOT, tempDir, tempDirs, removeDir, waitFor } from '../harness/proc.js';
import type { StackState } from '../../agent/src/stack/stack.js';
import { assertExactlyOnce, inProcess } from '../loki-push/util.js';
import { checkLine } from '../promtail/util.js';
import { imom } from '../harness/cli.js';

const TENANT = 'imom-tls';
/** An empty logproto.PushRequest: each handshake here fails before Loki would read it. */
const EMPTY_PUSH = new Uint8Array(0);
let pki: TestPki;
let loki: LokiHandle;
let old: LokiHandle;
let dir: string;
const spools = tempDirs('loki-tls-spool');

before(async () => {
  pki = await testPki();
  dir = tempDir('loki-tls');
  [loki, old] = await Promise.all([
    startLoki({ tls: lokiTls(pki), env: { LOKI_AUTH_ENABLED: 'true' } }),
    startLoki({ tls: lokiTls(pki, { server: pki.expiredServer, minVersion: 'VersionTLS13' }), readyWhen: 'listening' }),
  ]);
});
after(async () => {
  await Promise.all([loki?.close(), old?.close()]);
  spools.removeAll();
  if (dir) removeDir(dir);
});

/** The `tls:` block as an operator writes it (file paths), for the schemas that read it. */
const tlsInput = (o: Record<string, unknown> = {}) => ({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile, ...o });

describe('loki/loki-tls.yaml', () => {
  it('is loki/loki.yaml with TLS added and nothing else changed', () => {
    const read = (f: string) => parse(readFileSync(join(REPO_ROOT, 'loki', f), 'utf8'), { merge: true }) as Record<string, Record<string, unknown>>;
    const plain = read('loki.yaml');
    const tls = read('loki-tls.yaml');
    // What loki-tls.yaml adds: the two listeners' TLS, and each internal gRPC client's.
    for (const k of ['tls_min_version', 'http_tls_config', 'grpc_tls_config']) delete tls.server![k];
    delete tls.frontend!.grpc_client_config;
    delete tls.ruler!.ruler_client;
    for (const k of ['ingester_client', 'frontend_worker', 'query_scheduler', 'compactor_grpc_client']) delete tls[k];
    assert.deepEqual(tls, plain);
  });

  it('refuses plain HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${loki.port}/ready`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Client sent an HTTP request to an HTTPS server/);
  });
});

describe('outputs.loki.tls in the agent config', () => {
  it('a key that is not the certificate\'s is exit 2 naming file, line and path', async () => {
    const file = join(dir, 'imom.yaml');
    writeFileSync(file, `outputs:\n  loki:\n    url: ${loki.url}\n    spool_dir: ${join(dir, 'spool')}\n    tls:\n      ca_file: ${pki.caFile}\n      cert_file: ${pki.client.certFile}\n      key_file: ${pki.server.keyFile}\nchecks: {}\n`);
    const r = await imom(['config', 'validate', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `imom: ${file}:8: outputs.loki.tls.key_file: key_file ${pki.server.keyFile} is not the private key of cert_file ${pki.client.certFile}`);
  });
});

describe('over mutual TLS', () => {
  it('http: every line arrives exactly once', async () => {
    await assertExactlyOnce(loki.url, { url: loki.url, transport: 'http', tenant: TENANT, spool_dir: spools.make(), tls: tlsInput() }, 'exact-https.example.com', { tenant: TENANT });
  });

  it('grpc (server_name localhost, dialled by IP): every line arrives exactly once', async () => {
    await assertExactlyOnce(loki.url, { url: `grpcs://127.0.0.1:${loki.grpcPort}`, transport: 'grpc', tenant: TENANT, spool_dir: spools.make(), tls: tlsInput({ server_name: 'localhost' }) }, 'exact-grpcs.example.com', { tenant: TENANT });
  });

  it("the relay's line query reads them", async () => {
    const cfg = relayConfigSchema.parse({
      token: 'relay-token-0123456789', targets: [{ type: 'webhook', name: 'hook', url: 'http://127.0.0.1:9/hook' }],
      loki: { url: loki.url, tenant: TENANT, lines: 3, tls: tlsInput() },
    });
    const warnings: string[] = [];
    const content = await alertContent(cfg, [], (_l, m) => warnings.push(m))({
      status: 'firing', labels: { alertname: 'CheckCritical', host: 'exact-https.example.com' }, fingerprint: 'f',
      annotations: { logql: '{job="imom", host="exact-https.example.com", check="kafka"}' }, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '',
    });
    assert.deepEqual(warnings, []);
    assert.equal(content.lines.length, 3);
    assert.match(content.lines[0]!.line, /^p seq=\d+ Status=/);
  });

  it('imom rules test passes ruler/tests/app.yaml against it', async () => {
    let out = '';
    const code = await rulesTest([join(REPO_ROOT, 'ruler', 'tests', 'app.yaml')], { lokiUrl: loki.url, lokiCaFile: pki.caFile, lokiCertFile: pki.client.certFile, lokiKeyFile: pki.client.keyFile }, (s) => (out += s));
    assert.equal(code, 0, out);
    assert.match(out, /SUCCESS/);
  });
});

describe('imom stack up --loki-tls-dir', () => {
  // The stack's Promtail is promtail/promtail.yaml with LOKI_PUSH_CA_FILE, _CERT_FILE, _KEY_FILE: Promtail over mutual TLS.
  it('runs Loki on mutual TLS; its Promtail ships a check log to it and stack status probes it ready', async () => {
    const tlsDir = join(dir, 'stack-tls');
    mkdirSync(tlsDir);
    const files: [string, string][] = [[pki.caFile, 'ca.pem'], [pki.server.certFile, 'loki.pem'], [pki.server.keyFile, 'loki.key'], [pki.client.certFile, 'client.pem'], [pki.client.keyFile, 'client.key']];
    for (const [from, to] of files) copyFileSync(from, join(tlsDir, to));
    const stackDir = join(dir, 'stack');
    const [lp, gp, pp] = (await freePorts(3)).map(String) as [string, string, string];
    try {
      const up = await imom(['stack', 'up', '--dir', stackDir, '--loki-port', lp, '--loki-grpc-port', gp, '--promtail-port', pp, '--no-alertmanager', '--host', 'stack-tls', '--loki-tls-dir', tlsDir], { timeoutMs: 180_000 });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`loki +pid \\d+ +https://127\\.0\\.0\\.1:${lp}`));
      const status = await imom(['stack', 'status', '--dir', stackDir]);
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, new RegExp(`^loki +pid \\d+ +https://127\\.0\\.0\\.1:${lp} +ready`, 'm'));
      const state = JSON.parse(readFileSync(join(stackDir, 'stack.json'), 'utf8')) as StackState;
      appendFileSync(join(state.promtail!.checkLogDir, 'redis.log'), `${checkLine(new Date(), 'Status=OK, Node=127.0.0.1:6379, Role=master')}\n`);
      assert.equal(await waitForCount(`https://127.0.0.1:${lp}`, '{job="imom", host="stack-tls", check="redis"}', 1, { tls: loki.tls }), 1);
    } finally {
      await imom(['stack', 'down', '--dir', stackDir]);
    }
  });
});

/**
 * Each row: how a client is set up wrong (or the server is), and the phrase the operator reads.
 * `old` serves pki.expiredServer and refuses anything below TLS 1.3 (LOKI_TLS_MIN_VERSION).
 * Over gRPC the same phrase: grpc-js keeps only text, so the sender handshakes once itself.
 */
const MATRIX: { row: string; target: () => LokiHandle; tls: () => Record<string, unknown>; phrase: string }[] = [
  { row: 'unknown CA', target: () => loki, tls: () => tlsInput({ ca_file: pki.otherCaFile }), phrase: 'TLS handshake failed: the Loki certificate is not trusted: signed by an unknown CA' },
  { row: 'host name mismatch', target: () => loki, tls: () => tlsInput({ server_name: 'wrong.example' }), phrase: 'TLS handshake failed: the Loki certificate is not trusted: host name mismatch (wrong.example is not among its names: IP Address:127.0.0.1, DNS:localhost)' },
  { row: 'expired certificate', target: () => old, tls: () => tlsInput(), phrase: 'TLS handshake failed: the Loki certificate is not trusted: expired' },
  { row: 'client certificate required', target: () => loki, tls: () => ({ ca_file: pki.caFile }), phrase: 'TLS handshake failed: Loki requires a client certificate (cert_file and key_file are not set)' },
  { row: 'client certificate refused', target: () => loki, tls: () => tlsInput({ cert_file: pki.otherClient.certFile, key_file: pki.otherClient.keyFile }), phrase: 'TLS handshake failed: Loki refused the client certificate: signed by a CA it does not trust' },
  { row: 'protocol version below the minimum', target: () => old, tls: () => tlsInput({ max_version: 'TLS12' }), phrase: 'TLS handshake failed: Loki refused the protocol version (none of the TLS versions we offer is allowed there)' },
];

describe('TLS failures with Loki, in words', () => {
  for (const m of MATRIX) {
    for (const transport of ['http', 'grpc'] as const) {
      it(`${m.row} (${transport})`, async () => {
        const target = m.target();
        const url = transport === 'http' ? target.url : `grpcs://127.0.0.1:${target.grpcPort}`;
        const s = await createSender(transport, url, { tenant: TENANT }, 'test', loadTls(tlsSchema.parse(m.tls())).options);
        const outcome = await s.send(EMPTY_PUSH, 10_000, new AbortController().signal);
        await s.close();
        assert.deepEqual(outcome, { kind: 'retry', reason: m.phrase, tls: true });
      });
    }
  }

  it('the push writes it as one ERROR report (code push_tls), not a retry warning', async () => {
    const { t, logger, reports } = inProcess({ url: loki.url, tenant: TENANT, spool_dir: spools.make(), tls: tlsInput({ ca_file: pki.otherCaFile }), shutdown_timeout: '1ms', batch: { max_wait: '10ms' } }, 'tls-fail.example.com');
    logger.log({ level: 'info', message: 'p seq=0 Status=OK', check: 'mysql', status: 'OK', time: new Date() });
    const r = await waitFor(() => reports.find((x) => x.code === 'push_tls'), 30_000, 'push_tls report');
    await t.shutdown();
    assert.equal(r.level, 'ERROR');
    assert.equal(r.message, `loki push failed (${MATRIX[0]!.phrase}); retrying with backoff, 1 lines kept in the spool`);
  });

  it('a client certificate that ends within expiry_warning (14d) is one ERROR report (code tls_notice) naming the file and the date', async () => {
    const { t, reports } = inProcess({ url: loki.url, tenant: TENANT, spool_dir: spools.make(), shutdown_timeout: '1ms', tls: tlsInput({ cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile }) }, 'tls-expiry.example.com');
    await t.shutdown();
    const expiry = reports.filter((r) => r.code === 'tls_notice' && r.message.startsWith('TLS certificate'));
    assert.equal(expiry.length, 1);
    assert.equal(expiry[0]!.level, 'ERROR');
    assert.match(expiry[0]!.message, new RegExp(`^TLS certificate ${pki.soonExpiringClient.certFile.replace(/[.]/g, '\\.')} \\(CN=imom-agent[^)]*\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ (days?|hours?)$`));
  });

  for (const transport of ['http', 'grpc'] as const) {
    it(`Loki's certificate ending within expiry_warning is one ERROR report (code tls_notice) naming Loki's address (${transport})`, async () => {
      const port = transport === 'http' ? loki.port : loki.grpcPort;
      const url = transport === 'http' ? loki.url : `grpcs://127.0.0.1:${port}`;
      // 100 years: every certificate of the test CA ends within it.
      const { t, logger, reports } = inProcess({ url, transport, tenant: TENANT, spool_dir: spools.make(), tls: tlsInput({ expiry_warning: '36500d', ...(transport === 'grpc' ? { server_name: 'localhost' } : {}) }), batch: { max_wait: '10ms' } }, `tls-peer-expiry-${transport}.example.com`);
      logger.log({ level: 'info', message: 'p seq=0 Status=OK', check: 'mysql', status: 'OK', time: new Date() });
      assert.equal(await t.forceFlush(30_000), true);
      await t.shutdown();
      const peer = reports.filter((r) => r.code === 'tls_notice' && r.message.startsWith('TLS certificate of Loki'));
      assert.equal(peer.length, 1, JSON.stringify(reports));
      assert.equal(peer[0]!.level, 'ERROR');
      assert.match(peer[0]!.message, new RegExp(`^TLS certificate of Loki 127\\.0\\.0\\.1:${port} \\([^)]+\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ days$`));
    });
  }

  it("the relay's line query says it in the notification and one WARN", async () => {
    const cfg = relayConfigSchema.parse({
      token: 'relay-token-0123456789', targets: [{ type: 'webhook', name: 'hook', url: 'http://127.0.0.1:9/hook' }],
      loki: { url: loki.url, tenant: TENANT, tls: { ca_file: pki.caFile } },
    });
    const warnings: string[] = [];
    const content = await alertContent(cfg, [], (level, m) => warnings.push(`${level} ${m}`))({
      status: 'firing', labels: { alertname: 'CheckCritical' }, fingerprint: 'f', annotations: { logql: '{job="imom"}' },
      startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '',
    });
    const why = 'Loki GET /loki/api/v1/query_range: TLS handshake failed: Loki requires a client certificate (cert_file and key_file are not set)';
    assert.equal(content.linesError, why);
    assert.deepEqual(warnings, [`WARN lines for CheckCritical unavailable: ${why}`]);
  });
});
