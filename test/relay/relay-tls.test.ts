/**
 * The relay's HTTPS listener (listen_tls: cert_file, key_file, client_ca_file) behind the real
 * Alertmanager: Debian's 0.25 and the pinned 0.35, each configured with ruler/alertmanager.yml
 * rendered with http_config.tls_config (amconfig.ts), post an alert over mutual TLS and it
 * reaches chat (a local recording server). Then the failure matrix: one Alertmanager 0.35 with
 * one receiver per row, each posting to its own relay, and for each row the relay's ERROR line
 * and Alertmanager's own log line say what went wrong.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { relayConfigSchema } from '../../agent/src/relay/config.js';
import { Relay } from '../../agent/src/relay/relay.js';
import { startAlertmanager, type AlertmanagerHandle } from '../harness/alertmanager.js';
import { startChat, type ChatServer } from '../harness/chat.js';
import { testPki, type TestPki } from '../harness/pki.js';
import { freePort, REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';

const TOKEN = 'relay-tls-token-0123456789';
const AM_035 = join(REPO_ROOT, '.cache', 'bin', 'alertmanager-0.35');
/** A URL nothing listens on (port 9, discard). */
const NOWHERE = 'https://127.0.0.1:9/alertmanager';

let pki: TestPki;
let chat: ChatServer;
let dir: string;
let tokenFile: string;

interface RunningRelay {
  readonly url: string;
  readonly lines: string[];
  stop(): Promise<void>;
}
const relays: RunningRelay[] = [];

/** An in-process relay on HTTPS with `listen_tls`; its log lines are kept, level first. */
async function startTlsRelay(name: string, listenTls: Record<string, unknown>): Promise<RunningRelay> {
  const port = await freePort();
  const cfg = relayConfigSchema.parse({
    listen: `127.0.0.1:${port}`, token: TOKEN, state_dir: join(dir, name), listen_tls: listenTls,
    loki: { url: 'http://127.0.0.1:9' }, // never queried: the alerts here carry no logql annotation
    retry: { initial: '200ms', max: '1s' },
    targets: [{ name: 'hook', type: 'webhook', url: `${chat.url}/${name}` }],
  });
  const lines: string[] = [];
  const relay = new Relay(cfg, TOKEN, (level, m) => lines.push(`${level} ${m}`));
  await relay.start();
  const r = { url: `https://127.0.0.1:${port}/alertmanager`, lines, stop: () => relay.stop() };
  relays.push(r);
  return r;
}

const mutual = () => ({ cert_file: pki.server.certFile, key_file: pki.server.keyFile, client_ca_file: pki.caFile });
const amClient = () => ({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile });

