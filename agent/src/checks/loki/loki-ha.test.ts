/**
 * The loki check against the real HA cluster of loki/loki-ha.yaml (test/harness/loki-ha.ts:
 * versitygw, three members -target=all with replication factor 3, nginx), all three members
 * configured as the README asks (their own ports, not nginx). One cluster for the file; the
 * faults are real: a member killed with -9, the store killed while lines wait to be flushed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLokiHa, objectsUnder, type LokiHaHandle, type MemberHandle } from '../../../../test/harness/loki-ha.js';
import { pushStreams } from '../../../../test/harness/loki.js';
import { flushFailureLine, lokiCycler, storeErrorLine, type LokiCycler } from '../../../../test/harness/loki-check.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';

let ha: LokiHaHandle;
let dir: string;
let check: LokiCycler;
const started = Date.now();

const hostPort = (m: MemberHandle) => `127.0.0.1:${m.port}`;
const okLine = (m: MemberHandle) => `Status=OK, Loki=${hostPort(m)}, Ready=ready, Version=3.7.8, Ring_Members=3, Ring_Active=3`;
const ringOk = (m: MemberHandle) => `Status=OK, Ring_Member=${m.id}, State=ACTIVE, Address=127.0.0.1:${m.grpcPort}`;
/** A healthy cycle: each member's OK line, and the first member's three ring lines (sorted: members run concurrently). */
const healthy = () => [...ha.members.map(okLine), ...ha.members.map(ringOk)].sort();
const sorted = async () => (await check.cycle()).sort();
/** `imom check --once` over the three members, as an operator would run it (config and state under dir/once). */
const once = () => checkOnce(checkConfig(join(dir, 'once'), `  loki:\n    - name: logs\n      url: [${ha.members.map((m) => m.url).join(', ')}]`));
const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

before(async () => {
  dir = tempDir('loki-check-ha');
  ha = await startLokiHa();
  check = await lokiCycler(dir, { url: ha.members.map((m) => m.url) });
  mkdirSync(join(dir, 'once'));
  console.log(`cluster up in ${secs(started)} s`);
});

after(async () => {
  await check?.close();
  await ha?.close();
  if (dir) removeDir(dir);
  console.log(`checks/loki/loki-ha.test.ts: ${secs(started)} s`);
});

test('healthy: an OK line per member with Ring_Members=3, Ring_Active=3, and the ring once, from the first member', async () => {
  assert.deepEqual(await sorted(), healthy());
  assert.deepEqual(await sorted(), healthy(), 'a second healthy cycle: the same lines, no counter line');
  const r = await once();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...r.lines].sort(), healthy());
});

test('a member killed with -9: unreachable; a live member reports it UNHEALTHY once its heartbeat is older than heartbeat_timeout (1m); restarted: OK again', { timeout: 300_000 }, async () => {
  // The first member: the ring's reporter, so the next ready one has to take over.
  const [victim, next] = [ha.members[0]!, ha.members[1]!];
  const down = `CRITICAL: Loki member ${hostPort(victim)} is unreachable (connect ECONNREFUSED ${hostPort(victim)})`;
  const unhealthy = new RegExp(`^CRITICAL: Ring member ${victim.id} \\(127\\.0\\.0\\.1:${victim.grpcPort}\\) is UNHEALTHY in the ingester ring, last heartbeat \\d+s ago, seen from ${hostPort(next).replace(/\./g, '\\.')}$`);
  const t0 = Date.now();
  await victim.kill();
  const first = await check.cycle();
  assert.ok(first.includes(down), first.join('\n'));
  const r = await once();
  assert.equal(r.code, 1, 'a CRITICAL line: exit 1');
  assert.ok(r.lines.includes(down), r.lines.join('\n'));
  // The ingester ring's heartbeat_timeout is Loki's 1m (loki-ha.yaml sets only the ruler ring's, 30s).
  const cycles: string[][] = [];
  const seen = await waitFor(async () => {
    const lines = await check.cycle();
    cycles.push(lines);
    return lines.some((l) => unhealthy.test(l)) ? lines : undefined;
  }, 180_000, `the ring line for ${victim.id} UNHEALTHY`, 2_000);
  // waitFor retries a probe that throws: the cycles are checked here.
  for (const c of cycles) assert.ok(c.includes(down), c.join('\n'));
  console.log(`UNHEALTHY after ${secs(t0)} s:\n  ${seen.sort().join('\n  ')}`);
  // The live members stay ready (readiness latches) and count one ACTIVE member less.
  for (const m of ha.members.slice(1)) assert.ok(seen.includes(okLine(m).replace('Ring_Active=3', 'Ring_Active=2')), seen.join('\n'));
  assert.ok(seen.includes(ringOk(next)) && seen.includes(ringOk(ha.members[2]!)), seen.join('\n'));

  const t1 = Date.now();
  await victim.start();
  await ha.waitActive();
  // The first cycle after the start is the new process's baseline; the ring goes back to the first member.
  const back = await waitFor(async () => {
    const lines = await sorted();
    return JSON.stringify(lines) === JSON.stringify(healthy()) ? lines : undefined;
  }, 60_000, 'a healthy cycle after the restart', 1_000);
  assert.deepEqual(back, healthy());
  console.log(`OK again ${secs(t1)} s after the start (${secs(t0)} s after the kill)`);
});

