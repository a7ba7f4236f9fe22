/**
 * Realistic logs (Spring Boot + logback, MyBatis, p6spy default and custom formats, boundSql
 * blocks, stack traces, interleaved threads, CRLF) through the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, removeDir, run, tempDir } from '../harness/proc.js';

const CORPUS = join(REPO_ROOT, 'test/qhash/corpus');
const CLI = join(REPO_ROOT, 'agent/src/qhash/cli.ts');
const CUSTOM = '#%(currentTime) | took %(executionTime)ms | %(category) | connection %(connectionId)| url %(url)\n%(sql)';

interface Split { console: string; lines: string[]; query: { QHash: string; sql: string; first_seen: string; example: string | null }[] }

async function split(file: string, extra: string[] = []): Promise<Split> {
  const dir = tempDir('qhash-corpus');
  try {
    const con = join(dir, 'console.log');
    const qry = join(dir, 'query.log');
    await run(process.execPath, ['--import', 'tsx', CLI, 'qhash', 'split', join(CORPUS, file), '--console', con, '--query', qry, ...extra], { cwd: REPO_ROOT });
    const text = readFileSync(con, 'latin1');
    const q = readFileSync(qry, 'utf8').trim();
    return { console: text, lines: text.split('\n'), query: q ? q.split('\n').map((l) => JSON.parse(l) as Split['query'][number]) : [] };
  } finally {
    removeDir(dir);
  }
}

const hashOf = (line: string) => /"QHash":"([0-9a-f]{32})"/.exec(line)?.[1];
const inputLines = (file: string) => readFileSync(join(CORPUS, file), 'latin1').split('\n');

/** Every input line that is not SQL must be in the output, in the same order. */
function assertNonSqlInOrder(file: string, out: string[], isSql: (line: string, i: number) => boolean): void {
  const kept = inputLines(file).filter((l, i) => !isSql(l, i));
  let j = 0;
  for (const l of out) if (j < kept.length && l === kept[j]) j++;
  assert.equal(j, kept.length, `non-SQL line missing or out of order: ${JSON.stringify(kept[j])}`);
}

test('Spring Boot boundSql blocks: prefix kept, SQL replaced, stack trace untouched', async () => {
  const r = await split('spring-boundsql.log');
  const sqlLines = r.lines.filter((l) => l.includes('"QHash"'));
  assert.equal(sqlLines.length, 4);
  for (const l of sqlLines) assert.match(l, /^2021-05-25 18:32:35\.71\d -DEBUG 10788 --- \[http-nio-8081-exec-\d+\] oggingSupportStatementHandlerInterceptor : "QHash":"[0-9a-f]{32}"$/);
  // The two executions of the urfee query differ in literals ('Y' vs 'N', IN list length): one shape.
  assert.equal(hashOf(sqlLines[0]!), hashOf(sqlLines[1]!));
  assert.notEqual(hashOf(sqlLines[0]!), hashOf(sqlLines[2]!));
  assert.equal(r.query.length, 3);
  assert.ok(!/select|update pay_mst|insert into/i.test(r.console), 'SQL text left on the console');
  let inBlock = false;
  assertNonSqlInOrder('spring-boundsql.log', r.lines, (l) => {
    if (/^\d{4}-/.test(l)) inBlock = l.includes('boundSql :');
    else if (/^\s*at |^java\.|^\t\.\.\./.test(l)) inBlock = false;
    return inBlock;
  });
  assert.ok(r.console.includes('\tat k.c.e.p.d.PayService.approve(PayService.java:212)\n\t... 87 common frames omitted\n'));
});

test('MyBatis Preparing/Parameters across interleaved threads', async () => {
  const r = await split('mybatis.log', ['--example']);
  const sql = r.lines.filter((l) => l.includes('"QHash"'));
  assert.equal(sql.length, 6);
  assert.ok(!r.console.includes('Parameters:'), 'Parameters lines carry literals and are folded into their Preparing line');
  const byThread = (t: string) => sql.filter((l) => l.includes(`[nio-8080-exec-${t}]`)).map(hashOf);
  assert.equal(byThread('1')[0], byThread('1')[1], 'same statement, different id: same QHash');
  assert.equal(byThread('2')[0], byThread('2')[1]);
  assert.notEqual(byThread('1')[0], byThread('2')[0]);
  assert.equal(r.query.length, 4);
  const users = r.query.find((q) => q.sql.startsWith('SELECT id, email'))!;
  assert.equal(users.example, "SELECT id, email, name FROM users WHERE email = 'kim.minsu@example.co.kr' AND deleted = 0", 'example built from the same thread\'s Parameters');
  const items = r.query.find((q) => q.sql.startsWith('INSERT INTO order_item'))!;
  assert.equal(items.sql, 'INSERT INTO order_item(order_id, sku, qty, price) VALUES (?, ?, ?, ?)', 'multi-row VALUES collapsed');
  assert.match(items.example!, /'SKU-1, blue'/);
  assertNonSqlInOrder('mybatis.log', r.lines, (l) => l.includes('==>'));
});

test('p6spy default single-line format, bare and inside logback lines', async () => {
  const r = await split('p6spy.log');
  const sql = r.lines.filter((l) => l.includes('"QHash"'));
  assert.equal(sql.length, 6);
  assert.match(sql[0]!, /^1685671200123\|0\|statement\|connection 3\|url jdbc:mysql:\/\/db\.internal:3306\/shop\?useSSL=false\|"QHash":"[0-9a-f]{32}"$/, 'time, elapsed and category kept');
  assert.equal(hashOf(sql[0]!), hashOf(sql[1]!));
  assert.equal(hashOf(sql[4]!), hashOf(sql[5]!));
  assert.ok(r.console.includes('|commit|connection 3|url jdbc:mysql://db.internal:3306/shop?useSSL=false||\n'), 'commit lines carry no SQL and pass through');
  const oracle = r.query.find((q) => q.sql.includes('emp'))!;
  assert.equal(oracle.sql, 'SELECT last_nm || ? || first_nm FROM emp WHERE emp_no = ?', 'prepared|sql split correctly despite ||');
  assert.equal(oracle.example, null);
  assert.ok(!r.console.includes('E0091') && !r.console.includes('2048'));
});

test('custom p6spy logMessageFormat from --format, SQL on the following lines', async () => {
  const r = await split('p6spy-custom.log', ['--format', CUSTOM]);
  const sql = r.lines.filter((l) => l.includes('"QHash"'));
  assert.equal(sql.length, 2);
  assert.match(sql[0]!, /^10:00:01\.001 \[http-nio-8080-exec-1\] INFO  p6spy - #1685671201001 \| took 3ms \| statement \| connection 4\| url jdbc:postgresql:\/\/pg:5432\/app "QHash":"[0-9a-f]{32}"$/);
  assert.equal(hashOf(sql[0]!), hashOf(sql[1]!), 'user_id and date literals differ, shape is the same');
  assert.equal(r.query.length, 1);
  assert.ok(r.console.includes('org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout\n\tat org.postgresql'));
  // Without the format the lines are not recognised, and pass through unchanged.
  const plain = await split('p6spy-custom.log');
  assert.equal(plain.console, readFileSync(join(CORPUS, 'p6spy-custom.log'), 'latin1'));
});

test('CRLF line endings are preserved', async () => {
  const r = await split('crlf.log');
  assert.equal(r.lines.length, 4);
  assert.ok(r.lines.slice(0, 3).every((l) => l.endsWith('\r')));
  assert.match(r.lines[1]!, /: "QHash":"[0-9a-f]{32}"\r$/);
});
