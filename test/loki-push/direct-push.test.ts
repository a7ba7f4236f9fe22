/**
 * agent → LokiTransport → real Loki (HTTP protobuf+snappy, and gRPC logproto.Pusher/Push):
 * every line exactly once with the right labels, dead letters on a 4xx, secrets kept, and
 * what Loki's single binary does with gRPC pushes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryAll, queryRange, type LokiHandle } from '../harness/loki.js';
import { tempDirs } from '../harness/proc.js';
import { assertExactlyOnce, inProcess, linesOf, readDeadLetter, startTestLoki } from './util.js';

let loki: LokiHandle;
const spools = tempDirs('loki-spool');
const spoolDir = spools.make;

before(async () => {
  loki = await startTestLoki();
});
after(async () => {
  await loki?.close();
  spools.removeAll();
});

const urlFor = (transport: 'http' | 'grpc') => (transport === 'http' ? loki.url : `grpc://127.0.0.1:${loki.grpcPort}`);

describe('direct push into real Loki', () => {
  for (const transport of ['http', 'grpc'] as const) {
    it(`${transport}: every line arrives exactly once, with job/env/host/check/level and the extra labels`, async () => {
      await assertExactlyOnce(loki.url, { url: urlFor(transport), transport, spool_dir: spoolDir() }, `exact-${transport}.example.com`);
    });
  }

  it('a line Loki refuses for good (too long) goes to the dead-letter file with one ERROR and a count; later lines still arrive', async () => {
    const host = 'dead-letter.example.com';
    const dir = spoolDir();
    const { t, logger, reports } = inProcess({ url: loki.url, spool_dir: dir, batch: { max_wait: '20ms' } }, host);
    logger.log({ level: 'info', message: `p seq=0 ${'x'.repeat(300 * 1024)}`, check: 'solr', status: 'OK', time: new Date() });
    assert.equal(await t.forceFlush(30_000), true);
    logger.log({ level: 'info', message: 'p seq=1 Status=OK, after', check: 'solr', status: 'OK', time: new Date() });
    assert.equal(await t.forceFlush(30_000), true);
    await t.shutdown();

    const st = t.stats();
    assert.equal(st.deadLettered, 1);
    assert.equal(st.sent, 1);
    const errors = reports.filter((r) => r.level === 'ERROR');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'dead_letter');
    assert.match(errors[0]!.message, /HTTP 400/);
    const dl = readDeadLetter(dir);
    assert.equal(dl.length, 1);
    assert.match(dl[0].push.streams[0].values[0][1], /^p seq=0 x{100}/);
    assert.deepEqual(dl[0].push.streams[0].stream, { job: 'imom', env: 'test', host, check: 'solr', level: 'OK' });
    const got = await linesOf(loki.url, host);
    assert.deepEqual(got.map((e) => e.line), ['p seq=1 Status=OK, after']);
  });

  for (const transport of ['http', 'grpc'] as const) {
    it(`${transport}: the password and token never reach Loki, the reports, the dead-letter file or the spool`, async () => {
      const password = 'pw-7Hq2!never-log-me';
      const host = `secret-${transport}.example.com`;
      const dir = spoolDir();
      // Loki here runs with auth off, so it ignores the header: the lines must still carry no secret.
      const { t, logger, reports } = inProcess({ url: urlFor(transport), transport, spool_dir: dir, basic_auth: { username: 'agent', password }, batch: { max_wait: '20ms' } }, host);
      for (let i = 0; i < 50; i++) logger.log({ level: 'info', message: `p seq=${i} Status=OK`, check: 'mysql', status: 'OK', time: new Date() });
      logger.log({ level: 'info', message: `p seq=50 ${'y'.repeat(300 * 1024)}`, check: 'mysql', status: 'OK', time: new Date(Date.now() - 30 * 86_400_000) });
      assert.equal(await t.forceFlush(30_000), true);
      await t.shutdown();
      const got = await linesOf(loki.url, host);
      assert.ok(got.length >= 50);
      let everything = JSON.stringify(got.map((e) => [e.line, e.labels])) + JSON.stringify(reports);
      for (const f of readdirSync(dir)) everything += readFileSync(join(dir, f), 'latin1');
      const b64 = Buffer.from(`agent:${password}`).toString('base64');
      assert.ok(!everything.includes(password) && !everything.includes(b64));
    });
  }

  it('gRPC in the single binary (-target=all) reaches the ingester directly: distributor limits do not apply', async () => {
    // Loki registers logproto.Pusher on the gRPC port with the distributor only when the
    // target includes neither the ingester nor "write" (pkg/loki/modules.go); in -target=all
    // the ingester serves it. So a line over max_line_size (256KB), which HTTP answers with
    // 400, is stored when pushed over gRPC. Documented in agent/src/outputs/loki/README.md.
    const host = 'grpc-ingester.example.com';
    const long = `p seq=0 ${'z'.repeat(300 * 1024)}`;
    const grpc = inProcess({ url: urlFor('grpc'), transport: 'grpc', spool_dir: spoolDir(), batch: { max_wait: '20ms' } }, host);
    grpc.logger.log({ level: 'info', message: long, check: 'redis', status: 'OK', time: new Date() });
    assert.equal(await grpc.t.forceFlush(30_000), true);
    await grpc.t.shutdown();
    assert.equal(grpc.t.stats().sent, 1);
    assert.equal(grpc.t.stats().deadLettered, 0);
    const got = await queryRange(loki.url, `{host="${host}"}`);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.line.length, long.length);
  });
});
