/**
 * The QHash searches of the issue, end to end with real parts: a Spring Boot/MyBatis console log
 * → `imom qhash split` → console.log + query.log → Promtail (promtail/promtail.yaml) → Loki.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queryAll, startLoki, startPromtail, waitForCount, type LokiHandle, type PromtailHandle } from '../harness/loki.js';
import { removeDir, tempDir } from '../harness/proc.js';
import { imom } from '../harness/cli.js';
import { springLine } from '../promtail/util.js';

let loki: LokiHandle;
let promtail: PromtailHandle;
let dir: string;
const start = Date.now() - 60_000;

const SELECT = 'SELECT id, user_id, status FROM orders WHERE id = ?';
const UPDATE = 'UPDATE orders SET status = ? WHERE id = ?';

before(async () => {
  dir = tempDir('e2e-qhash');
  loki = await startLoki();
  const console_ = join(dir, 'console.log');
  const query = join(dir, 'query.log');
  const lines: string[] = [];
  let t = 0;
  const log = (level: string, thread: string, logger: string, msg: string) => lines.push(springLine(new Date(Date.now() - 30_000 + t++ * 10), level, thread, logger, msg));
  for (const [i, id] of [1042, 77, 9001].entries()) {
    log('DEBUG', `nio-8080-exec-${i + 1}`, 'c.e.shop.mapper.OrderMapper.selectById', `==>  Preparing: ${SELECT}`);
    log('DEBUG', `nio-8080-exec-${i + 1}`, 'c.e.shop.mapper.OrderMapper.selectById', `==> Parameters: ${id}(Long)`);
  }
  log('DEBUG', 'nio-8080-exec-4', 'c.e.shop.mapper.OrderMapper.updateStatus', `==>  Preparing: ${UPDATE}`);
  log('DEBUG', 'nio-8080-exec-4', 'c.e.shop.mapper.OrderMapper.updateStatus', '==> Parameters: PAID(String), 1042(Long)');
  log('ERROR', 'nio-8080-exec-4', 'c.e.shop.web.OrderController', 'payment failed\njava.lang.IllegalStateException: card declined\n\tat com.example.shop.PayService.charge(PayService.java:42)');
  writeFileSync(join(dir, 'app.log'), `${lines.join('\n')}\n`);
  const r = await imom(['qhash', 'split', join(dir, 'app.log'), '--console', console_, '--query', query]);
  assert.equal(r.code, 0, r.stderr);
  promtail = await startPromtail({ lokiUrl: loki.url, env: 'prod', host: 'pay.example.com', app: 'pay', appHost: 'pay.example.com', server: 'pay-01', consoleLog: console_, queryLog: query, checkLogDir: join(dir, 'nochecks') });
  // Console: 4 statements (each Parameters line folds into its Preparing line) + 1 error entry; query: 2 shapes.
  await waitForCount(loki.url, '{job="pay"}', 5 + 2, { start, timeoutMs: 60_000 });
});

after(async () => {
  await Promise.allSettled([promtail?.close(), loki?.close()]);
  removeDir(dir);
});

async function qhashOf(sql: string): Promise<string> {
  const r = await imom(['qhash', 'fingerprint'], { input: sql });
  return r.stdout.split('\t')[0]!;
}

test('{job="pay", query!="true"} |= "<QHash>" finds every execution of the statement, from the console log', async () => {
  const h = await qhashOf(SELECT);
  const got = await queryAll(loki.url, `{env="prod", query!="true", job="pay", host="pay.example.com", server="pay-01"} |= "${h}"`, { start });
  // Three executions with different literals: one shape, one QHash. No literal reached Loki.
  assert.equal(got.length, 3);
  for (const e of got) {
    assert.ok(e.line.includes(`"QHash":"${h}"`), e.line);
    assert.ok(!/1042|9001/.test(e.line), 'a literal reached the console log');
    assert.equal(e.labels.query, 'false');
  }
  const err = await queryAll(loki.url, '{job="pay", query="false", level="ERROR"}', { start });
  assert.equal(err.length, 1);
  assert.ok(err[0]!.line.includes('\tat com.example.shop.PayService.charge'), 'the stack trace is part of its entry');
});

test('{job="pay", query="true"} | json | QHash="<QHash>" finds its text once, without literals', async () => {
  const h = await qhashOf(SELECT);
  const got = await queryAll(loki.url, `{job="pay", query="true"} | json | QHash="${h}"`, { start });
  assert.equal(got.length, 1, 'each shape is written to the query log once');
  const row = JSON.parse(got[0]!.line) as { QHash: string; sql: string; example: unknown };
  assert.equal(row.QHash, h);
  assert.equal(row.example, null);
  assert.equal(got[0]!.metadata.qhash, h);
  const all = readFileSync(join(dir, 'query.log'), 'utf8').trim().split('\n');
  assert.equal(all.length, 2, 'two shapes, two query-log lines');
});
