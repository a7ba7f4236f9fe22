/**
 * The redis check against a hostile Redis (resp-server.ts) in each of the six modes: alone
 * through `imom check --once`, and under `imom agent` beside a real redis-server, which must
 * keep reporting while the agent lives within its RSS bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisNode } from '../harness/redis.js';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { freePort, tempDirs } from '../harness/proc.js';
import { AGENT_RSS_LIMIT, MODES, agentUntil, startHostile, type HostileServer, type Mode } from './hostile.js';
import { respProtocol } from './resp-server.js';

const MAX_REPLY_BYTES = 1048576;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The hostile node's line in each mode. */
function expected(mode: Mode, address: string): string | RegExp {
  const line = (reason: string) => `CRITICAL: Node ${address} is unreachable (${reason})`;
  switch (mode) {
    // Random bytes are refused at the first byte that cannot be there; which one that is depends on the bytes.
    case 'random': return new RegExp(`^${escape(`CRITICAL: Node ${address} is unreachable (protocol error: `)}(unexpected reply type|bad number|control byte in a line|bulk string not followed by CRLF)\\)$`);
    case 'truncated': return line('Connection is closed.');
    case 'oversized': return line(`reply over ${MAX_REPLY_BYTES} bytes`);
    case 'extra': return line('protocol error: more replies than commands');
    case 'silent': return line('timeout after 2s');
    case 'close': return line('Connection is closed.');
  }
}

const matches = (line: string, want: string | RegExp) => (typeof want === 'string' ? line === want : want.test(line));

describe('redis check against a hostile server', () => {
  let real: RedisNode;
  const dirs = tempDirs('robust-redis');
  const hostiles: HostileServer[] = [];
  before(async () => {
    real = new RedisNode(join(dirs.make(), 'real'), await freePort());
    await real.start();
  });
  after(async () => {
    await Promise.allSettled(hostiles.map((h) => h.close()));
    await real?.stop();
    dirs.removeAll();
  });

  const hostile = async (mode: Mode, protocol = respProtocol()) => {
    const h = await startHostile(protocol, mode);
    hostiles.push(h);
    return h;
  };
  const hostileEntry = (h: HostileServer) => `
    - name: hostile
      masters: [${h.address}]
      timeout: 2s`;

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the node's CRITICAL line and exits 1`, async () => {
      const h = await hostile(mode);
      const r = await checkOnce(checkConfig(dirs.make(), `  redis:${hostileEntry(h)}`));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.lines.length, 1, r.stdout);
      assert.ok(matches(r.lines[0]!, expected(mode, h.address)), `${r.lines[0]} should be ${expected(mode, h.address)}`);
    });

    test(`${mode}: under imom agent, the hostile node gets its line every cycle, the real one keeps reporting, the agent lives and stays under its RSS bound`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const config = checkConfig(dir, `  redis:${hostileEntry(h)}
    - name: healthy
      masters: [${real.address}]`, { interval: '2s', timeout: '5s' });
      const healthy = (l: string) => l === `Status=OK, Node=${real.address}, Role=master`;
      const isHostile = (l: string) => l.includes(` ${h.address} `);
      const out = await agentUntil(config, `${dir}/check.log`, (lines) => {
        const first = lines.findIndex(isHostile);
        return first >= 0 && lines.filter(isHostile).length >= 2 && lines.slice(first).filter(healthy).length >= 2;
      }, 60_000, `two cycles of the hostile (${mode}) and the real node`);
      assert.equal(out.code, 0, out.stderr);
      for (const l of out.lines.filter(isHostile)) assert.ok(matches(l, expected(mode, h.address)), `${l} should be ${expected(mode, h.address)}`);
      assert.ok(out.peakRss < AGENT_RSS_LIMIT, `peak RSS ${out.peakRss} bytes`);
      process.stdout.write(`# redis ${mode}: peak agent RSS ${(out.peakRss / 1024 ** 2).toFixed(1)} MB, ${h.bytesSent()} bytes sent by the hostile server\n`);
    });
  }

  test('a reply that announces no size (an error line that never ends) is cut at max_reply_bytes, counted on the socket', async () => {
    const h = await hostile('oversized', respProtocol({ oversized: 'endless-line' }));
    const r = await checkOnce(checkConfig(dirs.make(), `  redis:
    - name: hostile
      masters: [${h.address}]
      max_reply_bytes: 65536`));
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.lines, [`CRITICAL: Node ${h.address} is unreachable (reply over 65536 bytes)`]);
    // The connection was dropped at the cap: the server got to send little more than the socket buffers hold, far from its 256 MB flood.
    assert.ok(h.bytesSent() < 64 * 1024 * 1024, `${h.bytesSent()} bytes sent`);
  });
});
