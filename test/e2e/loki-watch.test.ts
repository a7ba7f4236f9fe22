/**
 * The pipeline watches itself, every piece real: the agent's loki check watches the stack's own
 * Loki and a second Loki member → its LOG_FILE → Promtail → the stack's Loki (ruler on
 * ruler/rules, loki.yaml included) → Alertmanager → imom relay → a local HTTP server standing in
 * for chat. The fault is real: the second member killed with -9, then restarted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startChat, type ChatServer, type ChatRequest } from '../harness/chat.js';
import { queryRange, startLoki, type LokiHandle } from '../harness/loki.js';
import { REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';
import { spawnImom, stripStamp, writeConfig } from '../harness/cli.js';
import { stackDown, stackUp, type StackState } from '../../agent/src/stack/stack.js';

interface Message { status: string; alertname: string; severity: string; summary: string; host: string; check: string; lines: { line: string }[] }

let dir: string;
let stack: StackState;
let chat: ChatServer;
let watched: LokiHandle;
let agent: ChildProcess | undefined;
const HOST = 'mon-01.example.com';

const lokiUrl = () => stack.components.find((c) => c.name === 'loki')!.url;
const messages = (): Message[] => chat.delivered('/hook').map((r: ChatRequest) => r.json as Message);
const find = (pred: (m: Message) => boolean) => messages().filter(pred);

describe('loki check → Promtail → Loki ruler (loki.yaml) → Alertmanager → relay → chat', () => {
  before(async () => {
    dir = tempDir('e2e-loki-watch');
    chat = await startChat();
    stack = await stackUp({
      dir: join(dir, 'stack'), rulesDir: join(REPO_ROOT, 'ruler/rules'), labels: { env: 'e2e', host: HOST },
      lokiEnv: { LOKI_CACHE_RESULTS: 'false', LOKI_RULER_POLL_INTERVAL: '2s' },
      relay: { grafanaUrl: 'http://127.0.0.1:3000', targets: [{ name: 'json', type: 'webhook', url: `${chat.url}/hook`, send_resolved: true }] },
    });
    watched = await startLoki();
    const config = writeConfig(dir, `
env: e2e
host: ${HOST}
interval: 2s
timeout: 2s
state_dir: ${dir}/state
outputs:
  file: { path: "${stack.promtail!.checkLogDir}/{check}.{instance}.log" }
checks:
  loki:
    - name: logs
      url: [${lokiUrl()}, ${watched.url}]
`);
    agent = spawnImom(['agent', '--config', config]);
    agent.stdout?.resume();
    agent.stderr?.resume();
    await waitFor(async () => (await queryRange(lokiUrl(), `{job="imom", host="${HOST}", check="loki", level="OK"}`, { limit: 10 })).length >= 4, 60_000, 'the loki check\'s OK lines in Loki');
  });

  after(async () => {
    if (agent && agent.exitCode === null) { agent.kill('SIGTERM'); await once(agent, 'exit'); }
    if (stack) await stackDown(stack.dir);
    await Promise.allSettled([watched?.close(), chat?.stop()]);
    if (dir) removeDir(dir);
  });

  test('a member killed with -9 reaches chat as LokiMemberDown with its line, once, not as CheckCritical; resolved after its restart', async () => {
    const member = `127.0.0.1:${watched.port}`;
    const t0 = Date.now();
    await watched.kill();
    const [down] = await waitFor(() => { const m = find((x) => x.alertname === 'LokiMemberDown' && x.status === 'firing'); return m.length ? m : undefined; }, 90_000, 'LokiMemberDown in chat');
    const fired = (Date.now() - t0) / 1000;
    assert.equal(down!.summary, `Loki member ${member} (logs) is not ready or unreachable from ${HOST}`);
    assert.equal(down!.severity, 'critical');
    assert.equal(down!.check, 'loki');
    assert.ok(down!.lines.some((l) => stripStamp(l.line).startsWith(`CRITICAL: Loki member ${member} is unreachable (`)), JSON.stringify(down!.lines));

    await watched.restart();
    const t1 = Date.now();
    await waitFor(() => find((x) => x.alertname === 'LokiMemberDown' && x.status === 'resolved').length > 0, 240_000, 'LokiMemberDown resolved');
    console.log(`kill -9 to LokiMemberDown in chat: ${fired.toFixed(1)} s; restart to resolved: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.equal(find((x) => x.alertname === 'LokiMemberDown' && x.status === 'firing').length, 1, 'LokiMemberDown firing posted once');
    // The generic rules skip check="loki": no second page for the same fault.
    assert.deepEqual(find((x) => x.check === 'loki' && x.alertname !== 'LokiMemberDown').map((x) => `${x.alertname} ${x.status}`), []);
  });
});