test('the store killed while lines wait to be flushed: flush-failure and object store lines per member; restarted: OK cycles again', { timeout: 300_000 }, async () => {
  assert.deepEqual(await sorted(), healthy(), 'a baseline cycle before the fault');
  // Chunk objects are <tenant>/<fingerprint>/…; the TSDB index is under index/.
  const chunks = () => objectsUnder(ha.chunksDir).filter((k) => k.startsWith('fake/')).length;
  const before = chunks();
  await ha.store.kill();
  const t0 = Date.now();
  await pushStreams(ha.url, [{ labels: { job: 'loki-check-ha', env: 'test' }, entries: Array.from({ length: 100 }, (_, i) => [Date.now() - 100 + i, `line ${i} while the store is down`] as const) }]);
  await ha.flush();
  const seen: string[] = [];
  const failing = (l: string) => l.includes('chunk flush failure(s)') || l.includes('object store request error(s)');
  await waitFor(async () => {
    seen.push(...await check.cycle());
    // Every member holds every stream (replication factor 3), so each one fails its flush.
    return ha.members.every((m) => seen.some((l) => flushFailureLine(hostPort(m)).test(l)) && seen.some((l) => storeErrorLine(hostPort(m), 'S3.PutObject').test(l)));
  }, 120_000, 'the flush-failure and object store lines of every member', 2_000);
  const failures = [...new Set(seen.filter(failing))];
  console.log(`store down, lines after ${secs(t0)} s:\n  ${failures.join('\n  ')}`);
  // Every failure line has the README's shape; the members stay ready and their ring ACTIVE.
  for (const l of failures) assert.ok(ha.members.some((m) => flushFailureLine(hostPort(m)).test(l) || storeErrorLine(hostPort(m)).test(l)), l);
  assert.ok(seen.every((l) => !l.startsWith('CRITICAL:')), seen.join('\n'));

  await ha.store.start();
  const t1 = Date.now();
  // Failures counted before the start may show in the first cycles; then healthy cycles only.
  await waitFor(async () => JSON.stringify(await sorted()) === JSON.stringify(healthy()), 120_000, 'a healthy cycle after the store is back', 2_000);
  for (let i = 0; i < 2; i++) assert.deepEqual(await sorted(), healthy(), 'no new failure line once the store is back');
  // The chunks kept in memory reach the bucket at the flush's next retry (backoff 10 s to 1 min).
  await waitFor(() => chunks() > before, 120_000, 'the retried chunks in the bucket', 1_000);
  assert.deepEqual(await sorted(), healthy(), 'and no failure line after the retried flush');
  console.log(`store back: healthy cycles, chunks in the bucket ${secs(t1)} s after the start`);
});
