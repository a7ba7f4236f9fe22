/**
 * Self-metrics (issue 11 item 9): the real agent serves /metrics and /healthz on loopback while
 * faults are injected for real (a blackholed Redis, a stuck one, Loki stopped and started again);
 * each metric is asserted to move the way that fault should move it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { RedisPair, startBlackhole } from '../harness/redis.js';
import { startLoki, type LokiHandle } from '../harness/loki.js';
import { freePort, removeDir, tempDir, waitFor } from '../harness/proc.js';
import { spawnImom, writeConfig } from '../harness/cli.js';

type Blackhole = Awaited<ReturnType<typeof startBlackhole>>;
let dir: string;
let pair: RedisPair;
let loki: LokiHandle;
let blackhole: Blackhole;
let stuck: Blackhole;
let agent: ChildProcess | undefined;
let port: number;

async function scrape(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.text();
}

/** The value of one sample, `name{labels}` exactly as prom-client writes it; undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(series: string, ok: (v: number) => boolean, what: string): Promise<number> {
  return waitFor(async () => {
    const v = sample(await scrape(), series);
    return v !== undefined && ok(v) ? v : undefined;
  }, 60_000, `${series} ${what}`);
}

describe('self-metrics of the real agent under real faults', () => {
  before(async () => {
    dir = tempDir('metrics');
    [pair, loki, blackhole, stuck] = await Promise.all([RedisPair.start(), startLoki(), startBlackhole(), startBlackhole()]);
    // A free port can be taken by another test file between freePort() and the agent's bind
    // (seen with four files at once): then the agent exits on EADDRINUSE and is started again on
    // another port. Up to 5 tries; each waits until the agent serves or exits.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const config = writeConfig(dir, `
env: test
host: metrics-test
interval: 1s
timeout: 5s
state_dir: ${dir}/state
metrics: { listen: 127.0.0.1:${port} }
outputs:
  file: { path: ${dir}/check.log }
  loki:
    url: ${loki.url}
    spool_dir: ${dir}/spool
    batch: { max_wait: 100ms }
    retry: { min_backoff: 100ms, max_backoff: 500ms, timeout: 2s }
checks:
  redis:
    - name: healthy
      masters: [${pair.master.address}]
    - name: blackholed
      timeout: 300ms
      interval: 2s
      masters: [127.0.0.1:${blackhole.port}]
    # Its run cannot end before the test closes the blackhole (timeout 1h): every later tick is a skip.
    - name: stuck
      timeout: 1h
      masters: [127.0.0.1:${stuck.port}]
`);
      agent = spawnImom(['agent', '--config', config]);
      let stderr = '';
      agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const started = agent;
      const up = await waitFor(async () => {
        if (started.exitCode !== null) return 'exited';
        return (await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'serving', () => undefined));
      }, 60_000, 'the agent to serve its metrics or exit');
      if (up === 'serving') break;
      assert.ok(attempt < 5 && /EADDRINUSE/.test(stderr), `the agent exited: ${stderr}`);
    }
  });
  after(async () => {
    // The stuck run ends when its connection does; then the agent can drain on SIGTERM.
    await Promise.allSettled([blackhole?.close(), stuck?.close()]);
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = once(agent, 'exit');
      agent.kill('SIGTERM');
      await exited;
    }
    await Promise.allSettled([pair?.stop(), loki?.close()]);
    removeDir(dir);
  });

  test('/healthz answers 200 ok', async () => {
    const r = await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined), 60_000, 'the metrics port');
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'ok\n');
  });

  test('check runs, failures, skips and durations per check and target', async () => {
    const healthy = `check="redis",target="${pair.master.address}"`;
    const black = `check="redis",target="127.0.0.1:${blackhole.port}"`;
    const stuckTarget = `check="redis",target="127.0.0.1:${stuck.port}"`;
    const firstRuns = await until(`imom_check_runs_total{${healthy}}`, (v) => v >= 1, '>= 1');
    await until(`imom_check_runs_total{${healthy}}`, (v) => v > firstRuns, 'grows with each interval');
    // A blackholed target ends every run at its timeout: each is a failure.
    await until(`imom_check_failures_total{${black}}`, (v) => v >= 2, '>= 2');
    const text = await scrape();
    assert.equal(sample(text, `imom_check_failures_total{${healthy}}`), undefined, 'a healthy target never fails');
    assert.equal(sample(text, `imom_check_runs_total{${stuckTarget}}`), undefined, 'the stuck run has not ended');
    await until(`imom_check_skips_total{${stuckTarget}}`, (v) => v >= 2, '>= 2');
    assert.ok((sample(text, 'imom_check_duration_seconds_count{check="redis"}') ?? 0) >= firstRuns + 2);
    // The blackholed runs took at least their 300ms timeout: none can be in the 0.25s bucket's complement below.
    const count = sample(text, 'imom_check_duration_seconds_count{check="redis"}')!;
    const overQuarter = count - sample(text, 'imom_check_duration_seconds_bucket{le="0.25",check="redis"}')!;
    assert.ok(overQuarter >= 2, `${overQuarter} runs over 0.25s`);
  });

  test('lines per output and status', async () => {
    const ok = await until('imom_output_lines_total{output="file",status="OK"}', (v) => v >= 1, '>= 1');
    await until('imom_output_lines_total{output="loki",status="OK"}', (v) => v >= ok, '>= the file count seen');
    // Blackholed and stuck-skipped runs write CRITICAL and ERROR lines to both outputs.
    await until('imom_output_lines_total{output="file",status="CRITICAL"}', (v) => v >= 1, '>= 1');
    await until('imom_output_lines_total{output="file",status="ERROR"}', (v) => v >= 1, '>= 1');
    assert.equal(sample(await scrape(), 'imom_output_lines_total{output="syslog",status="OK"}'), undefined, 'no syslog output configured');
  });

  test('Loki stopped: push failures and the spool grow, the last success stands; restarted: the spool drains', async () => {
    const success = await until('imom_loki_last_success_timestamp_seconds', (v) => v > 0, 'set');
    await loki.stop();
    const attempts = sample(await scrape(), 'imom_loki_push_attempts_total')!;
    const failures = await until('imom_loki_push_failures_total', (v) => v >= 2, '>= 2 while Loki is down');
    const spooled = await until('imom_loki_spool_lines', (v) => v >= 10, '>= 10 lines kept');
    let text = await scrape();
    assert.ok(sample(text, 'imom_loki_push_attempts_total')! > attempts, 'each retry is an attempt');
    assert.ok((sample(text, 'imom_loki_spool_bytes') ?? 0) > 0);
    const lastWhileDown = sample(text, 'imom_loki_last_success_timestamp_seconds')!;
    assert.ok(lastWhileDown >= success);
    assert.equal(sample(text, 'imom_loki_dead_lettered_lines_total'), 0, 'a down Loki refuses nothing for good');
    assert.equal(sample(text, 'imom_loki_dropped_lines_total'), 0, 'the spool is far from its bound');
    const before = Date.now() / 1000;
    await loki.restart();
    await until('imom_loki_last_success_timestamp_seconds', (v) => v >= before, 'after the restart');
    text = await scrape();
    assert.ok(sample(text, 'imom_loki_push_failures_total')! >= failures);
    assert.ok(sample(text, 'imom_loki_spool_lines')! < spooled + 1_000, 'bounded');
    await until('imom_loki_spool_lines', (v) => v < spooled, 'drains below what was kept');
  });
});
