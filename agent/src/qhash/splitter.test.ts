import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSql } from './fingerprint.js';
import { compileParser, DEFAULT_PARSER_CONFIG } from './parser.js';
import { Splitter, type SplitOptions } from './splitter.js';

const opts = (over: Partial<SplitOptions> = {}): SplitOptions => ({ parser: compileParser(DEFAULT_PARSER_CONFIG), example: false, maxShapes: 1000, ...over });

/** Runs the splitter over `input` pushed in the given chunk sizes. */
function split(input: Buffer, o: SplitOptions = opts(), cuts: number[] = []): { console: Buffer; query: string; sp: Splitter } {
  const sp = new Splitter(o);
  const con: Buffer[] = [];
  let q = '';
  let pos = 0;
  for (const c of [...cuts, input.length]) {
    const end = Math.min(input.length, pos + c);
    if (end > pos) sp.push(Buffer.from(input.subarray(pos, end)));
    pos = end;
    const out = sp.take();
    con.push(...out.console);
    q += Buffer.concat(out.query).toString();
  }
  sp.end();
  const out = sp.take();
  con.push(...out.console);
  q += Buffer.concat(out.query).toString();
  return { console: Buffer.concat(con), query: q, sp };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TS = '2021-05-25 18:32:35.710';

/**
 * Property: random mixes of non-SQL text (garbage bytes, invalid UTF-8, CR, NUL, stack traces)
 * and SQL records come out as exactly the non-SQL bytes, in order, with each SQL record replaced
 * by its prefix and QHash, whatever the chunking.
 */
test('fuzz: every non-SQL byte comes out unchanged and in order, SQL becomes prefix + QHash', () => {
  for (let iter = 0; iter < 300; iter++) {
    const r = rng(1000 + iter);
    const int = (n: number) => Math.floor(r() * n);
    const segs: Buffer[] = [];
    const expected: Buffer[] = [];
    const nSegs = 1 + int(40);
    for (let k = 0; k < nSegs; k++) {
      const eol = r() < 0.3 ? '\r\n' : '\n';
      const kind = int(6);
      if (kind <= 1) {
        // Garbage: random bytes without newline, may start with anything but a timestamp.
        const n = int(200);
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) {
          let c = int(256);
          if (c === 10) c = 0xff;
          b[i] = c;
        }
        const line = Buffer.concat([Buffer.from('x'), b, Buffer.from(eol)]);
        // A non-timestamped line right after a SQL block would belong to it: put a plain record first.
        const plain = Buffer.from(`${TS} INFO 1 --- [main] c.e.Plain : before garbage ${k}${eol}`);
        segs.push(plain, line);
        expected.push(plain, line);
      } else if (kind === 2) {
        const s = Buffer.from(`${TS} ERROR 1 --- [t-${k}] c.e.Svc : failed${eol}java.lang.IllegalStateException: boom ${k}${eol}\tat c.e.Svc.run(Svc.java:${k})${eol}\t... 3 more${eol}`);
        segs.push(s);
        expected.push(s);
      } else {
        const id = int(1e6);
        const table = ['pay', 'users', 'orders'][int(3)]!;
        const variant = int(3);
        const prefix = `${TS} DEBUG 1 --- [t-${int(5)}] c.e.Mapper : `;
        let rec: string;
        let shape: string;
        let kept = prefix;
        if (variant === 0) {
          rec = `${prefix}boundSql : select a, b${eol}    from ${table}${eol}   where id = ${id}${eol}`;
          shape = `select a, b from ${table} where id = 1`;
        } else if (variant === 1) {
          rec = `${prefix}==>  Preparing: select * from ${table} where id = ?${eol}`;
          shape = `select * from ${table} where id = ?`;
        } else {
          rec = `${prefix}1621935155710|3|statement|connection 7|url jdbc:x|update ${table} set v=? where id=?|update ${table} set v='é' where id=${id}${eol}`;
          shape = `update ${table} set v=? where id=?`;
          kept = `${prefix}1621935155710|3|statement|connection 7|url jdbc:x|`;
        }
        segs.push(Buffer.from(rec));
        expected.push(Buffer.from(`${kept}"QHash":"${fingerprintSql(shape).qhash}"${eol}`));
      }
    }
    // Sometimes drop the last newline: the final record is then unterminated at EOF.
    let input = Buffer.concat(segs);
    let exp = Buffer.concat(expected);
    if (r() < 0.3 && input[input.length - 1] === 10) {
      const crlf = input[input.length - 2] === 13 ? 2 : 1;
      input = input.subarray(0, input.length - crlf);
      exp = exp.subarray(0, exp.length - crlf);
    }
    const cuts = Array.from({ length: int(8) }, () => 1 + int(300));
    const got = split(input, opts(), cuts);
    if (!got.console.equals(exp)) {
      let d = 0;
      while (d < exp.length && exp[d] === got.console[d]) d++;
      const around = (b: Buffer) => JSON.stringify(b.toString('latin1', Math.max(0, d - 200), d + 200));
      assert.fail(`iteration ${iter}: console differs at byte ${d}\nexpected: ${around(exp)}\ngot:      ${around(got.console)}`);
    }
    // Each shape once in the query log.
    const hashes = got.query.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { QHash: string }).QHash);
    assert.equal(new Set(hashes).size, hashes.length, `iteration ${iter}: a shape was written twice`);
  }
});

