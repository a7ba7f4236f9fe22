/**
 * The relay's chat targets and heartbeat over TLS (`tls:` on every target type and on the
 * heartbeat): an in-process relay posts to the chat stand-in served over HTTPS with the harness
 * PKI, mutual TLS included, and pings the heartbeat there. Then the failure matrix: one relay
 * with one webhook target per row, each against its own HTTPS stand-in, and for each row the
 * relay's exact line, the notification still queued and retried. The client-certificate refusal
 * row is `openssl s_server`: node:tls drops a refused client's socket without an alert, while
 * s_server (like nginx, Java or Go servers) sends the alert that says why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRelayConfig } from '../../agent/src/relay/cli.js';
import { ConfigError } from '../../agent/src/config/errors.js';
import { relayConfigSchema } from '../../agent/src/relay/config.js';
import { Relay } from '../../agent/src/relay/relay.js';
import type { AmAlert } from '../../agent/src/relay/webhook.js';
import { startChat, type ChatServer } from '../harness/chat.js';
import { testPki, type TestCert, type TestPki } from '../harness/pki.js';
import { freePort, removeDir, startDaemon, tempDir, waitFor, waitForPort, type Daemon } from '../harness/proc.js';

const TOKEN = 'relay-targets-tls-token-0123';
const BOT = '123456:telegram-tls-bot-secret';

let pki: TestPki;
let dir: string;
const chats: ChatServer[] = [];
const daemons: Daemon[] = [];

interface RunningRelay {
  readonly port: number;
  readonly lines: string[];
  readonly relay: Relay;
}
const relays: Relay[] = [];

/** An in-process relay on plain HTTP (its listener is not under test here); its log lines are kept, level first. */
async function startRelay(name: string, rest: Record<string, unknown>): Promise<RunningRelay> {
  const port = await freePort();
  const cfg = relayConfigSchema.parse({
    listen: `127.0.0.1:${port}`, token: TOKEN, state_dir: join(dir, name),
    loki: { url: 'http://127.0.0.1:9' }, // never queried: the alerts here carry no logql annotation
    retry: { initial: '200ms', max: '1s' },
    ...rest,
  });
  const lines: string[] = [];
  const relay = new Relay(cfg, TOKEN, (level, m) => lines.push(`${level} ${m}`));
  relays.push(relay);
  await relay.start();
  return { port, lines, relay };
}

