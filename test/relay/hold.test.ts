/**
 * The relay's hold on false resolutions (agent/src/relay/hold.ts), against the real `imom relay`
 * process, with webhook bodies as Alertmanager sends them: while an AgentSilent fires for a
 * host, a RESOLVED of that host's check alerts is held (also across a relay kill -9), a held
 * one whose alert fires again is dropped, and the rest are posted once the host reports again.
 * test/e2e/alerts.test.ts shows the same through the real agent, ruler and Alertmanager.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startChat, type ChatServer } from '../harness/chat.js';
import { removeDir, sleep, tempDir, waitFor } from '../harness/proc.js';
import { startTestRelay, type TestRelay } from '../harness/relay.js';

const TOKEN = 'relay-token-0123456789abcdef';

let dir: string;
let chat: ChatServer;
let relay: TestRelay;
let port: number;

interface Posted { status: string; alertname: string; host: string; fingerprint: string; starts_at: string }
const posted = () => chat.delivered('/hook').map((r) => r.json as Posted);

async function health(): Promise<{ queued: number; held: number }> {
  return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { queued: number; held: number };
}

/** One alert as Alertmanager's webhook carries it. */
function alert(status: 'firing' | 'resolved', alertname: string, host: string, fingerprint: string, startsAt: string, target?: string) {
  return {
    status, fingerprint, startsAt, endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z', generatorURL: '',
    labels: { alertname, env: 'test', host, check: alertname === 'AgentSilent' ? 'agent' : 'mysql', severity: 'critical', ...(target ? { target } : {}) },
    annotations: { summary: `${alertname} ${host} ${target ?? ''}` },
  };
}

async function post(...alerts: ReturnType<typeof alert>[]): Promise<{ queued: number; duplicates: number; held: number }> {
  return postTo(port, ...alerts);
}

async function postTo(port: number, ...alerts: ReturnType<typeof alert>[]): Promise<{ queued: number; duplicates: number; held: number }> {
  const body = { version: '4', groupKey: 'g', truncatedAlerts: 0, status: alerts[0]!.status, receiver: 'relay', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '', alerts };
  const r = await fetch(`http://127.0.0.1:${port}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  const a = (await r.json()) as { queued: number; duplicates: number; held?: number };
  return { ...a, held: a.held ?? 0 };
}

/** Everything the relay accepted has reached chat. */
const drained = () => waitFor(async () => (await health()).queued === 0, 20_000, 'relay queue drained');

before(async () => {
  dir = tempDir('relay-hold');
  chat = await startChat();
  relay = await startTestRelay({ dir, chatUrl: chat.url, auth: `token: ${TOKEN}` });
  port = relay.port;
});

after(async () => {
  await relay?.daemon.stop();
  await chat?.stop();
  removeDir(dir);
});

describe('relay hold_resolved', () => {
  it('holds a silent host\'s RESOLVED across a restart, drops one whose alert fired again, posts the rest when the host reports again', async () => {
    const t0 = new Date(Date.now() - 600_000).toISOString();
    await post(alert('firing', 'AgentSilent', 'db1', 'silent-db1', t0));
    // db1 is silent: its check alerts' resolutions are held; db2's is not.
    assert.equal((await post(alert('resolved', 'CheckError', 'db1', 'fp-a', t0, 'replica-a'))).held, 1);
    assert.equal((await post(alert('resolved', 'CheckError', 'db2', 'fp-c', t0, 'replica-c'))).held, 1);
    await drained();
    assert.deepEqual(posted().filter((m) => m.status === 'resolved').map((m) => m.fingerprint), ['fp-c']);

    // kill -9: hold.json keeps what was held.
    await relay.daemon.kill();
    await relay.restart();
    assert.equal((await health()).held, 1);
    assert.equal((await post(alert('resolved', 'CheckError', 'db1', 'fp-b', t0, 'replica-b'))).held, 2);
    // Alertmanager sending the same RESOLVED again holds it once.
    assert.equal((await post(alert('resolved', 'CheckError', 'db1', 'fp-b', t0, 'replica-b'))).held, 2);

    // replica-a fires again (a new startsAt): its held RESOLVED is superseded, the firing is posted.
    const t1 = new Date().toISOString();
    assert.equal((await post(alert('firing', 'CheckError', 'db1', 'fp-a', t1, 'replica-a'))).held, 1);
    // The host reports again: replica-b's RESOLVED goes out, with AgentSilent's.
    assert.equal((await post(alert('resolved', 'AgentSilent', 'db1', 'silent-db1', t0))).held, 0);
    await drained();
    const resolved = posted().filter((m) => m.status === 'resolved').map((m) => `${m.alertname}/${m.fingerprint}`).sort();
    assert.deepEqual(resolved, ['AgentSilent/silent-db1', 'CheckError/fp-b', 'CheckError/fp-c']);
    assert.equal(posted().filter((m) => m.fingerprint === 'fp-a' && m.status === 'firing').length, 1);
    // Nothing was posted twice.
    const keys = chat.delivered('/hook').map((r) => (r.json as { dedupe_key: string }).dedupe_key);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('releases what an AgentSilent held once that AgentSilent was not received for silent_max_age (its resolution was lost)', async () => {
    const d = tempDir('relay-hold-expiry');
    const other = await startTestRelay({ dir: d, chatUrl: `${chat.url}/expiry`, auth: `token: ${TOKEN}`, extra: 'hold_resolved: { silent_max_age: 1s }' });
    try {
      const t0 = new Date(Date.now() - 600_000).toISOString();
      await postTo(other.port, alert('firing', 'AgentSilent', 'db7', 'silent-db7', t0));
      assert.equal((await postTo(other.port, alert('resolved', 'CheckError', 'db7', 'fp-x', t0, 'replica-x'))).held, 1);
      // Past silent_max_age with no AgentSilent repeat: the next webhook finds it ended.
      await sleep(1_500);
      assert.equal((await postTo(other.port, alert('firing', 'CheckError', 'db8', 'fp-y', t0, 'replica-y'))).held, 0);
      await waitFor(() => chat.delivered('/expiry/hook').some((r) => (r.json as Posted).fingerprint === 'fp-x' && (r.json as Posted).status === 'resolved'), 20_000, 'the released RESOLVED in chat');
    } finally {
      await other.daemon.stop();
      removeDir(d);
    }
  });
});
