/**
 * Alertmanager 0.35 (scripts/setup/alertmanager.sh) as an HA pair: two members gossiping on
 * loopback, both fed by one Loki ruler (ruler.alertmanager_url takes both, comma-separated) and
 * both posting to one relay. Alertmanager HA is at-least-once; the relay's dedupe makes each
 * alert state change reach chat once, also when a member is killed mid-incident. And the one
 * ruler/alertmanager.yml loads on Debian's 0.25 and on 0.35 alike.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { ReplicationPair, MONITOR_PASSWORD } from '../harness/mariadb.js';
import { RedisPair } from '../harness/redis.js';
import { startChat, type ChatServer, type ChatRequest } from '../harness/chat.js';
import { queryRange } from '../harness/loki.js';
import { startAlertmanager, type AlertmanagerHandle } from '../harness/alertmanager.js';
import { freePorts, REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';
import { e2eAgentConfig, spawnImom } from '../harness/cli.js';
import { stackDown, stackUp, type StackState } from '../../agent/src/stack/stack.js';
import { requireBinary } from '../../agent/src/stack/paths.js';

const AM_035 = join(REPO_ROOT, '.cache', 'bin', 'alertmanager-0.35');
const HOST = 'db-ha.example.com';

const Status = z.object({
  cluster: z.object({ status: z.string(), peers: z.array(z.object({ name: z.string() })).nullish() }),
  versionInfo: z.object({ version: z.string() }),
});
async function status(am: AlertmanagerHandle): Promise<z.infer<typeof Status>> {
  return Status.parse(await (await fetch(`${am.url}/api/v2/status`)).json());
}

const Message = z.object({ status: z.string(), alertname: z.string(), check: z.string().optional(), fingerprint: z.string(), dedupe_key: z.string() }).passthrough();
type Message = z.infer<typeof Message>;

function require035(): string {
  if (!existsSync(AM_035)) throw new Error(`${AM_035} not found; run bash scripts/setup/alertmanager.sh`);
  return AM_035;
}

describe('ruler/alertmanager.yml on Alertmanager 0.25 and 0.35', () => {
  test('the rendered config loads on both: each reaches /-/ready and reports its version', async () => {
    const dir = tempDir('am-config');
    try {
      for (const [binary, version] of [[requireBinary('alertmanager'), /^0\.\d+/], [require035(), /^0\.35\./]] as const) {
        const am = await startAlertmanager({ relayUrl: 'http://127.0.0.1:9/alertmanager', tokenFile: join(dir, 'token'), binary });
        try {
          assert.match((await status(am)).versionInfo.version, version, binary);
        } finally {
          await am.stop();
        }
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('two Alertmanager 0.35 in a cluster → one relay → chat', () => {
  let dir: string;
  let stack: StackState | undefined;
  let chat: ChatServer;
  let mysql: ReplicationPair;
  let redis: RedisPair;
  let agent: ChildProcess | undefined;
  let ams: AlertmanagerHandle[] = [];
  const lokiUrl = () => stack!.components.find((c) => c.name === 'loki')!.url;
  const messages = (): Message[] => chat.delivered('/hook').map((r: ChatRequest) => Message.parse(r.json));
  const checkError = (state: string) => messages().filter((m) => m.alertname === 'CheckError' && m.check === 'mysql' && m.status === state);

  before(async () => {
    dir = tempDir('e2e-am-ha');
    const binary = require035();
    chat = await startChat();
    [mysql, redis] = await Promise.all([ReplicationPair.start(), RedisPair.start()]);
    // The relay's port and token file are fixed before the stack exists, so both members can be
    // configured for it and the ruler started with both of them.
    const stackDir = join(dir, 'stack');
    const [relayPort, gossipA, gossipB] = await freePorts(3);
    const relayUrl = `http://127.0.0.1:${relayPort}/alertmanager`;
    const tokenFile = join(stackDir, 'relay.token');
    ams = await Promise.all([
      startAlertmanager({ relayUrl, tokenFile, binary, cluster: { listenPort: gossipA!, peerPorts: [gossipB!] } }),
      startAlertmanager({ relayUrl, tokenFile, binary, cluster: { listenPort: gossipB!, peerPorts: [gossipA!] } }),
    ]);
    for (const am of ams) await waitFor(async () => ((await status(am)).cluster.peers ?? []).length === 2, 60_000, 'both members in the cluster');
    stack = await stackUp({
      dir: stackDir, alertmanager: false, labels: { env: 'e2e', host: HOST },
      lokiEnv: { LOKI_CACHE_RESULTS: 'false', LOKI_RULER_POLL_INTERVAL: '2s', LOKI_ALERTMANAGER_URL: ams.map((a) => a.url).join(',') },
      relay: { port: relayPort, grafanaUrl: 'http://127.0.0.1:3000', targets: [{ name: 'json', type: 'webhook', url: `${chat.url}/hook`, send_resolved: true }] },
    });
    const agentConfig = e2eAgentConfig(dir, HOST, stack.promtail!.checkLogDir, mysql, redis);
    agent = spawnImom(['agent', '--config', agentConfig], { env: { IMOM_MYSQL_PASSWORD: MONITOR_PASSWORD } });
    agent.stdout?.resume();
    agent.stderr?.resume();
    await waitFor(async () => (await queryRange(lokiUrl(), `{job="imom", host="${HOST}", level="OK"}`, { limit: 10 })).length >= 4, 60_000, 'OK lines in Loki');
  });

  after(async () => {
    if (agent && agent.exitCode === null) { agent.kill('SIGTERM'); await once(agent, 'exit'); }
    if (stack) await stackDown(stack.dir);
    await Promise.allSettled([...ams.map((a) => a.stop()), mysql?.stop(), redis?.stop(), chat?.stop()]);
    removeDir(dir);
  });

  test('a stopped SQL thread fires and resolves in chat once each, though one member is killed mid-incident', async () => {
    await mysql.replica.sql('STOP SLAVE SQL_THREAD');
    await waitFor(() => checkError('firing').length > 0, 120_000, 'CheckError firing in chat');
    // Both members hold the alert: the ruler posts to each.
    for (const am of ams) await waitFor(async () => (await am.alerts()).some((a) => a.labels.alertname === 'CheckError'), 60_000, 'CheckError on every member');

    await ams[0]!.kill();
    await mysql.replica.sql('START SLAVE SQL_THREAD');
    await waitFor(() => checkError('resolved').length > 0, 240_000, 'CheckError resolved in chat');

    assert.equal(checkError('firing').length, 1, 'firing posted more than once');
    assert.equal(checkError('resolved').length, 1, 'resolved posted more than once');
    // Any other alert (a replica resyncing after the repair may report its link down) once per state too.
    const keys = messages().map((m) => m.dedupe_key);
    assert.equal(new Set(keys).size, keys.length, 'a notification was posted twice');
  });
});