test('lines over 1 MB pass through whole; long SQL is replaced, not leaked', () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'a');
  const longSql = `select ${'c, '.repeat(700_000)}d from t where id = 5`;
  const input = Buffer.concat([
    Buffer.from(`${TS} INFO 1 --- [main] c.e.Big : `), big, Buffer.from('\n'),
    Buffer.from(`${TS} DEBUG 1 --- [main] c.e.M : ==>  Preparing: ${longSql}\n`),
    Buffer.from(`1621935155710|3|statement|connection 7|url jdbc:x|${longSql}|${longSql}\n`),
    Buffer.from(`${TS} INFO 1 --- [main] c.e.Big : after\n`),
  ]);
  const got = split(input, opts(), [65536, 65536, 1 << 20, 5]);
  const lines = got.console.toString('latin1').split('\n');
  assert.equal(lines.length, 5);
  assert.equal(lines[0]!.length, `${TS} INFO 1 --- [main] c.e.Big : `.length + big.length);
  assert.match(lines[1]!, /: "QHash":"[0-9a-f]{32}"$/);
  assert.match(lines[2]!, /^1621935155710\|3\|statement\|connection 7\|url jdbc:x\|"QHash":"[0-9a-f]{32}"$/);
  assert.equal(lines[3], `${TS} INFO 1 --- [main] c.e.Big : after`);
  assert.ok(!got.console.includes('c, c, c'), 'SQL text leaked to the console');
  assert.ok(got.query.includes('"truncated":true'));
});

test('invalid UTF-8 and binary garbage pass through byte for byte', () => {
  const junk = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0d, 0xe2, 0x82, 0x0a]);
  const input = Buffer.concat([Buffer.from(`${TS} INFO 1 --- [main] c.e.X : `), junk, Buffer.from(`${TS} DEBUG 1 --- [main] c.e.M : boundSql : select '`), Buffer.from([0xc3, 0x28]), Buffer.from("' from t\n")]);
  const got = split(input);
  assert.ok(got.console.subarray(0, `${TS} INFO 1 --- [main] c.e.X : `.length + junk.length).equals(input.subarray(0, `${TS} INFO 1 --- [main] c.e.X : `.length + junk.length)));
  // The junk line passes through; the boundSql line after it (invalid UTF-8 in its literal) becomes its prefix + QHash.
  assert.match(got.console.toString('latin1'), /\n\S+ \S+ DEBUG 1 --- \[main\] c\.e\.M : "QHash":"[0-9a-f]{32}"\n$/);
});

