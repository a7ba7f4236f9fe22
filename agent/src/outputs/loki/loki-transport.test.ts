/**
 * The Loki transport's parts that need no Loki: the schema, status classes, the spool, the
 * bound (against a real closed port) and redaction. Everything Loki answers is tested against a
 * real Loki in test/loki-push/ (429, 400 dead letters, outage, secrets, kill -9, tiebreaks).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import winston from 'winston';
import { z } from 'zod';
import { tempDirs } from '../../../../test/harness/proc.js';
import { ConfigError } from '../../config/errors.js';
import { parseConfigText } from '../../config/load.js';
import { outputsSchema } from '../registry.js';
import { inProcess } from '../../../../test/loki-push/util.js';
import { encodePushRequest } from '../../../../test/loki-push/proto.js';
import { PushEncoder } from './encode.js';
import type { SpoolReport } from './report.js';
import { lokiOutputSchema, type LokiOutputInput } from './schema.js';
import { classifyStatus } from './sender.js';
import { Spool } from './spool.js';
import { selectorOf } from './transport.js';

const dirs = tempDirs('loki-unit');
after(dirs.removeAll);
const dir = dirs.make;

/** A transport to `url` (default: loopback port 1, where nothing listens: a real ECONNREFUSED). */
function make(over: Partial<LokiOutputInput>) {
  const config = { url: 'http://127.0.0.1:1', spool_dir: dir(), batch: { max_wait: '10ms' }, retry: { min_backoff: '5ms', max_backoff: '20ms' }, ...over };
  return inProcess(config, 'h1', 'test');
}

