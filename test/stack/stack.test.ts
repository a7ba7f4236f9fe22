/**
 * `imom stack up|status|down` as an operator runs it: separate processes, state in
 * the stack folder, loopback ports, and a check line shipped end to end.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, REPO_ROOT, removeDir, run, tempDir, waitFor } from '../harness/proc.js';
import { queryRange, waitForCount } from '../harness/loki.js';
import { pidAlive } from '../../agent/src/stack/process.js';
import { componentAlive, type StackState } from '../../agent/src/stack/stack.js';
import { checkLine } from '../promtail/util.js';

const dir = tempDir('stack');
const imom = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'agent/src/cli/bin.ts'), ...args], { cwd: REPO_ROOT, allowFail: true, timeoutMs: 180_000 });

after(async () => {
  await imom('stack', 'down', '--dir', dir);
  removeDir(dir);
});

test('stack up, status, up again, down', async () => {
  const amConfig = join(dir, 'alertmanager.yml');
  writeFileSync(amConfig, 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const [lp, gp, pp, ap] = (await freePorts(4)).map(String) as [string, string, string, string];
  const up = await imom('stack', 'up', '--dir', dir, '--loki-port', lp, '--loki-grpc-port', gp, '--promtail-port', pp, '--alertmanager-port', ap,
    '--alertmanager-config', amConfig, '--env', 'prod', '--host', 'db-mon-01.example.com', '--app', 'pay', '--app-host', 'pay.example.com', '--server', 'pay-01');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, new RegExp(`loki +pid \\d+ +http://127\\.0\\.0\\.1:${lp}`));

  const state = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackState;
  assert.deepEqual(state.components.map((c) => c.name), ['alertmanager', 'loki', 'promtail']);
  for (const c of state.components) {
    assert.ok(pidAlive(c.pid), `${c.name} running`);
    assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  }
  const loki = state.components.find((c) => c.name === 'loki')!;
  assert.deepEqual(loki.ports, { http: Number(lp), grpc: Number(gp) });

  // Ruler -> Alertmanager wiring: Loki was given this Alertmanager's URL.
  const cfg = await (await fetch(`${loki.url}/config`)).text();
  assert.ok(cfg.includes(`alertmanager_url: http://127.0.0.1:${ap}`));

  const status = await imom('stack', 'status', '--dir', dir);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  for (const name of ['alertmanager', 'loki', 'promtail']) assert.match(status.stdout, new RegExp(`^${name} +pid \\d+ +http://127\\.0\\.0\\.1:\\d+ +ready`, 'm'));
  const js = JSON.parse((await imom('stack', 'status', '--dir', dir, '--json')).stdout) as { components: { name: string; ready: boolean }[] };
  assert.ok(js.components.every((c) => c.ready));

  // The stack's Promtail ships a check log written where the agent would write it.
  const line = checkLine(new Date(), 'Status=ERROR, Slave=127.0.0.14, Seconds_Behind_Master=270');
  appendFileSync(join(state.promtail!.checkLogDir, 'mysql.log'), line + '\n');
  await waitForCount(loki.url, '{job="imom", check="mysql"}', 1);
  const got = await queryRange(loki.url, '{job="imom", env="prod", host="db-mon-01.example.com", check="mysql", level="ERROR"}');
  assert.deepEqual(got.map((e) => e.line), [line]);

  const again = await imom('stack', 'up', '--dir', dir);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already running/);

  const down = await imom('stack', 'down', '--dir', dir);
  assert.equal(down.code, 0, down.stderr);
  for (const name of ['promtail', 'loki', 'alertmanager']) assert.match(down.stdout, new RegExp(`^${name} +pid \\d+ +stopped`, 'm'));
  for (const c of state.components) assert.ok(!pidAlive(c.pid), `${c.name} stopped`);
  assert.ok(!existsSync(join(dir, 'stack.json')));
  assert.ok(existsSync(join(dir, 'loki', 'wal')), 'data is kept');

  const after = await imom('stack', 'status', '--dir', dir);
  assert.equal(after.code, 1);
  assert.match(after.stdout, /no stack recorded/);
});

test('stack status reports a component that died', async () => {
  const d = tempDir('stack-dead');
  try {
    const [lp, gp] = (await freePorts(2)).map(String) as [string, string];
    const up = await imom('stack', 'up', '--dir', d, '--loki-port', lp, '--loki-grpc-port', gp, '--no-promtail', '--no-alertmanager');
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(readFileSync(join(d, 'stack.json'), 'utf8')) as StackState;
    process.kill(state.components[0]!.pid, 'SIGKILL');
    // Until the kernel has taken the process down (and it is reaped), it still runs: wait for
    // that by status's own test, not for a fixed 300 ms.
    await waitFor(() => !componentAlive(state.components[0]!), 10_000, 'the killed Loki gone');
    const st = await imom('stack', 'status', '--dir', d);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /^loki +pid \d+ +\S+ +not running/m);
  } finally {
    await imom('stack', 'down', '--dir', d);
    removeDir(d);
  }
});
