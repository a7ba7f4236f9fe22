/**
 * The splitter's size limits (issue 17, item 8): a record over the 1 MB cut keeps its line ending
 * and leaks no literal, and `qhash fingerprint` caps its input the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, removeDir, REPO_ROOT, tempDir } from '../../../test/harness/proc.js';
import { fingerprintSql } from './fingerprint.js';
import { compileParser, DEFAULT_PARSER_CONFIG } from './parser.js';
import { splitOnce } from './split-once.js';

const TS = '2021-05-25 18:32:35.710';
const MB = 1024 * 1024;

/** One pass of the real splitter over `input` as a file (read in 1 MB chunks, as in production). */
async function splitFile(input: Buffer, example = false): Promise<{ console: Buffer; query: string }> {
  const dir = tempDir('qhash-limits');
  try {
    const p = (n: string) => join(dir, n);
    writeFileSync(p('in.log'), input);
    const split = { parser: compileParser(DEFAULT_PARSER_CONFIG), example, maxShapes: 1000 };
    await splitOnce({ input: p('in.log'), console: p('console.log'), query: p('query.log'), split });
    return { console: readFileSync(p('console.log')), query: readFileSync(p('query.log'), 'utf8') };
  } finally {
    removeDir(dir);
  }
}

/** The one QHash of each query-log line, in order; every line is whole JSON ending in LF. */
function queryHashes(query: string): string[] {
  assert.ok(query.endsWith('\n'), 'query log ends with its line ending');
  return query.slice(0, -1).split('\n').map((l) => (JSON.parse(l) as { QHash: string }).QHash);
}

for (const eol of ['\n', '\r\n']) {
  for (const [name, lead] of [['MyBatis Preparing', '==>  Preparing: '], ['boundSql', 'boundSql : ']] as const) {
    test(`a 3 MB single-line ${name} record keeps its ${JSON.stringify(eol)}: the next record starts on its own line`, async () => {
      const prefix = `${TS} DEBUG 1 --- [main] c.e.M : ${lead}`;
      // 3 MB of one SQL line: the 1 MB read chunks and the 1 MB line limit both fall inside it.
      const big = `select * from t where id in (${Array.from({ length: 450_000 }, (_, i) => i).join(', ')})`;
      assert.ok(big.length > 3 * MB);
      const next = `${TS} INFO 1 --- [main] c.e.X : next record`;
      const small = `${TS} DEBUG 1 --- [main] c.e.M : ==>  Preparing: select a from u where b = ?`;
      const input = Buffer.from(prefix + big + eol + next + eol + small + eol);
      const got = await splitFile(input);
      const [bigHash, smallHash] = queryHashes(got.query);
      assert.match(got.query.split('\n')[0]!, /"truncated":true/);
      // The kept prefix ends before the SQL marker.
      const kept = `${TS} DEBUG 1 --- [main] c.e.M : `;
      const expected = `${kept}"QHash":"${bigHash}"${eol}${next}${eol}${kept}"QHash":"${smallHash}"${eol}`;
      assert.equal(got.console.toString('latin1'), expected);
    });
  }
}

test('a cut inside a string literal writes no literal to the query log unless --example', async () => {
  const MARKER = 'CUSTOMER-SECRET-7d1e';
  // The literal opens well before the 1 MB cut and closes after it.
  const literal = `${MARKER} ${'x'.repeat(2 * MB)} ${MARKER}`;
  const input = Buffer.from(`${TS} DEBUG 1 --- [main] c.e.M : ==>  Preparing: insert into notes (id, body) values (5, '${literal}')\n${TS} INFO 1 --- [main] c.e.X : after\n`);
  const off = await splitFile(input, false);
  assert.equal(queryHashes(off.query).length, 1);
  assert.match(off.query, /"truncated":true/);
  assert.ok(!off.query.includes(MARKER), 'literal text in the query log with --example off');
  assert.ok(!off.query.includes('xxxx'), 'literal text in the query log with --example off');
  assert.ok(!off.console.includes(MARKER), 'literal text on the console');
  assert.match(off.console.toString('latin1'), /^[^\n]* : "QHash":"[0-9a-f]{32}"\n[^\n]* : after\n$/);
  const on = await splitFile(input, true);
  assert.ok(on.query.includes(MARKER), 'with --example the literal is the example');
  assert.deepEqual(queryHashes(on.query), queryHashes(off.query));
});

test('imom qhash fingerprint on 50 MB of stdin reads only its first 1 MB into memory', async () => {
  // An IN list of 50 MB: the whole of it tokenized took 1.85 GB.
  const sql = `select * from t where id in (${Array.from({ length: 7_000_000 }, (_, i) => i).join(', ')})`;
  assert.ok(sql.length > 50 * MB);
  const entry = join(REPO_ROOT, 'agent/src/cli/bin.ts');
  const r = await run('/usr/bin/time', ['-v', process.execPath, '--import', 'tsx', entry, 'qhash', 'fingerprint'], { cwd: REPO_ROOT, input: sql, timeoutMs: 300_000, allowFail: true });
  assert.equal(r.code, 0, r.stderr);
  // The same QHash as `qhash split` gives the record: its first 1 MB, fingerprinted as cut.
  const fp = fingerprintSql(sql.slice(0, MB), true);
  assert.equal(r.stdout, `${fp.qhash}\t${fp.fingerprint}\n`);
  const maxRssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  // Node with tsx and the CLI: 110 MB; with 1 MB of SQL tokenized, 210 MB; the whole 50 MB held and tokenized: 1.05 GB.
  assert.ok(maxRssKb > 0 && maxRssKb < 400 * 1024, `peak RSS ${maxRssKb} kB`);
  assert.match(r.stderr, /input over 1 MB/);
});