function logN(logger: winston.Logger, n: number, prefix = 'line', extra: Record<string, unknown> = {}) {
  const time = new Date('2030-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) logger.info({ message: `Status=OK, ${prefix}=${i}`, check: 'redis', status: 'OK', time, ...extra });
}

/** The problem `imom config validate` reports for `outputs: { loki: <body> }` (body indented under loki:). */
function lokiConfigProblem(body: string): string {
  try {
    parseConfigText(`outputs:\n  loki:\n${body.replace(/^/gm, '    ')}\n`, 'imom.yaml', z.object({ outputs: outputsSchema }), {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('the config validated');
}

describe('outputs.loki schema', () => {
  it('fills defaults and is strict', () => {
    const c = lokiOutputSchema.parse({ url: 'http://loki:3100' });
    assert.equal(c.transport, 'http');
    assert.deepEqual(c.batch, { max_lines: 10_000, max_bytes: 1_048_576, max_wait: 1000 });
    assert.equal(c.spool_full_policy, 'drop_oldest');
    assert.equal(c.spool_fsync, 1000);
    assert.equal(lokiConfigProblem('url: http://loki:3100\nnope: 1'), 'imom.yaml:4: outputs.loki.nope: unknown key "nope"');
    assert.equal(lokiOutputSchema.parse({ url: 'grpc://loki:9095', transport: 'grpc', spool_fsync: 'always' }).spool_fsync, 'always');
  });

  it('rejects credentials in the URL, both auth kinds, reserved labels and a scheme that does not match the transport', () => {
    // [config under outputs.loki (its first line is line 3 of imom.yaml), FILE:LINE: path: message]
    const bad: [string, string][] = [
      ['url: http://u:p@loki:3100', 'imom.yaml:3: outputs.loki.url: credentials in the URL are not allowed; use basic_auth or bearer_token'],
      ['url: http://loki:3100\nbasic_auth: { username: u, password: p }\nbearer_token: t', 'imom.yaml:5: outputs.loki.bearer_token: use either basic_auth or bearer_token, not both'],
      ['url: http://loki:3100\nlabels: { level: x }', 'imom.yaml:4: outputs.loki.labels.level: label "level" is set by the agent and cannot be overridden'],
      ['url: http://loki:3100\nlabels: { bad-name: x }', 'imom.yaml:4: outputs.loki.labels.bad-name: expected a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'],
      ['url: http://loki:3100\ntransport: grpc', 'imom.yaml:3: outputs.loki.url: transport grpc expects a grpc:// or grpcs:// URL'],
      ['url: grpc://loki\ntransport: grpc', 'imom.yaml:3: outputs.loki.url: a grpc URL needs a port (Loki serves gRPC on 9095 by default)'],
    ];
    for (const [body, problem] of bad) assert.equal(lokiConfigProblem(body), problem, body);
  });

  it('never echoes a secret in a validation error', () => {
    const r = lokiOutputSchema.safeParse({ url: 'ftp://loki', bearer_token: 'tok-SUPERSECRET', basic_auth: { username: 'u', password: 'pw-SUPERSECRET' } });
    assert.equal(r.success, false);
    assert.doesNotMatch(JSON.stringify(r.error) + String(r.error), /SUPERSECRET/);
    assert.equal(lokiConfigProblem('url: ftp://loki\nbearer_token: tok-SUPERSECRET\nbasic_auth: { username: u, password: pw-SUPERSECRET }'), [
      'imom.yaml:4: outputs.loki.bearer_token: use either basic_auth or bearer_token, not both',
      'imom.yaml:3: outputs.loki.url: transport http expects a http:// or https:// URL',
    ].join('\n'));
  });
});

describe('classifyStatus', () => {
  it('retries 429, 5xx and auth/route errors; rejects other 4xx', () => {
    assert.equal(classifyStatus(204, '').kind, 'ok');
    for (const s of [429, 500, 502, 503, 504, 401, 403, 404, 408]) assert.equal(classifyStatus(s, '').kind, 'retry', String(s));
    for (const s of [400, 413, 422]) assert.equal(classifyStatus(s, '').kind, 'reject', String(s));
  });
});

describe('Spool', () => {
  const reports: SpoolReport[] = [];
  const opts = (d: string) => ({ dir: d, maxBytes: 8 << 20, policy: 'drop_oldest' as const, fsync: 1000, frameMaxLines: 100, frameMaxBytes: 1 << 20, report: (r: SpoolReport) => reports.push(r) });
  const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ labels: '{"job":"x"}', ms: 1_900_000_000_000 + i + from, sub: 7, line: `l${i + from} ✓` }));

  it('keeps what is not acknowledged across a reopen, and forgets what is', () => {
    const d = dir();
    const s = new Spool(opts(d));
    s.open();
    assert.equal(s.append(lines(250)), 250);
    const b = s.readBatch(100, 1 << 20)!;
    assert.equal(b.lines, 100);
    assert.deepEqual(b.streams.get('{"job":"x"}')![0], { ms: 1_900_000_000_000, sub: 7, line: Buffer.from('l0 ✓') });
    s.ack(b);
    s.readBatch(100, 1 << 20); // in flight, never acknowledged: a crash
    s.close();
    const s2 = new Spool(opts(d));
    assert.equal(s2.open().recoveredLines, 150);
    const again = s2.readBatch(1000, 1 << 20)!;
    assert.equal(again.lines, 150);
    assert.equal(again.streams.get('{"job":"x"}')![0]!.line.toString(), 'l100 ✓');
    s2.ack(again);
    assert.equal(s2.pendingLines, 0);
    s2.close();
    assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.spool')), []);
  });

  it('encodes a batch straight from the frames, byte for byte what protobufjs makes of it, across segments', () => {
    const d = dir();
    // Small segments and frames: batches span segments and many frames of three streams.
    const s = new Spool({ ...opts(d), frameMaxLines: 7, frameMaxBytes: 300, segmentBytes: 4096 });
    s.open();
    const L = ['{"a":"1"}', '{"a":"2","b":"ü"}', '{"z":"x"}'];
    let total = 0;
    for (let r = 0; r < 50; r++) {
      total += s.append(Array.from({ length: 1 + ((r * 7) % 23) }, (_, i) => ({
        labels: L[(i * r) % 3]!,
        ms: 1_900_000_000_000 + r * 13 + i - (r === 3 ? 1_950_000_000_000 : 0), // one run before 1970
        sub: i % 4 === 0 ? 0 : (i * 999) % 1_000_000,
        line: i === 5 ? '' : `${'x'.repeat((i * 37) % 200)}✓${i}`,
      })));
    }
    const enc = new PushEncoder();
    const sel = (l: string) => selectorOf(JSON.parse(l) as Record<string, string>);
    let got = 0;
    for (let b = s.readBatch(40, 2000); b; b = s.readBatch(40, 2000)) {
      // A frame cut at max_bytes carries only the streams of its own lines.
      for (const [l, es] of b.streams) assert.ok(es.length > 0, `empty stream ${l} in the batch at ${JSON.stringify(b.start)}`);
      const mine = Buffer.from(enc.encode(b, sel).body);
      const ref = encodePushRequest([...b.streams].map(([l, es]) => ({
        labels: sel(l),
        entries: es.map((e) => {
          const sec = Math.floor(e.ms / 1000);
          return { timestamp: { seconds: sec, nanos: (e.ms - sec * 1000) * 1_000_000 + e.sub }, line: e.line };
        }),
      })));
      assert.ok(mine.equals(Buffer.from(ref)), `batch at ${JSON.stringify(b.start)}`);
      got += b.lines;
      s.ack(b);
    }
    assert.equal(got, total);
    s.close();
  });

  it('is locked by one process: a live holder refuses the open, a dead holder\'s lock is taken over', async () => {
    const d = dir();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(d, 'lock'), `${child.pid}\n`);
      assert.throws(() => new Spool(opts(d)).open(), new RegExp(`in use by process ${child.pid}`));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    // The holder is dead now: its lock is stale.
    const s = new Spool(opts(d));
    s.open();
    assert.equal(readFileSync(join(d, 'lock'), 'utf8').trim(), String(process.pid));
    s.close();
    assert.deepEqual(readdirSync(d).filter((f) => f.startsWith('lock')), []);
  });

  it('cuts a torn tail (a write cut short by kill -9) and keeps every whole frame', () => {
    const d = dir();
    const s = new Spool(opts(d));
    s.open();
    s.append(lines(30));
    s.append(lines(30, 30));
    const seg = readdirSync(d).find((f) => f.endsWith('.spool'))!;
    // Simulate a crash: no close(), and half a frame appended.
    appendFileSync(join(d, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const before = reports.length;
    const s2 = new Spool(opts(d));
    assert.equal(s2.open().recoveredLines, 60);
    assert.ok(reports.slice(before).some((r) => r.code === 'spool_torn_tail'));
    const b = s2.readBatch(1000, 1 << 20)!;
    assert.equal(b.lines, 60);
    s2.close();
  });
});

describe('LokiTransport', () => {
  it('redacts the password, its basic-auth token and a bearer token from anything it says', async () => {
    const password = 'pw-Zq8!secret';
    const token = Buffer.from(`alice:${password}`).toString('base64');
    const basic = make({ basic_auth: { username: 'alice', password } });
    const bearer = make({ bearer_token: 'tok-9f8e7d6c' });
    try {
      // "alice:" is 6 bytes, so the token's tail is the base64 of the password alone.
      assert.equal(basic.t.redact(`HTTP 401: bad credentials Basic ${token} (${password})`), 'HTTP 401: bad credentials Basic **** (****)');
      assert.equal(bearer.t.redact('echo: Authorization: Bearer tok-9f8e7d6c'), 'echo: Authorization: Bearer ****');
    } finally {
      await Promise.all([basic.t.shutdown(), bearer.t.shutdown()]);
    }
  });

  for (const policy of ['drop_oldest', 'drop_newest'] as const) {
    it(`at the bound (${policy}) drops lines, counts every one and reports ERROR`, async () => {
      // Loki unreachable for real: nothing listens on the default URL's port.
      const { t, logger, reports } = make({ spool_max_bytes: 1 << 20, spool_full_policy: policy, batch: { max_lines: 500, max_wait: '10ms' }, shutdown_timeout: '10ms' });
      const N = 30_000; // ~2.5 MB of frames into a 1 MiB spool
      logN(logger, N, 'x'.repeat(40));
      assert.equal(await t.spooled(10_000), true);
      await t.shutdown();
      const st = t.stats();
      assert.ok(st.droppedAtBound > 0);
      assert.equal(st.accepted + (policy === 'drop_newest' ? st.droppedAtBound : 0), N);
      assert.equal(st.pending + st.droppedAtBound, N);
      assert.ok(st.spoolBytes <= 1 << 20);
      const full = reports.filter((r) => r.code === 'spool_full');
      assert.ok(full.length >= 1 && full[0]!.level === 'ERROR');
      assert.match(full[0]!.message, new RegExp(policy));
    });
  }
});
