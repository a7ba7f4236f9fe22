/**
 * The solr check against a hostile HTTP server answering as a Solr node (http-server.ts) in each
 * of the six modes: alone through `imom check --once`, and under `imom agent` beside a real
 * standalone Solr node, which must keep reporting while the agent lives within its RSS bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SolrStandalone } from '../harness/solr.js';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { tempDirs } from '../harness/proc.js';
import { AGENT_RSS_LIMIT, MODES, agentUntil, bothReported, hostileServers, oneOf, type HostileServer, type Mode, type Protocol } from './hostile.js';
import { announcedLength, solrHttpProtocol } from './http-server.js';

/** The check's default cap (SOLR_MAX_REPLY_BYTES), and the one `imom check --once` is configured with here. */
const DEFAULT_MAX = 4194304;
const CONFIGURED_MAX = 65536;

/** The lines the hostile node may get in each mode (one of them, exactly; random bytes give whatever reason undici finds). */
function expected(mode: Mode, address: string, max: number): (string | RegExp)[] {
  const unreachable = (reason: string) => `CRITICAL: Solr instance ${address} is unreachable (${reason})`;
  // A close right after accept is a FIN, or a reset when the request was already in.
  const closed = [unreachable('other side closed'), unreachable('read ECONNRESET')];
  switch (mode) {
    case 'random': return [new RegExp(`^CRITICAL: Solr instance ${address.replace(/\./g, '\\.')} is unreachable \\(.+\\)$`)];
    case 'truncated': return [unreachable('other side closed')];
    case 'oversized': return [unreachable(`reply over ${max} bytes`)];
    // The answer is valid; undici drops the connection the unasked one came on.
    case 'extra': return [`Status=OK, Solr=${address}, Live_Nodes=1, Active=0`];
    case 'silent': return [unreachable('timeout after 1s')];
    case 'close': return closed;
  }
}

describe('solr check against a hostile server', () => {
  let solr: SolrStandalone;
  const dirs = tempDirs('robust-solr');
  const hostiles = hostileServers();
  before(async () => {
    solr = await SolrStandalone.start({ cores: ['main'] });
  });
  after(async () => {
    await hostiles.closeAll();
    await solr?.stop();
    dirs.removeAll();
  });

  const hostile = (mode: Mode, change: Partial<Protocol> = {}) => hostiles.start((port) => ({ ...solrHttpProtocol(port), ...change }), mode);
  const hostileEntry = (h: HostileServer, extra = '') => `
    - name: hostile
      url: http://${h.address}/solr
      timeout: 1s${extra}`;

  const checkAlone = async (h: HostileServer) => {
    const r = await checkOnce(checkConfig(dirs.make(), `  solr:${hostileEntry(h, `\n      max_reply_bytes: ${CONFIGURED_MAX}`)}`));
    assert.equal(r.lines.length, 1, r.stdout + r.stderr);
    return r;
  };

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the node's line, exit ${mode === 'extra' ? 0 : 1}`, async () => {
      const h = await hostile(mode);
      const r = await checkAlone(h);
      assert.equal(r.code, mode === 'extra' ? 0 : 1, r.stderr);
      assert.ok(oneOf(r.lines[0]!, expected(mode, h.address, CONFIGURED_MAX)), `${r.lines[0]} should be one of ${expected(mode, h.address, CONFIGURED_MAX).join(' | ')}`);
    });

    test(`${mode}: under imom agent, the hostile node gets its line every cycle, the real node keeps reporting, the agent lives and stays under its RSS bound`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const config = checkConfig(dir, `  solr:${hostileEntry(h)}
    - name: healthy
      mode: standalone
      url: ${solr.node.url}`, { interval: '2s', timeout: '5s' });
      const healthy = (l: string) => l === `Status=OK, Solr=${solr.node.address}, Cores=1`;
      const isHostile = (l: string) => l.includes(` ${h.address} `) || l.includes(`=${h.address},`);
      const out = await agentUntil(config, `${dir}/check.log`, bothReported(isHostile, healthy), 60_000, `two cycles of the hostile (${mode}) and the healthy node`);
      assert.equal(out.code, 0, out.stderr);
      for (const l of out.lines.filter(isHostile)) assert.ok(oneOf(l, expected(mode, h.address, DEFAULT_MAX)), `${l} should be one of ${expected(mode, h.address, DEFAULT_MAX).join(' | ')}`);
      assert.ok(out.peakRss < AGENT_RSS_LIMIT, `peak RSS ${out.peakRss} bytes`);
      process.stdout.write(`# solr ${mode}: peak agent RSS ${(out.peakRss / 1024 ** 2).toFixed(1)} MB, ${h.bytesSent()} bytes sent by the hostile server\n`);
    });
  }

  test('oversized with a Content-Length over the cap: refused before the body is read, exit 1', async () => {
    const h = await hostile('oversized', { oversizedHeader: announcedLength });
    const r = await checkAlone(h);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.lines, [`CRITICAL: Solr instance ${h.address} is unreachable (reply over ${CONFIGURED_MAX} bytes)`]);
  });

  test('twelve hostile nodes of one instance under imom agent: no MaxListenersExceededWarning', async () => {
    const servers = await Promise.all(Array.from({ length: 12 }, () => hostile('silent')));
    const dir = dirs.make();
    const config = checkConfig(dir, `  solr:
    - name: many
      url: [${servers.map((s) => `http://${s.address}/solr`).join(', ')}]
      timeout: 1s`, { interval: '2s' });
    const out = await agentUntil(config, `${dir}/check.log`, (lines) => lines.length >= 24, 60_000, 'two cycles of twelve nodes');
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /MaxListenersExceededWarning/);
  });
});