before(async () => {
  [pki, chat] = await Promise.all([testPki(), startChat()]);
  dir = tempDir('relay-tls');
  tokenFile = join(dir, 'relay.token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
after(async () => {
  await Promise.allSettled([...relays.map((r) => r.stop()), chat?.stop()]);
  if (dir) removeDir(dir);
});

const alert = (host: string, labels: Record<string, string> = {}) => ({
  labels: { alertname: 'CheckCritical', env: 'test', host, check: 'mysql', severity: 'critical', ...labels },
  annotations: { summary: `mysql on ${host} (test) is CRITICAL` },
  startsAt: new Date().toISOString(),
});

describe('Alertmanager posts to the relay over mutual TLS', () => {
  const builds: [string, string | undefined][] = [['0.25 (Debian)', undefined], ['0.35', AM_035]];
  for (const [version, binary] of builds) {
    it(`Alertmanager ${version}, ruler/alertmanager.yml with http_config.tls_config`, { skip: binary && !existsSync(binary) ? `${binary} not built` : false }, async () => {
      const name = `ok-${version.split(' ')[0]!.replace('.', '')}`;
      const relay = await startTlsRelay(name, mutual());
      let am: AlertmanagerHandle | undefined;
      try {
        am = await startAlertmanager({ relayUrl: relay.url, tokenFile, tls: amClient(), ...(binary ? { binary } : {}) });
        await am.postAlerts([alert(`db-${name}`)]);
        const got = await waitFor(() => chat.delivered(`/${name}`).find((r) => r.body.includes(`mysql on db-${name}`)), 30_000, `the alert through ${version}`);
        assert.equal((got.json as { host: string }).host, `db-${name}`);
        assert.deepEqual(relay.lines.filter((l) => l.includes('refused')), []);
      } finally {
        await am?.stop();
      }
    });
  }
});

describe('the listener certificate', () => {
  it('one that ends within expiry_warning (14d) is one ERROR line at start naming the file and the date', async () => {
    const relay = await startTlsRelay('soon', { cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile });
    const expiry = relay.lines.filter((l) => l.includes('TLS certificate'));
    assert.equal(expiry.length, 1);
    assert.match(expiry[0]!, new RegExp(`^ERROR TLS certificate ${pki.soonExpiringClient.certFile.replace(/[.]/g, '\\.')} \\(CN=imom-agent[^)]*\\) expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, in \\d+ (days?|hours?)$`));
  });

  it('listen_tls is checked like every tls block: a key file that is not the certificate\'s is a config error naming the key', () => {
    const r = relayConfigSchema.safeParse({ token: TOKEN, listen_tls: { cert_file: pki.server.certFile, key_file: pki.client.keyFile }, loki: { url: 'http://127.0.0.1:9' }, targets: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/' }] });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => [i.path.join('.'), i.message]), [['listen_tls.key_file', `key_file ${pki.client.keyFile} is not the private key of cert_file ${pki.server.certFile}`]]);
  });
});

/**
 * Each row: the relay's listener, Alertmanager's tls_config for it, the relay's ERROR line
 * (peer port as <port>) and what Alertmanager's log says in its first failed attempt. When the
 * relay refuses Alertmanager's certificate (or its lack of one), Alertmanager sees only the
 * connection end (EOF or broken pipe, whichever its write or read meets first): the reason is
 * in the relay's line alone, so no text of Alertmanager's is asserted for those rows.
 */
const MATRIX: { row: string; listen: () => Record<string, unknown>; am: () => Record<string, unknown>; relayLine: string; amSays?: string }[] = [
  { row: 'unknown-ca', listen: mutual, am: () => ({ ...amClient(), ca_file: pki.otherCaFile }), relayLine: 'ERROR connection from 127.0.0.1:<port> refused: TLS handshake failed: Alertmanager refused our certificate: bad certificate', amSays: 'x509: certificate signed by unknown authority' },
  { row: 'host-mismatch', listen: mutual, am: () => ({ ...amClient(), server_name: 'wrong.example' }), relayLine: 'ERROR connection from 127.0.0.1:<port> refused: TLS handshake failed: Alertmanager refused our certificate: bad certificate', amSays: 'x509: certificate is valid for localhost, not wrong.example' },
  { row: 'expired', listen: () => ({ ...mutual(), cert_file: pki.expiredServer.certFile, key_file: pki.expiredServer.keyFile }), am: amClient, relayLine: 'ERROR connection from 127.0.0.1:<port> refused: TLS handshake failed: Alertmanager refused our certificate: bad certificate', amSays: 'x509: certificate has expired or is not yet valid' },
  { row: 'cert-required', listen: mutual, am: () => ({ ca_file: pki.caFile }), relayLine: 'ERROR connection from 127.0.0.1:<port> refused: TLS handshake failed: Alertmanager sent no client certificate (client_ca_file requires one)' },
  { row: 'cert-refused', listen: mutual, am: () => ({ ...amClient(), cert_file: pki.otherClient.certFile, key_file: pki.otherClient.keyFile }), relayLine: 'ERROR connection from a client refused: TLS handshake failed: the Alertmanager certificate is not trusted: signed by an unknown CA' },
  { row: 'old-protocol', listen: () => ({ ...mutual(), min_version: 'TLS13' }), am: () => ({ ...amClient(), max_version: 'TLS12' }), relayLine: 'ERROR connection from 127.0.0.1:<port> refused: TLS handshake failed: Alertmanager offers no TLS version that min_version allows', amSays: 'remote error: tls: protocol version not supported' },
];

describe('TLS failures between Alertmanager and the relay, in words', { skip: existsSync(AM_035) ? false : `${AM_035} not built` }, () => {
  let am: AlertmanagerHandle;
  const urls = new Map<string, RunningRelay>();

  before(async () => {
    for (const m of MATRIX) urls.set(m.row, await startTlsRelay(m.row, m.listen()));
    // One receiver per row, routed by the alert's `row` label; max_version needs 0.35's tls_config.
    const cfg = {
      route: { receiver: MATRIX[0]!.row, group_by: ['row'], group_wait: '0s', group_interval: '1m', repeat_interval: '1h', routes: MATRIX.map((m) => ({ matchers: [`row="${m.row}"`], receiver: m.row })) },
      receivers: [
        ...MATRIX.map((m) => ({
          name: m.row,
          webhook_configs: [{ url: urls.get(m.row)!.url, send_resolved: false, http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile }, tls_config: m.am() } }],
        })),
        // The receiver startAlertmanager renders (its url is set to NOWHERE); no route leads to it.
        { name: 'relay', webhook_configs: [{ url: NOWHERE }] },
      ],
    };
    const configFile = join(dir, 'am-matrix.yml');
    writeFileSync(configFile, stringify(cfg));
    am = await startAlertmanager({ relayUrl: NOWHERE, tokenFile, configFile, binary: AM_035 });
    await am.postAlerts(MATRIX.map((m) => alert(`db-${m.row}`, { row: m.row })));
  });
  after(async () => {
    await am?.stop();
  });

  for (const m of MATRIX) {
    it(m.row, async () => {
      const relay = urls.get(m.row)!;
      const line = await waitFor(() => relay.lines.find((l) => l.includes('refused')), 30_000, `the relay's line for ${m.row}`);
      assert.equal(line.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<port>'), m.relayLine);
      const amLog = await waitFor(() => readFileSync(join(am.dir, 'alertmanager.log'), 'utf8').split('\n').find((l) => l.includes(`receiver=${m.row} `) && l.includes('msg="Notify attempt failed')), 30_000, `Alertmanager's line for ${m.row}`);
      if (m.amSays) assert.ok(amLog.includes(m.amSays), amLog);
      assert.equal(chat.delivered(`/${m.row}`).length, 0);
    });
  }
});
