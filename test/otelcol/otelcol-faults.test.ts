/**
 * The real collector (otelcol/otelcol.yaml) under the faults Promtail is tested with
 * (test/promtail/promtail-faults.test.ts), counted in the real Loki: a graceful restart, kill -9
 * while lines are written, rotation every 10,000 lines by rename-and-create and by copytruncate
 * (without and with `imom qhash split --follow` in front), and Loki down for 60 s with the
 * exporter's sending queue on disk. Each test prints what was lost and what shows twice.
 * One Loki and one collector for the whole file; each test writes its own check file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, removeDir, sleep, tempDir, waitFor } from '../harness/proc.js';
import { countLines, queryAll, startLoki, waitForCount, type LokiHandle } from '../harness/loki.js';
import { startOtelcol, type OtelcolHandle } from '../harness/otelcol.js';
import { followSplit } from '../harness/cli.js';
import { account, END, linesIn, ranges, ROTATION, withoutEnd, writeNumbered } from '../promtail/util.js';

let loki: LokiHandle;
let otelcol: OtelcolHandle;
let dir: string;
let logs: string;
const started = Date.now() - 60_000;

before(async () => {
  dir = tempDir('oc-faults');
  logs = join(dir, 'imom');
  mkdirSync(logs);
  loki = await startLoki();
  otelcol = await startOtelcol({ lokiUrl: loki.url, checkLogDir: logs, env: 'test', host: 'faults.example.com' });
});

after(async () => {
  await otelcol?.close();
  await loki?.close();
  removeDir(dir);
});

const sel = (check: string, env = 'test') => `{job="imom", env="${env}", check="${check}"}`;

/**
 * Appends the end marker to `file` and waits until Loki has it: the receiver reads a file in
 * order and the one queue consumer sends in order, so every line before it that was read has
 * been sent. Returns count_over_time without the marker (an entry stored twice counts twice).
 */
async function settle(file: string, check: string, env = 'test'): Promise<number> {
  appendFileSync(file, `${END}\n`);
  await waitForCount(loki.url, `${sel(check, env)} |= "Seq=end-1"`, 1, { start: started, timeoutMs: 180_000 });
  return countLines(loki.url, withoutEnd(sel(check, env)), { start: started });
}

/** Lost and duplicated lines of `tag`, from Loki's log query and its count. */
async function tally(check: string, tag: string, total: number, stored: number, env = 'test') {
  const a = account(await queryAll(loki.url, withoutEnd(sel(check, env)), { start: started }), tag, 0, total);
  return { lost: a.missing.length, shownTwice: a.duplicated.length, storedTwice: stored - (total - a.missing.length), missing: ranges(a.missing), a };
}

test('graceful restart: offsets kept, nothing lost, nothing re-read', async (t) => {
  const file = join(logs, 'restart.log');
  await writeNumbered(file, { tag: 'r', count: 5_000, batch: 500, pauseMs: 20 });
  await waitForCount(loki.url, sel('restart'), 5_000, { start: started });
  await otelcol.stop();
  await writeNumbered(file, { tag: 'r', from: 5_000, count: 5_000, batch: 500 }); // while it is down
  await otelcol.restart();
  const n = await settle(file, 'restart');
  const r = await tally('restart', 'r', 10_000, n);
  const reread = await otelcol.accepted('file_log/checks');
  t.diagnostic(`restart: 10000 written, ${n} in Loki, ${r.lost} lost, ${r.storedTwice} duplicated; read after the restart ${reread} (5,000 new + the end marker)`);
  assert.deepEqual({ missing: r.missing, duplicated: ranges(r.a.duplicated), n }, { missing: '', duplicated: '', n: 10_000 });
  assert.equal(reread, 5_001, 'after the restart the collector read only the 5,000 new lines and the end marker');
});

