/**
 * The dead-man switch end to end: the real Loki ruler (ruler/rules) fires Watchdog, the real
 * Alertmanager (ruler/alertmanager.yml) sends it to the relay's /heartbeat, and the relay pings a
 * local HTTP stand-in for the heartbeat service. Stop the ruler (Loki), then Alertmanager, then
 * the relay: each time the pings stop within the time the configuration gives, which is each
 * waitFor's deadline; nothing else here is timed.
 *
 * Shortened for the test only (the shipped values in brackets): Watchdog's group interval 2s
 * (30s), the ruler's resend_delay 2s (1m), the Watchdog route's group_interval and
 * repeat_interval 2s (1m), the relay's heartbeat every 1s (1m) and max_age 8s (3m).
 */
import { after, before, describe, test } from 'node:test';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { startAlertmanager, type AlertmanagerHandle } from '../harness/alertmanager.js';
import { startChat, type ChatServer } from '../harness/chat.js';
import { startLoki, type LokiHandle } from '../harness/loki.js';
import { freePort, REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';
import { startTestRelay, type TestRelay } from '../harness/relay.js';

const TOKEN = 'relay-token-0123456789abcdef';
const EVERY_MS = 1_000;
const MAX_AGE_MS = 8_000;
const RESEND_MS = 2_000;
const AM_REPEAT_MS = 2_000;
/** Quiet for this long (three ping periods) counts as stopped. */
const QUIET_MS = 3 * EVERY_MS;
/**
 * The configured bounds, each the deadline of its waitFor (plus QUIET_MS to see the quiet, and
 * 10 s for a loaded machine). A dead Alertmanager: the newest Watchdog ages past max_age.
 * A dead ruler: Alertmanager keeps the Watchdog until its endsAt, 4 x max(group interval,
 * resend_delay) after the ruler's last send (Prometheus' notifier rule), then sends no more.
 * A dead relay pings nothing at once.
 */
const AM_DEAD_MS = AM_REPEAT_MS * 2 + MAX_AGE_MS + EVERY_MS + QUIET_MS + 10_000;
const RULER_DEAD_MS = 4 * RESEND_MS + AM_DEAD_MS;
const RELAY_DEAD_MS = EVERY_MS + QUIET_MS + 10_000;

let dir: string;
let stand: ChatServer;
let loki: LokiHandle;
let am: AlertmanagerHandle;
let relay: TestRelay;
let amTemplate: string;
let relayPort: number;
let tokenFile: string;

const pings = () => stand.requests.filter((r) => r.path === '/ping/chain');
const lastPing = () => pings().at(-1)?.at ?? 0;
const pinging = (since: number) => waitFor(() => pings().some((p) => p.at > since), 120_000, 'pings (again)');
const stopped = (deadline: number, what: string) => waitFor(() => Date.now() - lastPing() > QUIET_MS, deadline, `pings stopped after ${what}`);
const startAm = (port?: number) => startAlertmanager({ relayUrl: `http://127.0.0.1:${relayPort}/alertmanager`, tokenFile, configFile: amTemplate, ...(port ? { port } : {}) });

/** ruler/alertmanager.yml with the Watchdog route's group_interval and repeat_interval shortened. */
function watchdogRouteShortened(file: string): string {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'ruler/alertmanager.yml'), 'utf8'));
  const routes = doc.getIn(['route', 'routes'], true);
  const wd = isSeq(routes) ? routes.items.find((r) => isMap(r) && String((r as YAMLMap).toJSON().matchers).includes('Watchdog')) : undefined;
  if (!isMap(wd)) throw new Error('ruler/alertmanager.yml has no Watchdog route');
  wd.set('group_interval', `${AM_REPEAT_MS / 1000}s`);
  wd.set('repeat_interval', `${AM_REPEAT_MS / 1000}s`);
  writeFileSync(file, doc.toString());
  return file;
}

describe('Watchdog: ruler → Alertmanager → relay → heartbeat service', () => {
  before(async () => {
    dir = tempDir('e2e-watchdog');
    stand = await startChat();
    relayPort = await freePort();
    tokenFile = join(dir, 'relay.token');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    const rules = join(dir, 'rules');
    cpSync(join(REPO_ROOT, 'ruler/rules'), rules, { recursive: true });
    const f = join(rules, 'fake/imom.yaml');
    const text = readFileSync(f, 'utf8');
    const shortened = text.replace(/(- name: imom-watchdog\n\s+interval: )30s/, `$1${RESEND_MS / 1000}s`);
    if (shortened === text) throw new Error('no imom-watchdog group with interval: 30s in ruler/rules/fake/imom.yaml');
    writeFileSync(f, shortened);
    amTemplate = watchdogRouteShortened(join(dir, 'alertmanager.yml'));
    relay = await startTestRelay({ dir, chatUrl: stand.url, port: relayPort, auth: `token_file: ${tokenFile}`, heartbeat: { url: `${stand.url}/ping/chain`, everyMs: EVERY_MS, maxAgeMs: MAX_AGE_MS } });
    am = await startAm();
    loki = await startLoki({ rulesDir: rules, alertmanagerUrl: am.url, env: { LOKI_RULER_POLL_INTERVAL: '2s', LOKI_RULER_RESEND_DELAY: `${RESEND_MS / 1000}s` } });
  });

  after(async () => {
    await Promise.allSettled([loki?.close(), am?.stop(), relay?.daemon.stop()]);
    await stand?.stop();
    removeDir(dir);
  });

  test('the pings stop when the ruler, then Alertmanager, then the relay stops, each within its configured time', async () => {
    await pinging(0);

    await loki.stop();
    await stopped(RULER_DEAD_MS, 'the ruler (Loki) stopped');
    const quietSince = Date.now();
    await loki.restart();
    await pinging(quietSince);

    const amPort = am.port;
    await am.stop();
    await stopped(AM_DEAD_MS, 'Alertmanager stopped');
    const amQuiet = Date.now();
    am = await startAm(amPort);
    await pinging(amQuiet);

    await relay.daemon.stop();
    await stopped(RELAY_DEAD_MS, 'the relay stopped');
  });
});
