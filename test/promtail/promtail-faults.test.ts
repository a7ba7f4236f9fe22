/**
 * Promtail under faults, counted in the real Loki: restarts (graceful and kill -9) keep
 * positions, and rotation every 10,000 lines while Promtail tails the file, by
 * rename-and-create and by copytruncate.
 *
 * Note on "zero duplicated": after a kill -9, Promtail re-reads from the last saved
 * position (synced every 2 s; from the start of a file it had not saved yet) and sends
 * those lines again. Check lines carry their own timestamp, so a re-sent line is
 * identical (stream, timestamp, line) to the first copy. Loki stores it twice
 * (count_over_time counts both), and its log queries collapse only some of the pairs:
 * with 19,571 lines re-sent, 7,861 showed twice. Promtail cannot do better, so the
 * kill -9 test asserts that nothing is lost and that what shows twice is bounded by
 * what Promtail re-read, and reports both. The graceful-restart test checks Promtail's
 * own counter: there the positions file prevents any re-send.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';
import { countLines, queryAll, startLoki, startPromtail, waitForCount, type LokiHandle, type PromtailHandle } from '../harness/loki.js';
import { followSplit } from '../harness/cli.js';
import { account, END, linesIn, ranges, ROTATION, withoutEnd, writeNumbered } from './util.js';

let loki: LokiHandle;
let promtail: PromtailHandle;
let dir: string;
let logs: string;
const started = Date.now() - 60_000;

before(async () => {
  dir = tempDir('pt-faults');
  logs = join(dir, 'imom');
  mkdirSync(logs);
  loki = await startLoki();
  promtail = await startPromtail({ lokiUrl: loki.url, checkLogDir: logs, env: 'test', host: 'faults.example.com' });
});

after(async () => {
  await promtail?.close();
  await loki?.close();
  removeDir(dir);
});

const sel = (check: string) => `{job="imom", env="test", check="${check}"}`;

async function readLines(path: string): Promise<number> {
  const m = new RegExp(`promtail_read_lines_total\\{path="${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\} (\\d+)`).exec(await promtail.metrics());
  return m ? Number(m[1]) : 0;
}

/**
 * Appends the end marker to `file` (after everything else written to it) and waits until Loki
 * has it: Promtail reads a file in order and pushes one batch at a time, so every line before
 * it that Promtail read has been pushed. Returns the count without the marker.
 */
async function settle(file: string, check: string, selector = sel(check)): Promise<number> {
  appendFileSync(file, `${END}\n`);
  await waitForCount(loki.url, `${selector} |= "Seq=end-1"`, 1, { start: started, timeoutMs: 120_000 });
  return countLines(loki.url, withoutEnd(selector), { start: started });
}

test('positions survive a graceful restart: nothing lost, nothing re-sent', async (t) => {
  const file = join(logs, 'restart.log');
  await writeNumbered(file, { tag: 'r', count: 5_000, batch: 500, pauseMs: 20 });
  await waitForCount(loki.url, sel('restart'), 5_000, { start: started });
  await promtail.stop();
  assert.ok(existsSync(promtail.positionsFile));
  assert.match(readFileSync(promtail.positionsFile, 'utf8'), /restart\.log/);
  await writeNumbered(file, { tag: 'r', from: 5_000, count: 5_000, batch: 500 }); // written while Promtail is down
  await promtail.restart();
  const n = await settle(file, 'restart');
  const a = account(await queryAll(loki.url, withoutEnd(sel('restart')), { start: started }), 'r', 0, 10_000);
  t.diagnostic(`in Loki ${n}; Promtail read ${await readLines(file)} lines after the restart`);
  assert.deepEqual({ missing: ranges(a.missing), duplicated: ranges(a.duplicated), received: a.received }, { missing: '', duplicated: '', received: 10_000 });
  assert.equal(await readLines(file), 5_000 + 1, 'after the restart Promtail read only the 5,000 new lines (and the end marker)');
});

test('kill -9 of Promtail while the agent writes: nothing lost; what shows twice is bounded by what it re-read', async (t) => {
  const file = join(logs, 'killed.log');
  // The second half is written only after the kill: the kill lands while the agent is still
  // writing, however fast or slow the machine (the first half may or may not be done by then).
  let killed!: () => void;
  const afterKill = new Promise<void>((res) => (killed = res));
  const writing = (async () => {
    await writeNumbered(file, { tag: 'k', count: 10_000, batch: 200, pauseMs: 20 });
    await afterKill;
    await writeNumbered(file, { tag: 'k', from: 10_000, count: 10_000, batch: 200, pauseMs: 20 });
  })();
  // Kill once Promtail has pushed some lines, so it dies with a saved position and more to read.
  await waitForCount(loki.url, sel('killed'), 2_000, { start: started, timeoutMs: 60_000 });
  await promtail.kill();
  killed();
  // Restart once lines were written while it was down.
  await waitFor(() => linesIn(file) >= 12_000, 60_000, 'lines written while Promtail is down');
  await promtail.restart();
  await writing;
  const n = await settle(file, 'killed');
  const a = account(await queryAll(loki.url, withoutEnd(sel('killed')), { start: started }), 'k', 0, 20_000);
  const reread = (await readLines(file)) - 1; // without the end marker
  t.diagnostic(`after the restart Promtail read ${reread} lines (from its last saved position); count_over_time says ${n}, i.e. ${n - 20_000} entries stored twice; log queries return ${a.received}, ${a.duplicated.length} lines twice`);
  assert.equal(ranges(a.missing), '', 'nothing lost');
  // Re-sent lines are bounded by what was read since the last positions sync.
  assert.ok(n - 20_000 <= reread, `excess ${n - 20_000} <= re-read ${reread}`);
  assert.ok(a.duplicated.length <= n - 20_000, `shown twice ${a.duplicated.length} <= stored twice ${n - 20_000}`);
  assert.equal(a.received, 20_000 + a.duplicated.length, 'every other line once');
});

