/**
 * After floods, the agent's memory comes back (issue 17 item 2: one 10-second Redis check went to
 * 3.2 GB RSS on a 2 GB bulk header and a flood, and the agent kept 2.4 GB after it stopped). The
 * same agent config is run twice beside a real redis-server: once with a hostile node that never
 * answers (the baseline), once with one that floods every cycle; after several floods the flooded
 * agent's RSS must stay within a small margin of the baseline's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisNode } from '../harness/redis.js';
import { checkConfig } from '../harness/cli.js';
import { freePort, tempDirs } from '../harness/proc.js';
import { agentUntil, hostileServers, type Mode } from './hostile.js';
import { respProtocol } from './resp-server.js';

const MB = 1024 * 1024;
/** What the flooded agent may hold above the baseline: a 1 MiB reply cap, buffers, GC slack. */
const MARGIN = 40 * MB;
const FLOODS = 5;

let real: RedisNode;
const dirs = tempDirs('flood-rss');
const hostiles = hostileServers();
before(async () => {
  real = new RedisNode(join(dirs.make(), 'real'), await freePort());
  await real.start();
});
after(async () => {
  await hostiles.closeAll();
  await real?.stop();
  dirs.removeAll();
});

async function rssAfter(mode: Mode, wanted: string): Promise<{ peak: number; lines: string[]; sent: number }> {
  const h = await hostiles.start(() => respProtocol(), mode);
  const dir = dirs.make();
  const cfg = checkConfig(dir, `  redis:
    - name: real
      masters: [${real.address}]
    - name: hostile
      masters: [${h.address}]
      timeout: 2s`, { interval: '1s' });
  const bad = `CRITICAL: Node ${h.address} is unreachable (${wanted})`;
  const out = await agentUntil(cfg, join(dir, 'check.log'), (lines) => lines.filter((l) => l === bad).length >= FLOODS, 120_000, `${FLOODS} lines "${bad}"`);
  assert.equal(out.code, 0, out.stderr);
  return { peak: out.peakRss, lines: out.lines, sent: h.bytesSent() };
}

test(`${FLOODS} floods of a 2 GB bulk reply leave the agent's RSS within ${MARGIN / MB} MB of an agent whose node never answers`, async () => {
  const baseline = await rssAfter('silent', 'timeout after 2s');
  const flooded = await rssAfter('oversized', 'reply over 1048576 bytes');
  // The healthy node kept reporting through the floods.
  assert.ok(flooded.lines.filter((l) => l === `Status=OK, Node=${real.address}, Role=master`).length >= FLOODS, flooded.lines.join('\n'));
  // The client refuses the 2 GB header unread and hangs up: each flood gets as far as the socket buffers.
  assert.ok(flooded.sent > FLOODS * 64 * 1024, `the hostile server sent only ${flooded.sent} bytes`);
  assert.ok(flooded.peak <= baseline.peak + MARGIN, `peak RSS ${(flooded.peak / MB).toFixed(1)} MB flooded vs ${(baseline.peak / MB).toFixed(1)} MB baseline`);
});