test('a SQL block unterminated at EOF is flushed; unparseable SQL gets a stable fallback QHash', () => {
  const a = split(Buffer.from(`${TS} DEBUG 1 --- [main] c.e.M : boundSql : select 'oops\n   from t`));
  const b = split(Buffer.from(`${TS} DEBUG 1 --- [x] c.e.M : boundSql : select   'oops from\tt\n`));
  assert.match(a.console.toString(), /^2021-05-25 18:32:35\.710 DEBUG 1 --- \[main\] c\.e\.M : "QHash":"([0-9a-f]{32})"$/);
  const ha = /"QHash":"([0-9a-f]{32})"/.exec(a.console.toString())![1];
  const hb = /"QHash":"([0-9a-f]{32})"/.exec(b.console.toString())![1];
  assert.equal(ha, hb);
  assert.equal(a.sp.stats.fallbackShapes, 1);
  assert.equal((JSON.parse(a.query) as { sql: string }).sql, "select 'oops from t");
});

test('query log: one line per new shape, example off by default and on with the flag', () => {
  const input = Buffer.from(
    [1, 2, 3].map((i) => `${TS} DEBUG 1 --- [t${i}] c.e.M : ==>  Preparing: select * from users where email = ?\n${TS} DEBUG 1 --- [t${i}] c.e.M : ==> Parameters: user${i}@example.com(String)\n`).join(''),
  );
  const off = split(input);
  const offLines = off.query.trim().split('\n');
  assert.equal(offLines.length, 1);
  const entry = JSON.parse(offLines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(entry), ['QHash', 'sql', 'first_seen', 'example']);
  assert.equal(entry.example, null);
  assert.equal(entry.first_seen, TS);
  assert.ok(!off.console.includes('example.com') && !off.query.includes('example.com'), 'literals left the host without --example');
  const on = split(input, opts({ example: true }));
  assert.equal((JSON.parse(on.query.trim()) as { example: string }).example, "select * from users where email = 'user1@example.com'");
});

test('the seen set is bounded (LRU) and survives a snapshot', () => {
  const o = opts({ maxShapes: 100 });
  const sp = new Splitter(o);
  for (let i = 0; i < 250; i++) sp.push(Buffer.from(`${TS} DEBUG 1 --- [m] c.e.M : ==>  Preparing: select c${i} from t\n`));
  sp.end();
  const snap = sp.snapshot();
  assert.equal(snap.seen.length, 100);
  const again = new Splitter(o, snap);
  again.push(Buffer.from(`${TS} DEBUG 1 --- [m] c.e.M : ==>  Preparing: select c249 from t\n${TS} DEBUG 1 --- [m] c.e.M : ==>  Preparing: select c0 from t\n`));
  again.end();
  const q = Buffer.concat(again.take().query).toString().trim().split('\n');
  assert.equal(q.length, 1, 'c249 is remembered, c0 was evicted and is written again');
  assert.match(q[0]!, /c0/);
});

test("the agent's check lines pass through byte for byte (so --follow can stand in front of Promtail for any line log)", () => {
  const lines = [
    '2026-11-21 17:40:01 | Status=OK, Slave=127.0.0.1, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes',
    '2026-11-21 17:40:01 | Status=ERROR, Slave=127.0.0.1, Seconds_Behind_Master=NULL, Slave_IO_Running=Yes, Slave_SQL_Running=No',
    '2026-11-21 17:40:02 | CRITICAL: Node 127.0.0.1:6381 is expected to be master but found slave',
    '2026-11-21 17:40:02 | OK: Cluster 127.0.0.1:7000 slots 16384/16384, 3 masters, 3 replicas',
  ];
  const input = Buffer.from(`${lines.join('\n')}\n`.repeat(50));
  const { console, query } = split(input, opts(), [100, 7, 4096]);
  assert.ok(console.equals(input));
  assert.equal(query, '');
});
