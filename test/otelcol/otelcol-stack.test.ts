/**
 * `imom stack up --shipper otelcol` as an operator runs it: the collector instead of Promtail,
 * recorded in the stack folder, ready in `status`, shipping a check line and a stack trace with
 * Promtail's labels, stopped by `down`; and with `--loki-tls-dir`, the collector over mutual TLS
 * (otelcol.yaml's tls block from the same LOKI_PUSH_* variables as Promtail's tls_config).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, REPO_ROOT, removeDir, run, tempDir } from '../harness/proc.js';
import { queryRange, waitForCount } from '../harness/loki.js';
import { clientTlsConfig } from '../harness/loki-tls.js';
import { testPki } from '../harness/pki.js';
import { loadTls } from '../../agent/src/core/tls/index.js';
import { pidAlive } from '../../agent/src/stack/process.js';
import type { StackState } from '../../agent/src/stack/stack.js';
import { checkLine, springLine } from '../promtail/util.js';

const dir = tempDir('oc-stack');
const imom = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'agent/src/cli/bin.ts'), ...args], { cwd: REPO_ROOT, allowFail: true, timeoutMs: 180_000 });

after(async () => {
  await imom('stack', 'down', '--dir', dir);
  removeDir(dir);
});

test('stack up --shipper otelcol: the collector ships check and console logs with Promtail\'s labels; status, down', async () => {
  const [lp, gp, op] = (await freePorts(3)).map(String) as [string, string, string];
  const up = await imom('stack', 'up', '--dir', dir, '--shipper', 'otelcol', '--loki-port', lp, '--loki-grpc-port', gp, '--otelcol-port', op,
    '--no-alertmanager', '--env', 'prod', '--host', 'db-mon-01.example.com', '--app', 'pay', '--app-host', 'pay.example.com', '--server', 'pay-01');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, new RegExp(`^otelcol +pid \\d+ +http://127\\.0\\.0\\.1:${op}$`, 'm'));
  assert.match(up.stdout, /^otelcol tails \S+\/var\/log\/imom\/\*\.log \(job=imom\)/m);

  const state = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackState;
  assert.deepEqual(state.components.map((c) => c.name), ['loki', 'otelcol']);
  assert.equal(state.promtail?.shipper, 'otelcol');
  const status = await imom('stack', 'status', '--dir', dir);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^otelcol +pid \d+ +http:\/\/127\.0\.0\.1:\d+ +ready/m);

  const loki = state.components.find((c) => c.name === 'loki')!;
  const line = checkLine(new Date(), 'Status=ERROR, Slave=127.0.0.14, Seconds_Behind_Master=270');
  appendFileSync(join(state.promtail!.checkLogDir, 'mysql.log'), line + '\n');
  const trace = [springLine(new Date(), 'ERROR', 'main', 'k.c.e.p.d.PayService', 'payment failed'), 'java.lang.IllegalStateException: card declined', '\tat k.c.e.p.d.PayService.charge(PayService.java:88)'].join('\n');
  writeFileSync(state.promtail!.consoleLog, trace + '\n');
  await waitForCount(loki.url, '{job="imom", check="mysql"}', 1);
  assert.deepEqual((await queryRange(loki.url, '{job="imom", env="prod", host="db-mon-01.example.com", check="mysql", level="ERROR"}')).map((e) => e.line), [line]);
  // The last console entry is released after force_flush_period (3 s) without a next line.
  await waitForCount(loki.url, '{job="pay", query="false"}', 1);
  assert.deepEqual((await queryRange(loki.url, '{job="pay", env="prod", host="pay.example.com", server="pay-01", query="false", level="ERROR"}')).map((e) => e.line), [trace]);

  const down = await imom('stack', 'down', '--dir', dir);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /^otelcol +pid \d+ +stopped/m);
  for (const c of state.components) assert.ok(!pidAlive(c.pid), `${c.name} stopped`);
});

test('stack up --shipper otelcol --loki-tls-dir: the collector ships to Loki over mutual TLS', async () => {
  const pki = await testPki();
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir);
  const files: [string, string][] = [[pki.caFile, 'ca.pem'], [pki.server.certFile, 'loki.pem'], [pki.server.keyFile, 'loki.key'], [pki.client.certFile, 'client.pem'], [pki.client.keyFile, 'client.key']];
  for (const [from, to] of files) copyFileSync(from, join(tlsDir, to));
  const stackDir = join(dir, 'stack-tls');
  const [lp, gp, op] = (await freePorts(3)).map(String) as [string, string, string];
  try {
    const up = await imom('stack', 'up', '--dir', stackDir, '--shipper', 'otelcol', '--loki-port', lp, '--loki-grpc-port', gp, '--otelcol-port', op,
      '--no-alertmanager', '--host', 'stack-tls', '--loki-tls-dir', tlsDir);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`loki +pid \\d+ +https://127\\.0\\.0\\.1:${lp}`));
    const state = JSON.parse(readFileSync(join(stackDir, 'stack.json'), 'utf8')) as StackState;
    const line = checkLine(new Date(), 'Status=OK, Node=127.0.0.1:6379, Role=master');
    appendFileSync(join(state.promtail!.checkLogDir, 'redis.log'), `${line}\n`);
    const tls = loadTls(clientTlsConfig(pki)).options;
    assert.equal(await waitForCount(`https://127.0.0.1:${lp}`, '{job="imom", host="stack-tls", check="redis", level="OK"}', 1, { tls }), 1);
  } finally {
    await imom('stack', 'down', '--dir', stackDir);
  }
});