/** The chat stand-in on HTTPS with `cert`; with `clientCa` it requires a client certificate from that CA. */
async function httpsChat(cert: TestCert, o: { clientCa?: string; minVersion?: 'TLSv1.3' } = {}): Promise<ChatServer> {
  const tls = {
    cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile),
    ...(o.clientCa ? { ca: readFileSync(o.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
    ...(o.minVersion ? { minVersion: o.minVersion } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await startChat({ tls });
      chats.push(c);
      return c;
    } catch (e) {
      // Another test file took the port between freePort and the bind: try another.
      if (attempt >= 3 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}

/** `openssl s_server` requiring a client certificate from the test CA: it refuses others with an alert. */
async function opensslServer(): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const d = startDaemon('s_server', 'openssl', ['s_server', '-quiet', '-accept', `127.0.0.1:${port}`,
      '-cert', pki.server.certFile, '-key', pki.server.keyFile, '-CAfile', pki.caFile, '-Verify', '1', '-verify_return_error', '-www'],
    { logFile: join(dir, `s_server-${port}.log`) });
    daemons.push(d);
    try {
      await waitForPort(port, 10_000, 'openssl s_server');
      return `https://127.0.0.1:${port}`;
    } catch (e) {
      if (attempt >= 3 || !readFileSync(d.logFile, 'utf8').includes('in use')) throw e;
    }
  }
}

function alert(host: string): AmAlert {
  return {
    status: 'firing',
    labels: { alertname: 'CheckCritical', env: 'test', host, check: 'mysql', severity: 'critical' },
    annotations: { summary: `mysql on ${host} (test) is CRITICAL` },
    startsAt: new Date().toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: `fp-${host}`,
  };
}

/** POST /heartbeat with a firing Watchdog, as Alertmanager does: the relay starts pinging. */
async function watchdog(r: RunningRelay): Promise<void> {
  const body = JSON.stringify({ version: '4', status: 'firing', receiver: 'heartbeat', groupKey: '{}:{alertname="Watchdog"}', truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '', alerts: [{ ...alert('-'), labels: { alertname: 'Watchdog', severity: 'none' } }] });
  const res = await fetch(`http://127.0.0.1:${r.port}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, await res.text());
}

/** No line carries a certificate or key body, the PKI password or the bot token. */
function assertNoSecrets(lines: readonly string[]): void {
  for (const l of lines) for (const bad of ['-----BEGIN', pki.password, BOT]) assert.ok(!l.includes(bad), `a line carries ${bad}: ${l}`);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  pki = await testPki();
  dir = tempDir('relay-targets-tls');
});
after(async () => {
  await Promise.allSettled(relays.map((r) => r.stop()));
  await Promise.allSettled([...chats.map((c) => c.stop()), ...daemons.map((d) => d.stop())]);
  if (dir) removeDir(dir);
});

describe('chat targets and the heartbeat over mutual TLS', () => {
  let chat: ChatServer;
  let relay: RunningRelay;
  const mtls = (extra: Record<string, unknown> = {}) => ({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile, ...extra });

  before(async () => {
    chat = await httpsChat(pki.server, { clientCa: pki.caFile });
    relay = await startRelay('mutual', {
      heartbeat: { url: `${chat.url}/ping/key-123`, every: '200ms', tls: mtls({ expiry_warning: '60d' }) },
      targets: [
        { name: 'slack', type: 'slack', url: `${chat.url}/slack`, tls: mtls() },
        { name: 'teams', type: 'teams', url: `${chat.url}/teams`, tls: mtls() },
        { name: 'gchat', type: 'google_chat', url: `${chat.url}/gchat`, tls: mtls() },
        // Our own certificate ends in 3 days: one ERROR line when the config is loaded.
        { name: 'telegram', type: 'telegram', bot_token: BOT, chat_id: 42, api_url: `${chat.url}/telegram`, tls: mtls({ cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile }) },
        // The chat's certificate (30 days) is within 60d: one ERROR line, however many posts.
        { name: 'hook', type: 'webhook', url: `${chat.url}/hook`, tls: mtls({ expiry_warning: '60d' }) },
      ],
    });
    await relay.relay.accept([alert('db1'), alert('db2')]);
  });

  it('every target type delivers over mutual TLS', async () => {
    for (const path of ['/slack', '/teams', '/gchat', `/telegram/bot${BOT}/sendMessage`, '/hook']) await chat.waitForDelivered(2, 15_000, path);
    // The relay logs a delivery once the answer is back, which can be after chat recorded the request.
    const delivered = (t: string) => relay.lines.some((l) => l.startsWith(`INFO delivered CheckCritical firing host=db1 check=mysql to ${t}`));
    await waitFor(() => ['slack', 'teams', 'gchat', 'telegram', 'hook'].every(delivered) && relay.relay.queued === 0, 15_000, 'a delivered line per target').catch(() => undefined);
    for (const t of ['slack', 'teams', 'gchat', 'telegram', 'hook']) assert.ok(delivered(t), relay.lines.join('\n'));
    assert.equal(relay.relay.queued, 0);
  });

  it('the heartbeat pings over mutual TLS', async () => {
    await watchdog(relay);
    await chat.waitForDelivered(2, 15_000, '/ping/key-123');
    assert.deepEqual(relay.lines.filter((l) => l.includes('heartbeat ping')), []);
  });

  it('our certificate near its end: one ERROR line at load naming the file and the date', () => {
    const own = relay.lines.filter((l) => l.includes(`TLS certificate ${pki.soonExpiringClient.certFile}`));
    assert.equal(own.length, 1, relay.lines.join('\n'));
    assert.match(own[0]!, new RegExp(`^ERROR TLS certificate ${escape(pki.soonExpiringClient.certFile)} \\(CN=imom-agent\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ days?$`));
  });

  it('a target\'s and the heartbeat server\'s certificate within expiry_warning: one ERROR line each', async () => {
    await chat.waitForDelivered(3, 15_000, '/ping/key-123');
    for (const whose of ['target hook', 'heartbeat']) {
      const got = relay.lines.filter((l) => l.includes(`TLS certificate of ${whose} `));
      assert.equal(got.length, 1, relay.lines.join('\n'));
      assert.match(got[0]!, new RegExp(`^ERROR TLS certificate of ${whose} 127\\.0\\.0\\.1:${chat.port} \\(CN=localhost\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ days$`));
    }
    // The default expiry_warning (14d) says nothing of a certificate with 30 days left.
    assert.deepEqual(relay.lines.filter((l) => l.includes('TLS certificate of target ') && !l.includes('target hook ')), []);
    assertNoSecrets(relay.lines);
  });
});

/** Each row: the target's tls block, the server it posts to, and the reason in the relay's WARN line. */
interface Row {
  row: string;
  server: () => Promise<string>;
  tls: () => Record<string, unknown>;
  reason: string;
}

describe('TLS failures of a chat target and the heartbeat, in words', () => {
  let mutual: ChatServer;
  const caOnly = () => ({ ca_file: pki.caFile });
  const mtls = () => ({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile });
  const MATRIX: Row[] = [
    { row: 'unknown-ca', server: async () => mutual.url, tls: () => ({ ...mtls(), ca_file: pki.otherCaFile }), reason: 'TLS handshake failed: the chat server certificate is not trusted: signed by an unknown CA' },
    { row: 'host-mismatch', server: async () => (await httpsChat(pki.wrongHost)).url, tls: caOnly, reason: 'TLS handshake failed: the chat server certificate is not trusted: host name mismatch (127.0.0.1 is not among its names: DNS:wrong.example)' },
    { row: 'expired', server: async () => (await httpsChat(pki.expiredServer)).url, tls: caOnly, reason: 'TLS handshake failed: the chat server certificate is not trusted: expired' },
    { row: 'cert-required', server: async () => mutual.url, tls: caOnly, reason: 'TLS handshake failed: the chat server requires a client certificate (cert_file and key_file are not set)' },
    { row: 'cert-refused', server: opensslServer, tls: () => ({ ...mtls(), cert_file: pki.otherClient.certFile, key_file: pki.otherClient.keyFile }), reason: 'TLS handshake failed: the chat server refused the client certificate: signed by a CA it does not trust' },
    { row: 'old-protocol', server: async () => (await httpsChat(pki.server, { minVersion: 'TLSv1.3' })).url, tls: () => ({ ...caOnly(), max_version: 'TLS12' }), reason: 'TLS handshake failed: the chat server refused the protocol version (none of the TLS versions we offer is allowed there)' },
  ];
  let relay: RunningRelay;

  before(async () => {
    mutual = await httpsChat(pki.server, { clientCa: pki.caFile });
    const urls = await Promise.all(MATRIX.map((m) => m.server()));
    relay = await startRelay('matrix', {
      // The heartbeat server's certificate from a CA it was not told of.
      heartbeat: { url: `${mutual.url}/ping/key-456`, every: '200ms', tls: { ...mtls(), ca_file: pki.otherCaFile } },
      targets: MATRIX.map((m, i) => ({ name: m.row, type: 'webhook', url: `${urls[i]}/${m.row}`, tls: m.tls() })),
    });
    await relay.relay.accept([alert('db-matrix')]);
    await watchdog(relay);
  });

  for (const m of MATRIX) {
    it(m.row, async () => {
      const failed = (n: number) => relay.lines.find((l) => l.startsWith(`WARN CheckCritical firing host=db-matrix check=mysql to ${m.row} failed (`) && l.includes(`; retry ${n} in `));
      const first = await waitFor(() => failed(1), 15_000, `the relay's line for ${m.row}`);
      assert.equal(first.replace(/ in \d+ms$/, ' in <n>ms'), `WARN CheckCritical firing host=db-matrix check=mysql to ${m.row} failed (${m.reason}); retry 1 in <n>ms`);
      // Kept for retry, as for any failed post: a certificate gets fixed.
      await waitFor(() => failed(2), 15_000, `the second attempt for ${m.row}`);
      assert.ok(!relay.lines.some((l) => l.includes(`gave up`)), relay.lines.join('\n'));
    });
  }

  it('heartbeat: one WARN line per failed ping, in the same words', async () => {
    const line = await waitFor(() => relay.lines.find((l) => l.includes('heartbeat ping failed')), 15_000, 'the heartbeat line');
    assert.equal(line, 'WARN heartbeat ping failed: TLS handshake failed: the heartbeat server certificate is not trusted: signed by an unknown CA');
    assert.equal(mutual.delivered('/ping').length, 0);
  });

  it('nothing reached chat, every notification is still queued, and no line carries a secret', () => {
    assert.equal(relay.relay.queued, MATRIX.length);
    assert.equal(mutual.delivered().length, 0);
    assertNoSecrets(relay.lines);
  });
});

describe('tls on a target and the heartbeat is checked like every tls block', () => {
  it('a key that is not the certificate\'s, a relative path: exit 2 naming file, line and config path', () => {
    const file = join(dir, 'bad-tls.yaml');
    writeFileSync(file, [
      `token: ${TOKEN}`,
      'loki: { url: "http://127.0.0.1:9" }',
      'targets:',
      '  - name: hook',
      '    type: webhook',
      '    url: https://127.0.0.1:9/hook',
      '    tls:',
      `      ca_file: ${pki.caFile}`,
      `      cert_file: ${pki.server.certFile}`,
      `      key_file: ${pki.client.keyFile}`,
      'heartbeat:',
      '  url: https://127.0.0.1:9/ping',
      '  tls: { ca_file: relative/ca.pem }',
      '',
    ].join('\n'));
    assert.throws(() => loadRelayConfig(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, 2);
      assert.equal(e.message, [
        `${file}:13: heartbeat.tls.ca_file: ca_file relative/ca.pem is not an absolute path`,
        `${file}:10: targets[0].tls.key_file: key_file ${pki.client.keyFile} is not the private key of cert_file ${pki.server.certFile}`,
      ].join('\n'));
      return true;
    });
  });
});
