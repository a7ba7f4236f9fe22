/**
 * The TLS foundation (agent/src/config/tls.ts, agent/src/core/tls/, test/harness/pki.ts) against
 * real TLS peers: node:tls servers where any server will do, and `openssl s_server` where the
 * server must refuse a client certificate with a TLS alert (node:tls only drops the socket).
 * Certificates from the harness's CA, made with Debian's openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { connect, createServer, getCACertificates, type ConnectionOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { z } from 'zod';
import { configJsonSchema } from '../../agent/src/app/config-schema.js';
import { parseConfigText } from '../../agent/src/config/load.js';
import { tlsSchema, tlsSchemaWithAliases } from '../../agent/src/config/tls.js';
import { certificateExpiry, describeTlsFailure, loadTls, peerCertificate, type LoadedTls } from '../../agent/src/core/tls/index.js';
import { testPki, type TestCert, type TestPki } from '../../test/harness/pki.js';
import { freePort, removeDir, startDaemon, tempDir, waitForPort, type Daemon } from '../../test/harness/proc.js';

const DAY = 86_400_000;
let pki: TestPki;
let dir: string;
const servers: Server[] = [];
const daemons: Daemon[] = [];

const settings = (yaml: string) => parseConfigText(`tls:\n${yaml}`, 'imom.yaml', z.object({ tls: tlsSchema }).strict()).tls;
/** The config error for a `tls:` block, or '' when it validates. */
function problem(yaml: string, schema: z.ZodType = tlsSchema): string {
  try {
    parseConfigText(`tls:\n${yaml}`, 'imom.yaml', z.object({ tls: schema }).strict());
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** A node:tls server on a free loopback port that answers `ok <client CN>` and closes. */
async function nodeServer(cert: TestCert, extra: TlsOptions = {}): Promise<number> {
  const s = createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), ...extra }, (c) => {
    c.on('error', () => undefined);
    const peer = c.getPeerX509Certificate();
    c.end(`ok ${peer ? `${peer.subject} serial ${peer.serialNumber}` : 'none'}`);
  });
  s.on('tlsClientError', () => undefined);
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

/** `openssl s_server` requiring a client certificate from the test CA: it refuses others with an alert. */
async function opensslServer(name: string, args: readonly string[] = []): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const d = startDaemon(`s_server-${name}`, 'openssl', ['s_server', '-quiet', '-accept', `127.0.0.1:${port}`,
      '-cert', pki.server.certFile, '-key', pki.server.keyFile, '-CAfile', pki.caFile, '-Verify', '1', '-verify_return_error', '-rev', ...args],
    { logFile: join(dir, `s_server-${name}.log`) });
    daemons.push(d);
    try {
      await waitForPort(port, 10_000, `openssl s_server ${name}`);
      return port;
    } catch (e) {
      // Another test file took the port between freePort and the bind: try another.
      if (attempt >= 3 || !readFileSync(d.logFile, 'utf8').includes('in use')) throw e;
    }
  }
}

type Outcome = { ok: string; socket: TLSSocket } | { failure: string | undefined; raw: string };

/** One connection with the loaded options: what the server answered, or the failure in words. */
function attempt(port: number, tls: LoadedTls, host = '127.0.0.1', peer = 'server'): Promise<Outcome> {
  return new Promise((res) => {
    const s = connect({ host, port, ...tls.options });
    let data = '';
    s.setEncoding('utf8');
    s.on('secureConnect', () => s.write('hello\n'));
    s.on('data', (d: string) => {
      data += d;
      if (data.includes('\n') || data.startsWith('ok ')) {
        res({ ok: data.trim(), socket: s });
        s.end();
      }
    });
    s.on('error', (e) => res({ failure: describeTlsFailure(e, { peer, hasClientCert: tls.hasClientCert }), raw: String(e) }));
    s.on('close', () => res({ failure: undefined, raw: `closed after ${JSON.stringify(data)}` }));
  });
}

async function failure(port: number, tls: LoadedTls, host?: string, peer?: string): Promise<string | undefined> {
  const o = await attempt(port, tls, host, peer);
  assert.ok('failure' in o, `expected a failure, got ${'ok' in o ? o.ok : ''}`);
  assert.ok(!o.failure?.includes('.c:'), 'OpenSSL file:line text');
  return o.failure;
}

