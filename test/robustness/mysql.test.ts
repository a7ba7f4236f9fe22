/**
 * The mysql check against a hostile MySQL server (mysql-server.ts) in each of the six modes:
 * alone through `imom check --once`, and under `imom agent` beside a real MariaDB pair, which
 * must keep reporting while the agent lives within its RSS bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicationPair, MONITOR_PASSWORD, MONITOR_USER } from '../harness/mariadb.js';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { tempDirs } from '../harness/proc.js';
import { AGENT_RSS_LIMIT, MODES, agentUntil, bothReported, hostileServers, oneOf, type HostileServer, type Mode } from './hostile.js';
import { mysqlProtocol } from './mysql-server.js';

/** The check's default cap (MYSQL_MAX_REPLY_BYTES), and the one `imom check --once` is configured with here. */
const DEFAULT_MAX = 1048576;
const CONFIGURED_MAX = 65536;

/** The line of the hostile primary in each mode; random bytes give whatever reason mysql2 finds, or none (a timeout). */
function expected(mode: Mode, address: string, max: number): string | RegExp {
  const line = (error: string) => `Status=ERROR, Master=${address}, Error=${error}`;
  switch (mode) {
    case 'random': return new RegExp(`^Status=ERROR, Master=${address.replace(/\./g, '\\.')}, Error=.+$`);
    case 'truncated': return line('Connection lost: The server closed the connection.');
    case 'oversized': return line(`reply over ${max} bytes`);
    // mysql2 reads the one-byte ERR packet with no command waiting, outside its try/catch: it throws Node's RangeError.
    case 'extra': return line('malformed reply (The value of "offset" is out of range. It must be >= 0 and <= 14. Received 16)');
    case 'silent': return line('timeout after 1s');
    case 'close': return line('Connection lost: The server closed the connection.');
  }
}

describe('mysql check against a hostile server', () => {
  let pair: ReplicationPair;
  const dirs = tempDirs('robust-mysql');
  const hostiles = hostileServers();
  before(async () => {
    pair = await ReplicationPair.start();
  });
  after(async () => {
    await hostiles.closeAll();
    await pair?.stop();
    dirs.removeAll();
  });

  const hostile = (mode: Mode) => hostiles.start(mysqlProtocol, mode);
  const hostileEntry = (h: HostileServer, extra = '') => `
    - name: hostile
      user: ${MONITOR_USER}
      password: "${MONITOR_PASSWORD}"
      master: ${h.address}
      timeout: 1s${extra}`;

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the primary's ERROR line and exits 1`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const r = await checkOnce(checkConfig(dir, `  mysql:${hostileEntry(h, `\n      max_reply_bytes: ${CONFIGURED_MAX}`)}`));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.lines.length, 1, r.stdout);
      assert.ok(oneOf(r.lines[0]!, [expected(mode, h.address, CONFIGURED_MAX)]), `${r.lines[0]} should be ${expected(mode, h.address, CONFIGURED_MAX)}`);
    });

    test(`${mode}: under imom agent, the hostile primary gets its line every cycle, the real pair keeps reporting, the agent lives and stays under its RSS bound`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const config = checkConfig(dir, `  mysql:${hostileEntry(h)}
    - name: healthy
      user: ${MONITOR_USER}
      password: "${MONITOR_PASSWORD}"
      master: ${pair.primary.address}
      slaves: [${pair.replica.address}]`, { interval: '2s', timeout: '5s' });
      const healthy = (l: string) => l.startsWith(`Status=OK, Master=${pair.primary.address}, `);
      const isHostile = (l: string) => l.includes(`=${h.address},`);
      const out = await agentUntil(config, `${dir}/check.log`, bothReported(isHostile, healthy), 60_000, `two cycles of the hostile (${mode}) and the healthy primary`);
      assert.equal(out.code, 0, out.stderr);
      for (const l of out.lines.filter(isHostile)) assert.ok(oneOf(l, [expected(mode, h.address, DEFAULT_MAX)]), `${l} should be ${expected(mode, h.address, DEFAULT_MAX)}`);
      assert.ok(out.peakRss < AGENT_RSS_LIMIT, `peak RSS ${out.peakRss} bytes`);
      process.stdout.write(`# mysql ${mode}: peak agent RSS ${(out.peakRss / 1024 ** 2).toFixed(1)} MB, ${h.bytesSent()} bytes sent by the hostile server\n`);
    });
  }

  test('twelve hostile replicas of one instance under imom agent: no MaxListenersExceededWarning', async () => {
    const servers = await Promise.all(Array.from({ length: 12 }, () => hostile('silent')));
    const dir = dirs.make();
    const config = checkConfig(dir, `  mysql:
    - name: many
      user: ${MONITOR_USER}
      password: "${MONITOR_PASSWORD}"
      master: ${pair.primary.address}
      slaves: [${servers.map((s) => s.address).join(', ')}]
      timeout: 1s`, { interval: '2s' });
    const replicaLines = (lines: string[]) => lines.filter((l) => l.startsWith('Status=ERROR, Slave=')).length;
    const out = await agentUntil(config, `${dir}/check.log`, (lines) => replicaLines(lines) >= 24, 60_000, 'two cycles of twelve replicas');
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /MaxListenersExceededWarning/);
  });
});
