/**
 * The solr check over HTTPS against real Solr 9 nodes whose Jetty requires a client certificate
 * (test/solr/SolrNode.java --ssl-*, certificates from test/harness/pki.ts): a 2-node SolrCloud
 * with urlScheme=https (so the nodes call each other over mutual TLS; the second allows TLS 1.3
 * only) and a standalone node showing an expired certificate. Every TLS failure is one CRITICAL
 * line in words; an expiring certificate, ours or Solr's, one ERROR line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SolrCloud, SolrStandalone, solrCycle } from '../../../../test/harness/solr.js';
import { testPki, type TestCert, type TestPki } from '../../../../test/harness/pki.js';
import { removeDir, tempDir } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';
import { solrCheck } from './index.js';

const cycle = (dir: string, instance: Record<string, unknown>) => solrCycle(dir, instance, 20_000);

const iso = (file: string) => new X509Certificate(readFileSync(file)).validToDate.toISOString().replace('.000Z', 'Z');

describe('solr check over HTTPS with client certificates required, against real Solr nodes', () => {
  let pki: TestPki;
  let cloud: SolrCloud;
  let standalone: SolrStandalone;
  let dir: string;
  let a: string;
  let b: string;
  let tls: (extra?: Record<string, unknown>, client?: TestCert | null) => Record<string, unknown>;

  before(async () => {
    dir = tempDir('solr-tls');
    pki = await testPki();
    // Side by side; each kept as soon as it is up, so that `after` stops it whatever failed.
    await Promise.all([
      SolrCloud.start({ tls: [{ cert: pki.server, needClientAuth: true }, { cert: pki.server, needClientAuth: true, protocols: 'TLSv1.3' }] }).then((c) => (cloud = c)),
      SolrStandalone.start({ cores: ['main'], tls: { cert: pki.expiredServer, needClientAuth: true } }).then((s) => (standalone = s)),
    ]);
    // A replica on each node: creating it takes requests between the nodes, over mutual TLS.
    await cloud.createCollection('web', { numShards: 1, replicationFactor: 2 });
    a = cloud.nodes[0]!.address;
    b = cloud.nodes[1]!.address;
    tls = (extra = {}, client = pki.client) => ({
      ca_file: pki.caFile, ...(client ? { cert_file: client.certFile, key_file: client.keyFile } : {}), ...extra,
    });
  });
  after(async () => {
    await Promise.allSettled([cloud?.stop(), standalone?.stop()]);
    if (dir) removeDir(dir);
  });

  test('healthy over mutual TLS: an OK line per node, exit 0; no key or password in any output (imom check --once)', async () => {
    assert.match(cloud.nodes[0]!.url, /^https:/);
    const cfg = checkConfig(dir, `
  solr:
    - name: search
      url: [${cloud.nodes[0]!.url}, ${cloud.nodes[1]!.url}]
      tls: { ca_file: ${pki.caFile}, cert_file: ${pki.client.certFile}, key_file: ${pki.client.keyFile} }
`);
    const r = await checkOnce(cfg);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(r.lines.sort(), [`Status=OK, Solr=${a}, Live_Nodes=2, Active=1`, `Status=OK, Solr=${b}, Live_Nodes=2, Active=1`].sort());
    for (const out of [r.stdout, r.stderr, readFileSync(`${dir}/check.log`, 'utf8')]) {
      assert.ok(!out.includes('-----BEGIN') && !out.includes(pki.password), 'a key, certificate or password leaked');
    }
  });

  test('without a client certificate: one CRITICAL line saying Solr requires one', async () => {
    assert.deepEqual(await cycle(dir, { url: cloud.nodes[0]!.url, tls: tls({}, null) }), [
      `CRITICAL: Solr instance ${a} is unreachable (TLS handshake failed: Solr requires a client certificate (cert_file and key_file are not set))`,
    ]);
  });

  test('the failure matrix, one CRITICAL line each: unknown CA, host name mismatch, expired, client certificate refused, protocol version', async () => {
    const unreachable = (node: string, reason: string) => `CRITICAL: Solr instance ${node} is unreachable (TLS handshake failed: ${reason})`;
    const one = cloud.nodes[0]!.url;
    assert.deepEqual(await cycle(dir, { url: one, tls: tls({ ca_file: pki.otherCaFile }) }), [unreachable(a, 'the Solr certificate is not trusted: signed by an unknown CA')]);
    assert.deepEqual(await cycle(dir, { url: one, tls: tls({ server_name: 'solr.example' }) }),
      [unreachable(a, 'the Solr certificate is not trusted: host name mismatch (solr.example is not among its names: IP Address:127.0.0.1, DNS:localhost)')]);
    assert.deepEqual(await cycle(dir, { url: standalone.node.url, mode: 'standalone', tls: tls() }), [unreachable(standalone.node.address, 'the Solr certificate is not trusted: expired')]);
    assert.deepEqual(await cycle(dir, { url: one, tls: tls({}, pki.otherClient) }), [unreachable(a, 'Solr refused the client certificate: not trusted')]);
    assert.deepEqual(await cycle(dir, { url: one, tls: tls({}, pki.expiredClient) }), [
      unreachable(a, 'Solr refused the client certificate: not trusted'),
      `ERROR: TLS certificate ${pki.expiredClient.certFile} (CN=imom-agent) expired 2020-02-01T00:00:00Z, ${Math.floor((Date.now() - Date.parse('2020-02-01T00:00:00Z')) / 86_400_000)} days ago`,
    ]);
    assert.deepEqual(await cycle(dir, { url: cloud.nodes[1]!.url, tls: tls({ max_version: 'TLS12' }) }),
      [unreachable(b, 'Solr refused the protocol version (none of the TLS versions we offer is allowed there)')]);
  });

  test('an expiring certificate, Solr\'s or ours: one ERROR line after the OK line', async () => {
    const s = standalone.node;
    const seen = await cycle(dir, { url: s.url, mode: 'standalone', tls: tls({ insecure_skip_verify: true }) });
    assert.equal(seen[0], `Status=OK, Solr=${s.address}, Cores=1`);
    assert.match(seen[1] ?? '', new RegExp(`^ERROR: TLS certificate of Solr ${s.address} \\(CN=localhost\\) expired 2020-02-01T00:00:00Z, \\d+ days ago$`));
    assert.equal(seen.length, 2);
    const soon = pki.soonExpiringClient;
    // The one configured node reports the other too (README: who reports what).
    assert.deepEqual(await cycle(dir, { url: cloud.nodes[0]!.url, tls: tls({}, soon) }), [
      `Status=OK, Solr=${a}, Live_Nodes=2, Active=1`,
      `Status=OK, Solr=${b}, Live_Nodes=2, Active=1`,
      `ERROR: TLS certificate ${soon.certFile} (CN=imom-agent) expires ${iso(soon.certFile)}, in 2 days`,
    ]);
  });

  test('config: tls with an http:// url is an error', () => {
    const r = solrCheck.schema.safeParse({ name: 's', url: 'http://127.0.0.1:8983/solr', tls: { ca_file: pki.caFile } });
    assert.ok(!r.success);
    assert.deepEqual(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['tls: tls is set but a url is http://: use https:// URLs']);
  });
});