before(async () => {
  dir = tempDir('tls-foundation');
  pki = await testPki();
});

after(async () => {
  for (const s of servers) s.close();
  await Promise.all(daemons.map((d) => d.stop()));
  if (dir) removeDir(dir);
});

describe('tls schema', () => {
  test('defaults: verify, TLS 1.2 and up, bundled CAs, a 14-day expiry warning', () => {
    const t = settings(`  ca_file: ${pki.caFile}\n`);
    assert.deepEqual(t, { ca_file: pki.caFile, insecure_skip_verify: false, min_version: 'TLS12', use_system_ca: false, expiry_warning: 14 * DAY });
    assert.equal(settings(`  { cert_file: ${pki.client.certFile}, key_file: ${pki.client.keyFile}, expiry_warning: 30d, min_version: TLS13 }\n`).expiry_warning, 30 * DAY);
  });

  test('a bad file is FILE:LINE: path: problem, naming the file and never its content', () => {
    const cases: [string, string][] = [
      [`  ca_file: /nonexistent/ca.pem\n`, 'imom.yaml:2: tls.ca_file: cannot read ca_file /nonexistent/ca.pem: ENOENT'],
      [`  ca_file: ca.pem\n`, 'imom.yaml:2: tls.ca_file: ca_file ca.pem is not an absolute path'],
      [`  ca_file: ${pki.client.keyFile}\n`, `imom.yaml:2: tls.ca_file: ca_file ${pki.client.keyFile} holds no PEM certificate`],
      [`  cert_file: ${pki.client.keyFile}\n  key_file: ${pki.client.keyFile}\n`, `imom.yaml:2: tls.cert_file: cert_file ${pki.client.keyFile} holds no PEM certificate`],
      [`  cert_file: ${pki.client.certFile}\n  key_file: ${pki.client.certFile}\n`, `imom.yaml:3: tls.key_file: key_file ${pki.client.certFile} holds no PEM private key`],
      [`  cert_file: ${pki.client.certFile}\n`, 'imom.yaml:2: tls.key_file: required with cert_file (mutual TLS needs both)'],
      [`  key_file: ${pki.client.keyFile}\n`, 'imom.yaml:2: tls.cert_file: required with key_file (mutual TLS needs both)'],
      [`  cert_file: ${pki.client.certFile}\n  key_file: ${pki.otherClient.keyFile}\n`, `imom.yaml:3: tls.key_file: key_file ${pki.otherClient.keyFile} is not the private key of cert_file ${pki.client.certFile}`],
      [`  min_version: TLS1.2\n`, 'imom.yaml:2: tls.min_version: Invalid option: expected one of "TLS10"|"TLS11"|"TLS12"|"TLS13"'],
      [`  ca: ${pki.caFile}\n`, 'imom.yaml:2: tls.ca: unknown key "ca"'],
    ];
    for (const [yaml, want] of cases) {
      const got = problem(yaml);
      assert.equal(got, want);
      assert.ok(!got.includes('-----BEGIN'));
    }
  });

  test('aliases (Kafka\'s ca, cert, key) give the same TlsConfig, checked and reported at the key as written', () => {
    const kafkaTls = tlsSchemaWithAliases({ ca: 'ca_file', cert: 'cert_file', key: 'key_file' });
    const parse = (yaml: string) => parseConfigText(`tls:\n${yaml}`, 'imom.yaml', z.object({ tls: kafkaTls }).strict()).tls;
    assert.deepEqual(parse(`  { ca: ${pki.caFile}, cert: ${pki.client.certFile}, key: ${pki.client.keyFile} }\n`),
      settings(`  { ca_file: ${pki.caFile}, cert_file: ${pki.client.certFile}, key_file: ${pki.client.keyFile} }\n`));
    assert.equal(problem(`  ca: /nonexistent/ca.pem\n`, kafkaTls), 'imom.yaml:2: tls.ca: cannot read ca /nonexistent/ca.pem: ENOENT');
    assert.equal(problem(`  ca: ${pki.caFile}\n  ca_file: ${pki.caFile}\n`, kafkaTls), 'imom.yaml:2: tls.ca: set either ca or ca_file, not both');
  });
});

