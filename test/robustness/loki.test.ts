/**
 * The loki check against a hostile HTTP server answering as a Loki member (http-server.ts) in each
 * of the six modes, through `imom check --once`: one member's lines, never a crash.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { tempDirs } from '../harness/proc.js';
import { MODES, hostileServers, oneOf, type HostileServer, type Mode, type Protocol } from './hostile.js';
import { announcedLength, lokiHttpProtocol } from './http-server.js';

const CONFIGURED_MAX = 65536;

/** The lines the hostile member may get in each mode (all of them, in order). */
function expected(mode: Mode, address: string): (string | RegExp)[][] {
  const unreachable = (reason: string) => [`CRITICAL: Loki member ${address} is unreachable (${reason})`];
  switch (mode) {
    case 'random': return [[new RegExp(`^CRITICAL: Loki member ${address.replace(/\./g, '\\.')} is unreachable \\(.+\\)$`)]];
    case 'truncated': return [unreachable('other side closed')];
    case 'oversized': return [unreachable(`reply over ${CONFIGURED_MAX} bytes`)];
    // Every answer is valid; undici drops each connection an unasked answer came on.
    case 'extra': return [[`Status=OK, Loki=${address}, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1`, 'Status=OK, Ring_Member=hostile, State=ACTIVE, Address=127.0.0.1:9095']];
    case 'silent': return [unreachable('timeout after 1s')];
    // A close right after accept is a FIN, or a reset when the request was already in.
    case 'close': return [unreachable('other side closed'), unreachable('read ECONNRESET')];
  }
}

describe('loki check against a hostile Loki member', () => {
  const dirs = tempDirs('robust-loki');
  const hostiles = hostileServers();
  after(async () => {
    await hostiles.closeAll();
    dirs.removeAll();
  });

  const hostile = (mode: Mode, change: Partial<Protocol> = {}) => hostiles.start(() => ({ ...lokiHttpProtocol(), ...change }), mode);
  const checkAlone = (h: HostileServer) => checkOnce(checkConfig(dirs.make(), `  loki:
    - name: hostile
      url: http://${h.address}
      timeout: 1s
      max_reply_bytes: ${CONFIGURED_MAX}`));

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the member's lines, exit ${mode === 'extra' ? 0 : 1}`, async () => {
      const h = await hostile(mode);
      const r = await checkAlone(h);
      assert.equal(r.code, mode === 'extra' ? 0 : 1, r.stdout + r.stderr);
      const wanted = expected(mode, h.address);
      assert.ok(wanted.some((w) => w.length === r.lines.length && w.every((x, i) => oneOf(r.lines[i]!, [x]))), `${r.lines.join(' / ')} should be one of ${wanted.map((w) => w.join(' / ')).join(' | ')}`);
    });
  }

  test('oversized with a Content-Length over the cap: refused before the body is read, exit 1', async () => {
    const h = await hostile('oversized', { oversizedHeader: announcedLength });
    const r = await checkAlone(h);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.lines, [`CRITICAL: Loki member ${h.address} is unreachable (reply over ${CONFIGURED_MAX} bytes)`]);
  });
});