test('kill -9 of the collector while the agent writes: nothing lost; what shows twice is bounded by what it re-read', async (t) => {
  const file = join(logs, 'killed.log');
  // ~2,000 lines/s, and the second half only after the kill: the kill lands while the collector
  // is reading and queueing (the first half takes ~5 s), and lines are written while it is down.
  let killed!: () => void;
  const afterKill = new Promise<void>((res) => (killed = res));
  const write = async () => {
    await writeNumbered(file, { tag: 'k', count: 10_000, batch: 100, pauseMs: 50 });
    await afterKill;
    await writeNumbered(file, { tag: 'k', from: 10_000, count: 10_000, batch: 100, pauseMs: 50 });
  };
  // The counter runs since this collector started (the test above included).
  const read0 = await otelcol.accepted('file_log/checks');
  const writing = write();
  await waitFor(async () => (await otelcol.accepted('file_log/checks')) - read0 >= 2_000, 60_000, 'the collector read 2,000 lines');
  const readBefore = (await otelcol.accepted('file_log/checks')) - read0;
  await otelcol.kill();
  const writtenAtKill = linesIn(file);
  killed();
  await otelcol.restart();
  await writing;
  const n = await settle(file, 'killed');
  const r = await tally('killed', 'k', 20_000, n);
  const readAfter = (await otelcol.accepted('file_log/checks')) - 1;
  t.diagnostic(`kill -9 after ~${readBefore} lines read, ${writtenAtKill} written: 20000 written, ${n} in Loki, ${r.lost} lost, ${r.storedTwice} stored twice, ${r.shownTwice} shown twice by log queries; read after the restart ${readAfter} (${readBefore + readAfter - 20_000} read twice)`);
  assert.equal(r.missing, '', 'nothing lost');
  assert.ok(r.storedTwice <= readAfter, `stored twice ${r.storedTwice} <= read after the restart ${readAfter}`);
});

const { total: TOTAL, every: EVERY, write: WRITE } = ROTATION;

test('rotation by rename-and-create every 10,000 lines: none lost, none duplicated', async (t) => {
  const file = join(logs, 'rot_rename.log');
  assert.equal(await writeNumbered(file, { ...WRITE, tag: 'rename', rotation: 'rename' }), 4);
  const n = await settle(file, 'rot_rename');
  const r = await tally('rot_rename', 'rename', TOTAL, n);
  t.diagnostic(`rename: ${TOTAL} written, ${n} in Loki, ${r.lost} lost, ${r.storedTwice} duplicated`);
  assert.deepEqual({ missing: r.missing, duplicated: ranges(r.a.duplicated), n }, { missing: '', duplicated: '', n: TOTAL });
});

test('rotation by copytruncate every 10,000 lines, the collector alone: with <file>.log.1 in include none lost, none duplicated; with *.log only, the unread tails are lost', async (t) => {
  const file = join(logs, 'rot_copytruncate.log');
  // A second collector on the same file with the include list Promtail has (*.log only), as env
  // "test-one-glob": what the fingerprint buys is the difference between the two.
  const oneGlob = join(dir, 'one-glob.yaml');
  const config = readFileSync(join(REPO_ROOT, 'otelcol', 'otelcol.yaml'), 'utf8');
  const rotatedLine = /^ +- \$\{env:IMOM_CHECK_LOG_DIR:-\/var\/log\/imom\}\/\*\.log\.1\n/m;
  assert.match(config, rotatedLine);
  writeFileSync(oneGlob, config.replace(rotatedLine, ''));
  const second = await startOtelcol({ lokiUrl: loki.url, checkLogDir: logs, env: 'test-one-glob', host: 'faults.example.com', configFile: oneGlob });
  try {
    assert.equal(await writeNumbered(file, { ...WRITE, tag: 'ct', rotation: 'copytruncate' }), 4);
    const n = await settle(file, 'rot_copytruncate');
    const r = await tally('rot_copytruncate', 'ct', TOTAL, n);
    const n1 = await settle(file, 'rot_copytruncate', 'test-one-glob');
    const r1 = await tally('rot_copytruncate', 'ct', TOTAL, n1, 'test-one-glob');
    t.diagnostic(`copytruncate, include *.log and *.log.1: ${TOTAL} written, ${n} in Loki, ${r.lost} lost [${r.missing}], ${r.storedTwice} duplicated`);
    t.diagnostic(`copytruncate, include *.log only: ${TOTAL} written, ${n1} in Loki, ${r1.lost} lost [${r1.missing}], ${r1.storedTwice} duplicated`);
    assert.deepEqual({ missing: r.missing, duplicated: ranges(r.a.duplicated), n }, { missing: '', duplicated: '', n: TOTAL });
    // Without the copy in view, what was appended after the last read and before the truncate is
    // gone, as for Promtail; the last block, never truncated, is whole.
    for (const m of r1.a.missing) assert.ok(m < TOTAL - EVERY, `line ${m} lost from the last block, which is never truncated`);
  } finally {
    await second.close();
  }
});