test('imom config schema describes every key of every tls block (Kafka\'s aliases too)', () => {
  const blocks: [string, Record<string, { description?: string }>][] = [];
  const walk = (v: unknown, path: string): void => {
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      const props = (child as { properties?: Record<string, { description?: string }> }).properties;
      if (k === 'tls' && props) blocks.push([path, props]);
      walk(child, `${path}.${k}`);
    }
  };
  walk(configJsonSchema(), '');
  const keys = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify', 'min_version', 'max_version', 'use_system_ca', 'expiry_warning'];
  assert.ok(blocks.some(([p]) => p.includes('kafka')) && blocks.some(([p]) => p.includes('solr')), blocks.map(([p]) => p).join(' '));
  for (const [path, props] of blocks) {
    for (const key of keys) assert.ok(props[key]?.description, `${path}.tls.${key} has no description`);
    for (const [key, p] of Object.entries(props)) assert.ok(p.description, `${path}.tls.${key} has no description`);
  }
  const kafka = blocks.find(([p]) => p.includes('kafka'))![1];
  assert.deepEqual(['ca', 'cert', 'key'].map((k) => kafka[k]?.description), ['Alias of ca_file', 'Alias of cert_file', 'Alias of key_file']);
});

describe('loadTls', () => {
  test('options for node:tls; the key and certificates print as [redacted]; our certificate listed', () => {
    const t = loadTls(settings(`  { ca_file: ${pki.caFile}, cert_file: ${pki.client.certFile}, key_file: ${pki.client.keyFile}, server_name: localhost }\n`));
    assert.equal(t.options.rejectUnauthorized, true);
    assert.equal(t.options.minVersion, 'TLSv1.2');
    assert.equal(t.options.servername, 'localhost');
    assert.equal(t.hasClientCert, true);
    assert.deepEqual(t.warnings, []);
    assert.equal(t.ownCertificates.length, 1);
    assert.equal(t.ownCertificates[0]!.file, pki.client.certFile);
    assert.equal(t.ownCertificates[0]!.subject, 'CN=imom-agent');
    for (const shown of [inspect(t, { depth: 9 }), JSON.stringify(t), String(t.options.key), `${String(t.options.cert)}`]) {
      assert.ok(!shown.includes('-----BEGIN') && !shown.includes('PRIVATE'), shown);
      assert.ok(shown.includes('[redacted]'));
    }
  });

  test('a key file readable by others gives a warning line; group-readable does not', () => {
    const key = join(dir, 'loose-key.pem');
    copyFileSync(pki.client.keyFile, key);
    const load = () => loadTls(settings(`  { cert_file: ${pki.client.certFile}, key_file: ${key} }\n`));
    chmodSync(key, 0o640);
    assert.deepEqual(load().warnings, []);
    chmodSync(key, 0o644);
    assert.deepEqual(load().warnings, [`TLS key file ${key} is readable by others (mode 0644); chmod o-r it`]);
  });

  test('use_system_ca loads the operating system\'s store beside ca_file (or the bundled CAs)', () => {
    const system = getCACertificates('system');
    assert.ok(system.length > 0, 'the machine has a system store (ca-certificates)');
    const withFile = loadTls(settings(`  { ca_file: ${pki.caFile}, use_system_ca: true }\n`)).options.ca as unknown[];
    assert.equal(withFile.length, 1 + system.length);
    assert.deepEqual(withFile.slice(1), system);
    const alone = loadTls(settings(`  { use_system_ca: true }\n`)).options.ca as unknown[];
    assert.equal(alone.length, getCACertificates('bundled').length + system.length);
    assert.equal(loadTls(settings(`  { insecure_skip_verify: false }\n`)).options.ca, undefined);
  });

  test('loading again after the certificate file is replaced uses the new certificate', async () => {
    const port = await nodeServer(pki.server, { ca: readFileSync(pki.caFile), requestCert: true, rejectUnauthorized: true });
    const cert = join(dir, 'reload.pem');
    const key = join(dir, 'reload-key.pem');
    copyFileSync(pki.client.certFile, cert);
    copyFileSync(pki.client.keyFile, key);
    const cfg = settings(`  { ca_file: ${pki.caFile}, cert_file: ${cert}, key_file: ${key} }\n`);
    const first = loadTls(cfg);
    copyFileSync(pki.soonExpiringClient.certFile, cert);
    copyFileSync(pki.soonExpiringClient.keyFile, key);
    const second = loadTls(cfg);
    assert.ok(first.ownCertificates[0]!.notAfter.getTime() - second.ownCertificates[0]!.notAfter.getTime() > 20 * DAY);
    for (const [t, made] of [[first, pki.client], [second, pki.soonExpiringClient]] as const) {
      const o = await attempt(port, t);
      assert.ok('ok' in o, 'raw' in o ? o.raw : '');
      assert.equal(o.ok, `ok CN=imom-agent serial ${new X509Certificate(readFileSync(made.certFile)).serialNumber}`);
    }
  });
});

