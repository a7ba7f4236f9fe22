/**
 * The whole chain, every piece real: the agent → its LOG_FILEs → Promtail → Loki (ruler on
 * ruler/rules) → Alertmanager (ruler/alertmanager.yml) → imom relay → a local HTTP server
 * standing in for chat. Faults are real: a replica's SQL thread stopped, a Redis role flip,
 * the agent killed with -9.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ReplicationPair, MONITOR_PASSWORD } from '../harness/mariadb.js';
import { RedisPair } from '../harness/redis.js';
import { startChat, type ChatServer, type ChatRequest } from '../harness/chat.js';
import { queryRange } from '../harness/loki.js';
import { REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';
import { e2eAgentConfig, spawnImom, stripStamp } from '../harness/cli.js';
import { stackDown, stackUp, type StackState } from '../../agent/src/stack/stack.js';
import { parseExploreUrl } from '../../agent/src/relay/explore.js';

interface Message { status: string; alertname: string; severity: string; summary: string; host: string; check: string; fingerprint: string; starts_at: string; lines: { line: string }[]; explore_url: string | null; dedupe_key: string }

let dir: string;
let stack: StackState;
let chat: ChatServer;
let mysql: ReplicationPair;
let redis: RedisPair;
let agent: ChildProcess | undefined;
let agentConfig: string;
const HOST = 'db-01.example.com';

const lokiUrl = () => stack.components.find((c) => c.name === 'loki')!.url;
const messages = (): Message[] => chat.delivered('/hook').map((r: ChatRequest) => r.json as Message);
const find = (pred: (m: Message) => boolean) => messages().filter(pred);

function startAgent(): ChildProcess {
  const p = spawnImom(['agent', '--config', agentConfig], { env: { IMOM_MYSQL_PASSWORD: MONITOR_PASSWORD } });
  p.stderr?.resume();
  p.stdout?.resume();
  return p;
}

describe('agent → Promtail → Loki ruler → Alertmanager → relay → chat', () => {
  before(async () => {
    dir = tempDir('e2e-alerts');
    // The real rules; only AgentSilent's N (5m) and its group interval, and the check rules'
    // 10m window (60s here: 30 lines at the agent's 2s interval), are shortened so a test can
    // wait for them. N stays below the window, as 5m is below 10m.
    const rules = join(dir, 'rules');
    cpSync(join(REPO_ROOT, 'ruler/rules'), rules, { recursive: true });
    const f = join(rules, 'fake/imom.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('[5m]))', '[20s]))').replace('interval: 30s', 'interval: 5s').replaceAll('[10m]', '[60s]'));
    chat = await startChat();
    [mysql, redis] = await Promise.all([ReplicationPair.start(), RedisPair.start()]);
    stack = await stackUp({
      dir: join(dir, 'stack'), rulesDir: rules, labels: { env: 'e2e', host: HOST },
      lokiEnv: { LOKI_CACHE_RESULTS: 'false', LOKI_RULER_POLL_INTERVAL: '2s' },
      relay: {
        grafanaUrl: 'http://127.0.0.1:3000',
        targets: [
          { name: 'json', type: 'webhook', url: `${chat.url}/hook`, send_resolved: true },
          { name: 'slack', type: 'slack', url: `${chat.url}/slack` },
        ],
      },
    });
    agentConfig = e2eAgentConfig(dir, HOST, stack.promtail!.checkLogDir, mysql, redis);
    agent = startAgent();
    await waitFor(async () => (await queryRange(lokiUrl(), `{job="imom", host="${HOST}", level="OK"}`, { limit: 10 })).length >= 4, 60_000, 'OK lines in Loki');
  });

  after(async () => {
    if (agent && agent.exitCode === null) { agent.kill('SIGTERM'); await once(agent, 'exit'); }
    if (stack) await stackDown(stack.dir);
    await Promise.allSettled([mysql?.stop(), redis?.stop(), chat?.stop()]);
    removeDir(dir);
  });

  test('a stopped SQL thread and a Redis role flip reach chat with the line and a working Explore link, once each; resolved after the repair', async () => {
    await mysql.replica.sql('STOP SLAVE SQL_THREAD');
    await redis.replica.cli('REPLICAOF', 'NO', 'ONE');

    const [err] = await waitFor(() => { const m = find((x) => x.alertname === 'CheckError' && x.status === 'firing' && x.check === 'mysql'); return m.length ? m : undefined; }, 90_000, 'CheckError in chat');
    const [crit] = await waitFor(() => { const m = find((x) => x.alertname === 'CheckCritical' && x.status === 'firing' && x.check === 'redis'); return m.length ? m : undefined; }, 90_000, 'CheckCritical in chat');
    assert.match(err!.summary, new RegExp(`^mysql \\S+ 127\\.0\\.0\\.1:\\d+ on ${HOST.replaceAll('.', '\\.')} \\(e2e\\) reports ERROR$`));
    assert.equal(err!.severity, 'error');
    assert.equal(err!.host, HOST);
    // Lines reach chat as the LOG_FILE has them: timestamp prefix and all.
    assert.ok(err!.lines.some((l) => /^Status=ERROR, Slave=127\.0\.0\.1:\d+, .*Slave_SQL_Running=No$/.test(stripStamp(l.line))), JSON.stringify(err!.lines));
    assert.ok(crit!.summary.startsWith('redis ') && crit!.summary.includes(`${redis.replica.address} on ${HOST} (e2e) is CRITICAL`), crit!.summary);
    assert.ok(crit!.lines.some((l) => stripStamp(l.line) === `CRITICAL: Node ${redis.replica.address} is expected to be slave but found master`));
    // The Explore link opens exactly those lines: run its query against Loki.
    const ex = parseExploreUrl(err!.explore_url!);
    assert.ok(ex && ex.expr.includes(`host="${HOST}"`), err!.explore_url ?? 'no link');
    const viaLink = await queryRange(lokiUrl(), ex!.expr, { start: ex!.fromMs, end: ex!.toMs, limit: 50 });
    assert.ok(viaLink.some((e) => e.line.includes('Slave_SQL_Running=No')));
    // Slack got the same alert, with the offending line in its text.
    assert.ok(chat.delivered('/slack').some((r) => r.body.includes('Slave_SQL_Running=No')));

    await mysql.replica.sql('START SLAVE SQL_THREAD');
    await redis.replica.cli('REPLICAOF', '127.0.0.1', String(redis.master.port));
    // A target's last line decides: each alert resolves on that target's next OK line.
    await waitFor(() => find((x) => x.status === 'resolved' && x.alertname === 'CheckError' && x.check === 'mysql').length > 0, 240_000, 'CheckError resolved');
    await waitFor(() => find((x) => x.status === 'resolved' && x.alertname === 'CheckCritical' && x.check === 'redis').length > 0, 60_000, 'CheckCritical resolved');

    // Dozens of evaluations (every 5s) happened while both fired: each notification was posted once.
    const keys = messages().map((m) => m.dedupe_key);
    assert.equal(new Set(keys).size, keys.length, 'a notification was posted twice');
    // Per alert (its fingerprint: one target): a replica that resyncs after the repair may report
    // its link down for a few cycles, and that is an alert of its own, not a repeat.
    for (const [name, check] of [['CheckError', 'mysql'], ['CheckCritical', 'redis']] as const) {
      const firing = find((x) => x.alertname === name && x.status === 'firing');
      assert.equal(firing.filter((x) => x.check === check).length, 1, `${name} for ${check} firing posted more than once`);
      const perAlert = new Map<string, number>();
      for (const m of firing) perAlert.set(m.fingerprint, (perAlert.get(m.fingerprint) ?? 0) + 1);
      for (const [fp, n] of perAlert) assert.equal(n, 1, `${name} ${fp} firing posted ${n} times`);
    }
  });

  test('the agent killed with -9 mid-incident: AgentSilent reaches chat, no RESOLVED while the host is silent, and it resolves once the host reports again', async () => {
    const checkError = (status: string) => find((x) => x.alertname === 'CheckError' && x.check === 'mysql' && x.status === status);
    const firedBefore = checkError('firing').length;
    await mysql.replica.sql('STOP SLAVE SQL_THREAD');
    await waitFor(() => checkError('firing').length > firedBefore, 90_000, 'CheckError firing again');
    const incident = checkError('firing').at(-1)!;
    const resolvedOf = () => checkError('resolved').filter((x) => x.fingerprint === incident.fingerprint && x.starts_at === incident.starts_at);

    agent!.kill('SIGKILL');
    await once(agent!, 'exit');
    const [silent] = await waitFor(() => { const m = find((x) => x.alertname === 'AgentSilent' && x.status === 'firing'); return m.length ? m : undefined; }, 120_000, 'AgentSilent in chat');
    assert.equal(silent!.host, HOST);
    assert.equal(silent!.severity, 'critical');
    // The incident's lines have left the (shortened) window: the ruler resolved it, Alertmanager
    // sent the RESOLVED, and the relay holds it, as AgentSilent fires for the host.
    const relayUrl = stack.components.find((c) => c.name === 'relay')!.url;
    await waitFor(async () => ((await (await fetch(`${relayUrl}/healthz`)).json()) as { held?: number }).held! >= 1, 180_000, 'the RESOLVED held by the relay');
    assert.deepEqual(resolvedOf(), [], 'a RESOLVED reached chat while the host was silent');
    assert.equal(find((x) => x.alertname === 'AgentSilent' && x.status === 'resolved').length, 0);

    // Repaired while the agent was down; the agent is back: AgentSilent resolves and the held RESOLVED is posted.
    await mysql.replica.sql('START SLAVE SQL_THREAD');
    agent = startAgent();
    await waitFor(() => find((x) => x.alertname === 'AgentSilent' && x.status === 'resolved').length > 0, 120_000, 'AgentSilent resolved');
    await waitFor(() => resolvedOf().length > 0, 120_000, 'the incident resolved in chat');
    assert.equal(resolvedOf().length, 1, 'RESOLVED posted once');
  });
});
