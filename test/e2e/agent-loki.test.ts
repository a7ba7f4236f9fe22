/**
 * agent → direct push → Loki, through the real `imom agent` process: every line the agent
 * wrote to its LOG_FILE is in Loki exactly once, with the right labels, across a kill -9.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { RedisPair } from '../harness/redis.js';
import { startLoki, queryAll, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';
import { spawnImom, stripStamp, writeConfig } from '../harness/cli.js';

let loki: LokiHandle;
let pair: RedisPair;
let dir: string;
const started = Date.now() - 60_000;

function config() {
  return writeConfig(dir, `
env: e2e
host: agent-e2e
interval: 200ms
timeout: 2s
state_dir: ${dir}/state
outputs:
  file: { path: "${dir}/{check}.log" }
  loki:
    url: ${loki.url}
    labels: { team: dba }
    spool_dir: ${dir}/spool
    batch: { max_lines: 50, max_wait: 100ms }
    shutdown_timeout: 60s # SIGTERM delivers everything spooled, however slow the machine
checks:
  redis:
    - name: session
      masters: [${pair.master.address}]
      slaves: [${pair.replica.address}]
`);
}

const fileLines = () => (existsSync(`${dir}/redis.log`) ? readFileSync(`${dir}/redis.log`, 'utf8').split('\n').filter(Boolean).map(stripStamp) : []);

describe('agent → direct push → real Loki', () => {
  before(async () => {
    dir = tempDir('e2e-agent-loki');
    [loki, pair] = await Promise.all([startLoki(), RedisPair.start()]);
  });
  after(async () => {
    await Promise.allSettled([loki?.close(), pair?.stop()]);
    removeDir(dir);
  });

  test('every LOG_FILE line reaches Loki exactly once with its labels, across kill -9 and a restart', async () => {
    const cfg = config();
    const first = spawnImom(['agent', '--config', cfg]);
    await waitFor(() => fileLines().length >= 40, 30_000, 'lines from the first agent');
    first.kill('SIGKILL'); // mid-batch: the spool holds what Loki has not answered yet
    await once(first, 'exit');
    const killedAt = fileLines().length;

    await pair.replica.cli('REPLICAOF', 'NO', 'ONE'); // a CRITICAL line for the selectors below
    const second = spawnImom(['agent', '--config', cfg]);
    let stderr = '';
    second.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => fileLines().some((l) => l.startsWith('CRITICAL')), 30_000, 'the CRITICAL line');
    await waitFor(() => fileLines().length >= killedAt + 40, 30_000, 'lines from the second agent');
    second.kill('SIGTERM'); // graceful: flushes what is spooled
    assert.equal((await once(second, 'exit'))[0], 0, stderr);
    // Exited with nothing left in the spool: Loki has answered 2xx for every line, so a query
    // now sees them all (no waiting for the count to stop changing).
    assert.doesNotMatch(stderr, /still spooled/, stderr);
    await pair.replica.cli('REPLICAOF', '127.0.0.1', String(pair.master.port));

    const expected = fileLines();
    const selector = '{job="imom", env="e2e", host="agent-e2e", check="redis"}';
    const got = await queryAll(loki.url, selector, { start: started });
    // Each cycle repeats the same texts, so compare counts per text: never more in Loki than in
    // the file (no duplicate), and at most the line(s) written in the instant of the kill missing.
    const count = (xs: string[]) => xs.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
    const inFile = count(expected);
    const inLoki = count(got.map((e) => e.line));
    for (const [line, n] of inLoki) assert.ok(n <= (inFile.get(line) ?? 0), `${line}: ${n} in Loki, ${inFile.get(line) ?? 0} in the file`);
    assert.ok(got.length >= expected.length - 2, `${got.length} lines in Loki, ${expected.length} in the file`);
    for (const e of got) {
      assert.equal(e.labels.team, 'dba');
      assert.equal(e.labels.level, /^CRITICAL/.test(e.line) ? 'CRITICAL' : /^Status=ERROR/.test(e.line) ? 'ERROR' : 'OK');
    }
    const critical = await queryAll(loki.url, '{job="imom", env="e2e", level=~"ERROR|CRITICAL"}', { start: started });
    assert.ok(critical.some((e) => e.line === `CRITICAL: Node ${pair.replica.address} is expected to be slave but found master`));
  });
});