describe('describeTlsFailure against real TLS servers', () => {
  const tlsOf = (yaml: string) => loadTls(settings(yaml));

  test('the server\'s certificate refused here: unknown CA, host name mismatch, expired; one phrase each', async () => {
    const trusting = tlsOf(`  ca_file: ${pki.caFile}\n`);
    assert.equal(await failure(await nodeServer(pki.otherCaServer), trusting),
      'TLS handshake failed: the server certificate is not trusted: signed by an unknown CA');
    // No ca_file: Node's bundled CAs do not know the test CA either.
    assert.equal(await failure(await nodeServer(pki.server), tlsOf(`  min_version: TLS12\n`), '127.0.0.1', 'Solr'),
      'TLS handshake failed: the Solr certificate is not trusted: signed by an unknown CA');
    const wrongHost = await nodeServer(pki.wrongHost);
    assert.equal(await failure(wrongHost, trusting),
      'TLS handshake failed: the server certificate is not trusted: host name mismatch (127.0.0.1 is not among its names: DNS:wrong.example)');
    assert.equal(await failure(await nodeServer(pki.server), tlsOf(`  { ca_file: ${pki.caFile}, server_name: db.example }\n`)),
      'TLS handshake failed: the server certificate is not trusted: host name mismatch (db.example is not among its names: IP Address:127.0.0.1, DNS:localhost)');
    assert.equal(await failure(await nodeServer(pki.expiredServer), trusting, 'localhost', 'broker'),
      'TLS handshake failed: the broker certificate is not trusted: expired');
    // server_name makes the wrong-host certificate right; insecure_skip_verify accepts anything.
    assert.ok('ok' in await attempt(wrongHost, tlsOf(`  { ca_file: ${pki.caFile}, server_name: wrong.example }\n`)));
    assert.ok('ok' in await attempt(await nodeServer(pki.expiredServer), tlsOf(`  { insecure_skip_verify: true }\n`)));
  });

  test('client certificate required but not given, and refused (other CA, expired), over TLS 1.2 and 1.3', async () => {
    const port = await opensslServer('mtls');
    for (const v of ['TLS12', 'TLS13']) {
      const base = `  ca_file: ${pki.caFile}\n  max_version: ${v}\n`;
      const withCert = (c: TestCert) => tlsOf(`${base}  cert_file: ${c.certFile}\n  key_file: ${c.keyFile}\n`);
      assert.equal(await failure(port, tlsOf(base), '127.0.0.1', 'Solr'), 'TLS handshake failed: Solr requires a client certificate (cert_file and key_file are not set)', v);
      assert.equal(await failure(port, withCert(pki.otherClient)), 'TLS handshake failed: the server refused the client certificate: signed by a CA it does not trust', v);
      assert.equal(await failure(port, withCert(pki.expiredClient)), 'TLS handshake failed: the server refused the client certificate: expired', v);
      const ok = await attempt(port, withCert(pki.client));
      assert.ok('ok' in ok && ok.ok === 'olleh', v);
    }
  });

  test('a protocol version below the server\'s minimum, and a plaintext port', async () => {
    const port = await nodeServer(pki.server, { minVersion: 'TLSv1.3' });
    assert.equal(await failure(port, tlsOf(`  { ca_file: ${pki.caFile}, max_version: TLS12 }\n`), '127.0.0.1', 'Loki'),
      'TLS handshake failed: Loki refused the protocol version (none of the TLS versions we offer is allowed there)');
    assert.ok('ok' in await attempt(port, tlsOf(`  { ca_file: ${pki.caFile} }\n`)));
    // An HTTP server answers the ClientHello with an HTTP error; another port just closes.
    const http = createTcpServer((c) => { c.on('error', () => undefined); c.once('data', () => c.end('HTTP/1.1 400 Bad Request\r\n\r\n')); });
    const closing = createTcpServer((c) => { c.on('error', () => undefined); c.once('data', () => c.destroy()); });
    for (const s of [http, closing]) {
      await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
      servers.push(s);
    }
    const trusting = tlsOf(`  ca_file: ${pki.caFile}\n`);
    assert.equal(await failure((http.address() as AddressInfo).port, trusting), 'TLS handshake failed: not a TLS port (the server answered in plaintext)');
    assert.equal(await failure((closing.address() as AddressInfo).port, trusting), 'TLS handshake failed: the server closed the connection during the handshake (not a TLS port?)');
  });

  test('not a TLS failure: undefined, also for wrapped errors; a wrapped one is found', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });
    assert.equal(describeTlsFailure(refused, { peer: 'server', hasClientCert: false }), undefined);
    assert.equal(describeTlsFailure(new TypeError('fetch failed', { cause: refused }), { peer: 'server', hasClientCert: false }), undefined);
    const expired = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    assert.equal(describeTlsFailure(new TypeError('fetch failed', { cause: expired }), { peer: 'Solr', hasClientCert: false }),
      'TLS handshake failed: the Solr certificate is not trusted: expired');
    assert.equal(describeTlsFailure('a string', { peer: 'server', hasClientCert: false }), undefined);
  });
});

