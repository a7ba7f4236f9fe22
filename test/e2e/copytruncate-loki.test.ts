/**
 * A console log rotated by copytruncate every 10,000 records while it is written, end to end:
 * app.log → `imom qhash split --follow` → console.log + query.log → Promtail → Loki.
 *
 * Promtail tailing a copytruncated file itself loses the lines written after its last read
 * (promtail-faults.test.ts measures it). The splitter finds the copy by its first and last read
 * bytes and reads the rest from it, and Promtail tails the splitter's outputs, which are never
 * truncated. So every record must arrive once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countLines, queryAll, startLoki, startPromtail, waitForCount, type LokiHandle, type PromtailHandle } from '../harness/loki.js';
import { followSplit } from '../harness/cli.js';
import { removeDir, tempDir, type Daemon } from '../harness/proc.js';
import { account, ranges, springLine, writeNumbered } from '../promtail/util.js';

const TOTAL = 50_000;
const EVERY = 10_000;
const SQL_EVERY = 10;
const started = Date.now() - 60_000;

let loki: LokiHandle;
let promtail: PromtailHandle;
let splitter: Daemon;
let dir: string;

/** Record n: an order line carrying Seq=<tag>-<n>; every 10th after a MyBatis statement, every 5,000th an ERROR with a stack trace. */
function consoleRecord(tag: string, n: number, d: Date): string {
  // A thread per record: Loki keeps one of two entries with the same timestamp and text, and a
  // burst shares one millisecond.
  const thread = `exec-${n}`;
  const out: string[] = [];
  if (n % SQL_EVERY === 3) {
    const mapper = 'c.e.shop.mapper.OrderMapper.selectById';
    out.push(springLine(d, 'DEBUG', thread, mapper, '==>  Preparing: SELECT id, status FROM orders WHERE id = ?'));
    out.push(springLine(d, 'DEBUG', thread, mapper, `==> Parameters: ${n}(Long)`));
  }
  if (n % 5_000 === 7) {
    out.push(`${springLine(d, 'ERROR', thread, 'c.e.shop.web.OrderController', `payment failed Seq=${tag}-${n}`)}\njava.lang.IllegalStateException: card declined\n\tat com.example.shop.PayService.charge(PayService.java:42)`);
  } else out.push(springLine(d, 'INFO', thread, 'c.e.shop.OrderService', `order placed Seq=${tag}-${n}`));
  return out.join('\n');
}

before(async () => {
  dir = tempDir('e2e-copytruncate');
  loki = await startLoki();
  const console_ = join(dir, 'console.log');
  const query = join(dir, 'query.log');
  splitter = followSplit({ input: join(dir, 'app.log'), console: console_, query, stateDir: join(dir, 'state'), logFile: join(dir, 'splitter.out') });
  promtail = await startPromtail({ lokiUrl: loki.url, env: 'test', host: 'shop.example.com', app: 'shop', appHost: 'shop.example.com', server: 'shop-01', consoleLog: console_, queryLog: query, checkLogDir: join(dir, 'nochecks') });
});

after(async () => {
  await Promise.allSettled([splitter?.stop(), promtail?.close(), loki?.close()]);
  removeDir(dir);
});

test('copytruncate every 10,000 records of a console log: the splitter reads the rest from each copy, and Loki gets every record once', async (t) => {
  // ~5,000 records/s in bursts of 250 every 50 ms; each truncate right after a burst, so the
  // newest records are unread (the case Promtail alone loses).
  const rotations = await writeNumbered(join(dir, 'app.log'), { tag: 'ct', count: TOTAL, batch: 250, pauseMs: 50, rotateEvery: EVERY, rotation: 'copytruncate', line: consoleRecord });
  assert.equal(rotations, 4);

  const sel = '{job="shop", env="test", server="shop-01", query="false"}';
  const statements = TOTAL / SQL_EVERY;
  // An end marker written last: the splitter and Promtail each keep the order of the file, so
  // once Loki has the marker it has everything written before it.
  appendFileSync(join(dir, 'app.log'), `${springLine(new Date(), 'INFO', 'exec-end', 'c.e.shop.OrderService', 'end marker Seq=end-1')}\n`);
  await waitForCount(loki.url, `${sel} |= "Seq=end-1"`, 1, { start: started, timeoutMs: 120_000 });
  const n = await countLines(loki.url, `${sel} != "Seq=end-1"`, { start: started });
  const a = account(await queryAll(loki.url, `${sel} |= "Seq=ct-"`, { start: started }), 'ct', 0, TOTAL);
  t.diagnostic(`copytruncate x${rotations} via the splitter: ${TOTAL} records written, ${a.received} in Loki, ${a.missing.length} lost, ${a.duplicated.length} duplicated; ${n} console entries in all`);
  assert.deepEqual({ missing: ranges(a.missing), duplicated: ranges(a.duplicated) }, { missing: '', duplicated: '' });
  // Every record once, and each of the 5,000 statements once (folded to a line with its QHash).
  assert.equal(n, TOTAL + statements);

  const errors = await queryAll(loki.url, '{job="shop", query="false", level="ERROR"}', { start: started });
  assert.equal(errors.length, TOTAL / 5_000);
  for (const e of errors) assert.match(e.line, /\n\tat com\.example\.shop\.PayService\.charge/, 'the stack trace stays with its entry');

  // One shape: written to the query log once, even across the rotations of the input.
  assert.equal((await queryAll(loki.url, '{job="shop", query="true"}', { start: started })).length, 1);
  assert.doesNotMatch(readFileSync(join(dir, 'splitter.out'), 'utf8'), /emptied in place/, 'the splitter found every copy');
});
