/**
 * `imom stack up --ha`: the store, three Loki members, nginx, Alertmanager, the relay and
 * Promtail; `stack status` shows each member, the entry point and the ring. With one member
 * killed -9, a CRITICAL check line still fires the ruler's alert (the real ruler/rules, loaded
 * through the ruler API) into the chat stand-in, exactly once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startChat, type ChatServer } from '../harness/chat.js';
import { freePorts, REPO_ROOT, removeDir, run, tempDir, waitFor } from '../harness/proc.js';
import { stackDown, stackUp, type StackState } from '../../agent/src/stack/stack.js';
import { checkLine } from '../promtail/util.js';

const dir = tempDir('stack-ha');
const HOST = 'db-ha-01.example.com';
let chat: ChatServer;
let stack: StackState;
const imom = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'agent/src/cli/bin.ts'), ...args], { cwd: REPO_ROOT, allowFail: true, timeoutMs: 60_000 });

before(async () => {
  chat = await startChat();
  const [loki, lokiGrpc, promtail, alertmanager, relay] = await freePorts(5);
  stack = await stackUp({
    dir, ha: true, labels: { env: 'prod', host: HOST }, ports: { loki, lokiGrpc, promtail, alertmanager },
    lokiEnv: { LOKI_CACHE_RESULTS: 'false', LOKI_RULER_POLL_INTERVAL: '2s', LOKI_LOG_LEVEL: 'warn' },
    relay: { port: relay, targets: [{ name: 'json', type: 'webhook', url: `${chat.url}/hook`, send_resolved: true }] },
  });
});

after(async () => {
  if (stack) await stackDown(stack.dir);
  await chat?.stop();
  removeDir(dir);
});

test('stack up --ha: store, three members, nginx, Alertmanager, relay, Promtail; status shows members, entry point and ring', async () => {
  assert.deepEqual(stack.components.map((c) => c.instance ?? c.name), ['alertmanager', 'store', 'loki-1', 'loki-2', 'loki-3', 'nginx', 'relay', 'promtail']);
  assert.ok(stack.ha && stack.ha.rules > 0, 'rule groups loaded through the ruler API');
  // The rules live in the ruler bucket (a folder of the store), not in any member's folder.
  const rulerBucket = stack.ha.bucketDirs[1]!;
  assert.ok(readdirSync(join(rulerBucket, 'rules', 'fake')).length > 0, `rule groups in ${rulerBucket}`);
  const st = await imom('stack', 'status', '--dir', dir);
  assert.equal(st.code, 0, st.stdout + st.stderr);
  for (const id of ['loki-1', 'loki-2', 'loki-3']) {
    assert.match(st.stdout, new RegExp(`^${id} +pid \\d+ +http://127\\.0\\.0\\.1:\\d+ +ready`, 'm'));
    assert.match(st.stdout, new RegExp(`^ring +${id} +ACTIVE 127\\.0\\.0\\.1:\\d+$`, 'm'));
  }
  assert.match(st.stdout, new RegExp(`^entry point +${stack.ha.entry.replaceAll('.', '\\.')} `, 'm'));
  assert.match(st.stdout, /^nginx +pid \d+ +http:\/\/127\.0\.0\.1:\d+ +ready/m);
  assert.match(st.stdout, /^store +pid \d+ +http:\/\/127\.0\.0\.1:\d+ +ready/m);
});

test('one member killed -9: a CRITICAL line still reaches chat through the cluster, exactly once', { timeout: 300_000 }, async () => {
  const victim = stack.components.find((c) => c.instance === 'loki-2')!;
  process.kill(victim.pid, 'SIGKILL');
  const st = await imom('stack', 'status', '--dir', dir);
  assert.equal(st.code, 1, 'status reports the dead member');
  assert.match(st.stdout, /^loki-2 +pid \d+ +\S+ +not running/m);

  const line = checkLine(new Date(), 'CRITICAL: Node 10.0.0.7:6379 is expected to be master but found slave');
  appendFileSync(join(stack.promtail!.checkLogDir, 'redis.log'), line + '\n');
  type Msg = { status: string; alertname: string; host: string; check: string; fingerprint: string };
  const firing = () => chat.delivered('/hook').map((r) => r.json as Msg).filter((m) => m.alertname === 'CheckCritical' && m.status === 'firing' && m.host === HOST);
  const [first] = await waitFor(() => (firing().length ? firing() : undefined), 240_000, 'CheckCritical in chat');
  assert.equal(first!.check, 'redis');
  // Several evaluations (every 5 s) and the relay's retries later, still one message.
  const evals = async (n: number) => {
    const t = Date.now();
    await waitFor(() => Date.now() - t > n * 5_000, n * 5_000 + 5_000, `${n} rule evaluations`, 500);
  };
  await evals(4);
  assert.equal(firing().length, 1, JSON.stringify(firing()));
});

test('stack down stops every component, nginx before the members and the store after them', async () => {
  const down = await stackDown(dir);
  assert.deepEqual(down.map((c) => c.name), ['promtail', 'nginx', 'loki', 'loki', 'loki', 'store', 'alertmanager', 'relay']);
  assert.deepEqual(down.filter((c) => c.was === 'stopped').length, 7, 'all but the member killed before');
  assert.ok(readdirSync(stack.ha!.bucketDirs[0]!).length > 0, 'the bucket folder is kept');
});