describe('certificate expiry', () => {
  test('our certificate within expiry_warning, or past its end: one phrase naming file, subject and date', () => {
    const soon = loadTls(settings(`  { cert_file: ${pki.soonExpiringClient.certFile}, key_file: ${pki.soonExpiringClient.keyFile} }\n`)).ownCertificates[0]!;
    const end = soon.notAfter.getTime();
    const iso = soon.notAfter.toISOString().replace(/\.000Z$/, 'Z');
    assert.equal(certificateExpiry(soon, end - 8 * DAY - 3_600_000, 14 * DAY), `TLS certificate ${pki.soonExpiringClient.certFile} (CN=imom-agent) expires ${iso}, in 8 days`);
    assert.equal(certificateExpiry(soon, end - 5 * 3_600_000, 14 * DAY), `TLS certificate ${pki.soonExpiringClient.certFile} (CN=imom-agent) expires ${iso}, in 5 hours`);
    assert.equal(certificateExpiry(soon, end + 2 * DAY, 14 * DAY), `TLS certificate ${pki.soonExpiringClient.certFile} (CN=imom-agent) expired ${iso}, 2 days ago`);
    assert.equal(certificateExpiry(soon, end - 15 * DAY, 14 * DAY), undefined);
    // The one made ending in 3 days is inside the default 14 days now; the 30-day one is not.
    assert.match(certificateExpiry(soon, Date.now(), 14 * DAY) ?? '', /, in 2 days$/);
    const client = loadTls(settings(`  { cert_file: ${pki.client.certFile}, key_file: ${pki.client.keyFile} }\n`)).ownCertificates[0]!;
    assert.equal(certificateExpiry(client, Date.now(), 14 * DAY), undefined);
  });

  test('the server\'s certificate as seen on the socket', async () => {
    const o = await attempt(await nodeServer(pki.expiredServer), loadTls(settings(`  insecure_skip_verify: true\n`)));
    assert.ok('ok' in o);
    const seen = peerCertificate(o.socket);
    assert.deepEqual(seen, { subject: 'CN=localhost', notAfter: new Date('2020-02-01T00:00:00Z') });
    assert.equal(certificateExpiry({ ...seen, of: 'Solr 127.0.0.1:8983' }, Date.parse('2020-01-25T00:00:00Z'), 14 * DAY),
      'TLS certificate of Solr 127.0.0.1:8983 (CN=localhost) expires 2020-02-01T00:00:00Z, in 7 days');
  });
});