const { total: TOTAL, every: EVERY, write: WRITE } = ROTATION;

test('rotation by rename-and-create every 10,000 lines while Promtail tails: none lost, none duplicated', async (t) => {
  const file = join(logs, 'rot_rename.log');
  assert.equal(await writeNumbered(file, { ...WRITE, tag: 'rename', rotation: 'rename' }), 4);
  const n = await settle(file, 'rot_rename');
  const a = account(await queryAll(loki.url, withoutEnd(sel('rot_rename')), { start: started }), 'rename', 0, TOTAL);
  t.diagnostic(`rename: ${TOTAL} written, ${n} in Loki, ${a.missing.length} lost, ${a.duplicated.length} duplicated`);
  assert.deepEqual({ missing: ranges(a.missing), duplicated: ranges(a.duplicated), n }, { missing: '', duplicated: '', n: TOTAL });
});

test('rotation by copytruncate, default config (*.log): Promtail loses the unread tail before each truncate, duplicates none', async (t) => {
  const file = join(logs, 'rot_copytruncate.log');
  assert.equal(await writeNumbered(file, { ...WRITE, tag: 'ct', rotation: 'copytruncate' }), 4);
  const n = await settle(file, 'rot_copytruncate');
  const a = account(await queryAll(loki.url, withoutEnd(sel('rot_copytruncate')), { start: started }), 'ct', 0, TOTAL);
  t.diagnostic(`copytruncate (*.log): ${TOTAL} written, ${n} in Loki, ${a.missing.length} lost [${ranges(a.missing)}], ${a.duplicated.length} duplicated`);
  assert.equal(ranges(a.duplicated), '', 'no duplicates');
  // What Promtail cannot avoid: lines appended after its last read and before the
  // truncate exist only in the copy, and Promtail reopens the truncated file at 0.
  // Everything else arrives, however far behind Promtail was: what a block lost is its
  // unread tail (from the first lost line to the truncate, all lost), and the last block,
  // never truncated, is whole.
  const missing = new Set(a.missing);
  for (const m of a.missing) {
    assert.ok(m < TOTAL - EVERY, `line ${m} lost from the last block, which is never truncated`);
    const blockEnd = (Math.floor(m / EVERY) + 1) * EVERY;
    for (let k = m; k < blockEnd; k++) assert.ok(missing.has(k), `line ${m} lost but line ${k}, after it and before the truncate, arrived`);
  }
});

test('rotation by copytruncate with `imom qhash split --follow` in front: none lost, none duplicated', async (t) => {
  // The same writer and rotation as above; the splitter tails the copytruncated file (outside
  // Promtail's glob), reads what it had not read from each copy, and passes the check lines
  // through byte for byte to a file that Promtail tails and nobody truncates.
  const raw = join(dir, 'raw');
  mkdirSync(raw, { recursive: true });
  const input = join(raw, 'rot_ct_imom.log');
  const splitter = followSplit({ input, console: join(logs, 'rot_ct_imom.log'), query: join(raw, 'query.log'), stateDir: join(raw, 'state'), logFile: join(raw, 'splitter.out') });
  try {
    assert.equal(await writeNumbered(input, { ...WRITE, tag: 'cti', rotation: 'copytruncate' }), 4);
    const n = await settle(input, 'rot_ct_imom');
    const a = account(await queryAll(loki.url, withoutEnd(sel('rot_ct_imom')), { start: started }), 'cti', 0, TOTAL);
    t.diagnostic(`copytruncate via the splitter: ${TOTAL} written, ${n} in Loki, ${a.missing.length} lost, ${a.duplicated.length} duplicated`);
    assert.deepEqual({ missing: ranges(a.missing), duplicated: ranges(a.duplicated), n }, { missing: '', duplicated: '', n: TOTAL });
  } finally {
    await splitter.stop();
  }
  assert.doesNotMatch(readFileSync(join(raw, 'splitter.out'), 'utf8'), /emptied in place/);
});
