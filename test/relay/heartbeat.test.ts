/**
 * The relay's dead-man switch against the real `imom relay` process: it pings the heartbeat
 * URL (a local HTTP stand-in that records what it receives) only while a Watchdog
 * notification arrived within max_age. Watchdogs stopping (a dead ruler or Alertmanager)
 * stops the pings; a stopped relay stops them too. The test waits for conditions; it asserts
 * what was pinged, never how long anything took.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startChat, type ChatServer } from '../harness/chat.js';
import { removeDir, sleep, tempDir, waitFor, type Daemon } from '../harness/proc.js';
import { startTestRelay } from '../harness/relay.js';

const TOKEN = 'relay-token-0123456789abcdef';
const EVERY_MS = 200;
const MAX_AGE_MS = 1000;

let dir: string;
let stand: ChatServer;
let relay: Daemon;
let relayPort: number;

const pings = () => stand.requests.filter((r) => r.path === '/ping/key-123');

function watchdogBody(status = 'firing'): string {
  return JSON.stringify({
    version: '4', status, receiver: 'heartbeat', groupKey: '{}:{alertname="Watchdog"}', truncatedAlerts: 0,
    groupLabels: { alertname: 'Watchdog' }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
    alerts: [{ status, labels: { alertname: 'Watchdog', severity: 'none' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f' }],
  });
}

async function postWatchdog(): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${relayPort}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: watchdogBody() });
  await r.arrayBuffer();
  return r.status;
}

/** Waits until no ping came for max_age + 3 periods after `since` and returns the count then. */
async function quietAfter(since: number): Promise<number> {
  await sleep(Math.max(0, since + MAX_AGE_MS + 3 * EVERY_MS - Date.now()));
  return pings().length;
}

before(async () => {
  dir = tempDir('heartbeat-test');
  stand = await startChat();
  const r = await startTestRelay({ dir, chatUrl: stand.url, auth: `token: ${TOKEN}`, heartbeat: { url: `${stand.url}/ping/key-123`, everyMs: EVERY_MS, maxAgeMs: MAX_AGE_MS } });
  relay = r.daemon;
  relayPort = r.port;
});

after(async () => {
  await relay?.stop();
  await stand?.stop();
  removeDir(dir);
});

describe('relay heartbeat', () => {
  it('pings nothing before a Watchdog arrives, pings while they arrive, and never posts a Watchdog to chat', async () => {
    await sleep(3 * EVERY_MS);
    assert.equal(pings().length, 0);
    let last = 0;
    await waitFor(async () => { assert.equal(await postWatchdog(), 200); last = Date.now(); return pings().length >= 3; }, 30_000, 'three pings', EVERY_MS);
    assert.equal(stand.requests.filter((r) => r.path === '/hook').length, 0);
    // Watchdogs stop (the ruler, or Alertmanager, died): the pings stop.
    const settled = await quietAfter(last);
    await sleep(5 * EVERY_MS);
    assert.equal(pings().length, settled, 'a ping after the Watchdogs stopped for longer than max_age');
  });

  it('a body without a firing Watchdog does not keep the pings going', async () => {
    const r = await fetch(`http://127.0.0.1:${relayPort}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: watchdogBody('resolved') });
    assert.equal(r.status, 400);
    const before = pings().length;
    await sleep(5 * EVERY_MS);
    assert.equal(pings().length, before);
  });

  it('a stopped relay stops the pings', async () => {
    await waitFor(async () => { await postWatchdog(); return pings().length >= 1; }, 30_000, 'pings again', EVERY_MS);
    await postWatchdog();
    await relay.stop();
    const settled = pings().length;
    await sleep(MAX_AGE_MS + 3 * EVERY_MS);
    assert.equal(pings().length, settled);
  });
});