test('rotation by copytruncate with `imom qhash split --follow` in front: none lost, none duplicated', async (t) => {
  const raw = join(dir, 'raw');
  mkdirSync(raw, { recursive: true });
  const input = join(raw, 'rot_ct_imom.log');
  const output = join(logs, 'rot_ct_imom.log');
  const splitter = followSplit({ input, console: output, query: join(raw, 'query.log'), stateDir: join(raw, 'state'), logFile: join(raw, 'splitter.out') });
  try {
    // The splitter (tsx) may take seconds to start on a loaded machine, longer than the first
    // 10,000 lines take to write and copytruncate: start writing once it has passed a first burst.
    await writeNumbered(input, { tag: 'cti', count: 250 });
    await waitFor(() => existsSync(output) && linesIn(output) >= 250, 60_000, 'the splitter passed the first lines');
    assert.equal(await writeNumbered(input, { ...WRITE, from: 250, count: TOTAL - 250, tag: 'cti', rotation: 'copytruncate' }), 4);
    const n = await settle(input, 'rot_ct_imom');
    const r = await tally('rot_ct_imom', 'cti', TOTAL, n);
    t.diagnostic(`copytruncate via the splitter: ${TOTAL} written, ${n} in Loki, ${r.lost} lost, ${r.storedTwice} duplicated`);
    assert.deepEqual({ missing: r.missing, duplicated: ranges(r.a.duplicated), n }, { missing: '', duplicated: '', n: TOTAL });
  } finally {
    await splitter.stop();
  }
});

test('Loki down for 60 s, the collector killed -9 during it: the sending queue on disk delivers every line once Loki is back', async (t) => {
  const file = join(logs, 'outage.log');
  await writeNumbered(file, { tag: 'o', count: 2_000, batch: 200, pauseMs: 20 });
  await waitForCount(loki.url, sel('outage'), 2_000, { start: started });
  const down = Date.now();
  await loki.stop();
  // Read (offsets saved) but not sent: these lines exist only in the queue on disk when the
  // collector dies, and in the file behind its saved offset.
  const before = await otelcol.accepted('file_log/checks');
  await writeNumbered(file, { tag: 'o', from: 2_000, count: 8_000, batch: 400, pauseMs: 20 });
  await waitFor(async () => (await otelcol.accepted('file_log/checks')) - before >= 8_000, 60_000, 'the collector read the lines written during the outage');
  await otelcol.kill();
  await otelcol.restart();
  await writeNumbered(file, { tag: 'o', from: 10_000, count: 2_000, batch: 400, pauseMs: 20 });
  await sleep(Math.max(0, 60_000 - (Date.now() - down)));
  await loki.restart();
  const n = await settle(file, 'outage');
  const r = await tally('outage', 'o', 12_000, n);
  // Lines read since the last offset sync before the kill are read again (at least once).
  const reread = (await otelcol.accepted('file_log/checks')) - 2_000 - 1;
  t.diagnostic(`Loki down ${Math.round((Date.now() - down) / 1000)} s incl. catch-up, collector killed during it: 12000 written, ${n} in Loki, ${r.lost} lost, ${r.storedTwice} stored twice (${r.shownTwice} shown twice); re-read after the kill ${reread}`);
  assert.equal(r.missing, '', 'nothing lost');
  assert.ok(r.storedTwice <= Math.max(0, reread), `stored twice ${r.storedTwice} <= re-read ${reread}`);
});
