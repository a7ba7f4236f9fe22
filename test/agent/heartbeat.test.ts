/**
 * The agent's heartbeat line (agent/src/app/heartbeat.ts), the one stream AgentSilent reads:
 * written at start and every heartbeat_interval into a file of its own when the file output has
 * {check} in its path (Promtail and the collector label it check="heartbeat" from the name),
 * never into a single LOG_FILE; `imom retire` writes the Agent=retired line the same way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imom, spawnImom, writeConfig } from '../harness/cli.js';
import { queryRange, startLoki, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';

let loki: LokiHandle;
before(async () => { loki = await startLoki(); });
after(async () => { await loki?.close(); });

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| Status=OK, Agent=(alive|retired)$/;

test('heartbeat lines go to heartbeat.agent.log with {check}.{instance}.log and to Loki as check="heartbeat", and `imom retire` writes Agent=retired to both', async () => {
  const dir = tempDir('heartbeat-agent');
  try {
    const cfg = writeConfig(dir, `host: hb1\nheartbeat_interval: 200ms\nstate_dir: ${dir}/state\noutputs:\n  file: { path: "${dir}/log/{check}.{instance}.log" }\n  loki: { url: ${loki.url}, spool_dir: ${dir}/spool, batch: { max_wait: 20ms } }\n`);
    const pushed = async () => (await queryRange(loki.url, '{job="imom", host="hb1", check="heartbeat", instance="agent", level="OK"}', { limit: 1000, direction: 'forward' })).map((e) => e.line);
    const file = join(dir, 'log', 'heartbeat.agent.log');
    const agent = spawnImom(['agent', '--config', cfg]);
    agent.stdout!.resume();
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => lines(file).length >= 3, 60_000, 'three heartbeat lines');
    agent.kill('SIGTERM');
    const [code] = (await once(agent, 'exit')) as [number];
    assert.equal(code, 0, stderr);
    // The agent's count is of check lines: it has no target, so none.
    assert.match(stderr, /agent stopped: 0 lines written/);
    assert.ok(lines(file).every((l) => LINE.test(l) && l.endsWith('Agent=alive')), lines(file).join('\n'));

    const r = await imom(['retire', '--config', cfg]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /host hb1 \(env prod\) retired/);
    assert.match(lines(file).at(-1)!, /\| Status=OK, Agent=retired$/);
    // The direct push: the same lines, labelled as Promtail labels the file.
    await waitFor(async () => (await pushed()).at(-1) === 'Status=OK, Agent=retired', 60_000, 'the retired line in Loki');
    assert.ok((await pushed()).slice(0, -1).every((l) => l === 'Status=OK, Agent=alive'));
  } finally {
    removeDir(dir);
  }
});

test('a single LOG_FILE (no {check} in the path) gets no heartbeat line: it stays the check lines alone', async () => {
  const dir = tempDir('heartbeat-agent');
  try {
    const file = join(dir, 'imom.log');
    const cfg = writeConfig(dir, `heartbeat_interval: 200ms\nstate_dir: ${dir}/state\noutputs:\n  file: { path: ${file} }\n`);
    const agent = spawnImom(['agent', '--config', cfg]);
    agent.stdout!.resume();
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // The first heartbeat is written before the start-up line; the stop flushes every output.
    await waitFor(() => stderr.includes('agent started'), 60_000, 'the start-up line');
    agent.kill('SIGTERM');
    await once(agent, 'exit');
    assert.deepEqual(lines(file), []);
    // Nothing could carry a retired line either: a usage error, not a silent no-op.
    const r = await imom(['retire', '--config', cfg]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /no output carries the heartbeat line/);
    assert.deepEqual(lines(file), []);
  } finally {
    removeDir(dir);
  }
});
