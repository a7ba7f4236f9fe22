/**
 * `npm run bench -- qhash`: the QHash splitter against md5sum on the same generated log.
 *
 * Generates a realistic Spring Boot console log (30% SQL lines: MyBatis Preparing/Parameters,
 * boundSql blocks, p6spy lines; a few thousand shapes; stack traces) under .tmp/, size from
 * IMOM_BENCH_QHASH_MB (default 1024), reused across runs. Then prints the splitter's MB/s on one
 * core, md5sum's MB/s, their ratio, peak RSS (also on a small file, to show it is flat), bytes out
 * against bytes in, and query-log bytes against one entry per execution.
 */
import { isMain } from '../agent/src/core/is-main.js';
import { spawn } from 'node:child_process';
import { launcherFlags } from './launcher-flags.js';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT as ROOT } from '../test/harness/proc.js';
const GENERATOR_VERSION = 2;
const MB = 1024 * 1024;

/** Deterministic PRNG so every run benchmarks the same bytes. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  /** With ? placeholders, on one line. */
  sql: string;
  /** Indented over several lines, as MyBatis XML mappers print it. */
  multi: string;
  params: { type: 'Long' | 'String' | 'Integer'; }[];
  mapper: string;
}

const TABLES = ['pay', 'pay_item', 'users', 'user_addr', 'orders', 'order_line', 'product', 'stock', 'coupon', 'coupon_use', 'refund', 'settle', 'merchant', 'shop', 'cart', 'cart_item', 'delivery', 'invoice', 'point', 'point_hist', 'review', 'notice', 'member_grade', 'card', 'bank_acct', 'payout', 'fee_policy', 'urfee', 'tx_log', 'audit'];
const COLS = ['id', 'uf_seq', 'urfee_cd', 'uee_name', 'tion_yn', 'dount_yn', 'cge_type', 'amt', 'status', 'created_at', 'updated_at', 'user_id', 'order_id', 'shop_id', 'qty', 'price', 'memo', 'grade', 'use_yn', 'del_yn'];

function makeShapes(n: number, rnd: () => number): Shape[] {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const shapes: Shape[] = [];
  const seen = new Set<string>();
  while (shapes.length < n) {
    const t = pick(TABLES);
    const kind = rnd();
    const cols = Array.from({ length: 2 + Math.floor(rnd() * 10) }, () => pick(COLS));
    const where = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(COLS));
    const params: Shape['params'] = [];
    let sql: string;
    let multi: string;
    const cond = where.map((c, i) => {
      params.push({ type: i % 3 === 1 ? 'String' : i % 3 === 2 ? 'Integer' : 'Long' });
      return `t1.${c} = ?`;
    });
    if (kind < 0.6) {
      const order = pick(COLS);
      sql = `select ${cols.map((c) => `t1.${c}`).join(', ')} from ${t} t1 where ${cond.join(' and ')} order by t1.${order} desc limit 20`;
      multi = `select\n${cols.map((c, i) => `              ${i ? ',' : ' '}t1.${c}`).join('\n')}\n          from ${t} t1\n         where ${cond.join('\n           and ')}\n         order by t1.${order} desc\n         limit 20`;
    } else if (kind < 0.8) {
      sql = `update ${t} set ${cols.slice(0, 3).map((c) => `${c} = ?`).join(', ')} where ${where.map((c) => `${c} = ?`).join(' and ')}`;
      params.unshift(...cols.slice(0, 3).map(() => ({ type: 'String' as const })));
      multi = `update ${t}\n           set ${cols.slice(0, 3).map((c) => `${c} = ?`).join('\n             , ')}\n         where ${where.map((c) => `${c} = ?`).join('\n           and ')}`;
    } else {
      sql = `insert into ${t} (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`;
      params.length = 0;
      params.push(...cols.map(() => ({ type: 'String' as const })));
      multi = `insert into ${t} (\n    ${cols.join('\n  , ')}\n) values (\n    ${cols.map(() => '?').join('\n  , ')}\n)`;
    }
    if (seen.has(sql)) continue;
    seen.add(sql);
    shapes.push({ sql, multi, params, mapper: `k.c.e.p.m.${t.replace(/_/g, '')}Mapper.q${shapes.length}` });
  }
  return shapes;
}

export interface Generated {
  file: string;
  bytes: number;
  lines: number;
  sqlLines: number;
  shapes: number;
}

/** Writes the log unless a file of this size and generator version is already there. */
export function generate(mb: number, dir = join(ROOT, '.tmp')): Generated {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `qhash-bench-v${GENERATOR_VERSION}-${mb}mb.log`);
  const meta = `${file}.done`;
  const SHAPES = 3000;
  if (existsSync(meta)) {
    return JSON.parse(readFileSync(meta, 'utf8')) as Generated;
  }
  const rnd = mulberry32(20210525);
  const shapes = makeShapes(SHAPES, rnd);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const target = mb * MB;
  const tmp = `${file}.part`;
  const fd = openSync(tmp, 'w');
  let bytes = 0;
  let lines = 0;
  let sqlLines = 0;
  let out = '';
  let ms = Date.parse('2021-05-25T09:00:00Z');
  const ts = () => {
    ms += Math.floor(rnd() * 3);
    const d = new Date(ms).toISOString();
    return `${d.slice(0, 10)} ${d.slice(11, 23)}`;
  };
  const pad = (s: string, n: number) => (s.length >= n ? s.slice(s.length - n) : s + ' '.repeat(n - s.length));
  const prefix = (level: string, thread: string, logger: string) => `${ts()} -${pad(level, 5)} 10788 --- [${thread}] ${pad(logger, 40)} : `;
  const value = (t: string) => (t === 'String' ? `v${Math.floor(rnd() * 1e6).toString(36)}` : String(Math.floor(rnd() * 1e7)));
  const quoted = (t: string, v: string) => (t === 'String' ? `'${v}'` : v);
  const messages = ['Service start', 'Service end', 'Request received uri=/api/pay/approve', 'Completed 200 OK', 'cache hit key=merchant:', 'Calling PG approve', 'PG response code=0000', 'token validated', 'Response sent in ms=', 'Session refreshed'];
  const loggers = ['k.c.e.p.d.PayService', 'k.c.e.p.d.OrderService', 'o.s.web.servlet.DispatcherServlet', 'k.c.e.p.c.PayController', 'k.c.e.p.s.AuthFilter', 'o.h.e.t.internal.TransactionImpl'];
  const flush = () => {
    const b = Buffer.from(out);
    writeSync(fd, b);
    bytes += b.length;
    out = '';
  };
  while (bytes + out.length < target) {
    const thread = `http-nio-8081-exec-${1 + Math.floor(rnd() * 200)}`;
    if (sqlLines < lines * 0.3) {
      const s = pick(shapes);
      const vals = s.params.map((p) => value(p.type));
      const r = rnd();
      if (r < 0.45) {
        out += `${prefix('DEBUG', thread, s.mapper)}==>  Preparing: ${s.sql}\n`;
        out += `${prefix('DEBUG', thread, s.mapper)}==> Parameters: ${vals.map((v, i) => `${v}(${s.params[i]!.type})`).join(', ')}\n`;
        out += `${prefix('DEBUG', thread, s.mapper)}<==      Total: ${Math.floor(rnd() * 20)}\n`;
        lines += 3;
        sqlLines += 2;
      } else if (r < 0.75) {
        let k = 0;
        const withValues = s.sql.replace(/\?/g, () => quoted(s.params[k]!.type, vals[k++] ?? '0'));
        out += `${prefix('INFO', thread, 'p6spy')}${Date.now()}|${Math.floor(rnd() * 40)}|statement|connection ${Math.floor(rnd() * 30)}|url jdbc:mysql://paydb:3306/pay|${s.sql}|${withValues}\n`;
        lines += 1;
        sqlLines += 1;
      } else {
        out += `${prefix('DEBUG', thread, 'oggingSupportStatementHandlerInterceptor')}boundSql : ${s.multi}\n`;
        const n = s.multi.split('\n').length;
        lines += n;
        sqlLines += n;
      }
    } else if (rnd() < 0.01) {
      out += `${prefix('ERROR', thread, 'o.a.c.c.C.[.[.[/].[dispatcherServlet]')}Servlet.service() for servlet [dispatcherServlet] threw exception\n`;
      out += `org.springframework.dao.DataIntegrityViolationException: could not execute statement; constraint [uk_pay_${Math.floor(rnd() * 9)}]\n`;
      for (let i = 0; i < 8; i++) out += `\tat k.c.e.p.d.PayService.approve${i}(PayService.java:${100 + i * 7})\n`;
      out += `Caused by: java.sql.SQLIntegrityConstraintViolationException: Duplicate entry\n\t... 42 more\n`;
      lines += 12;
    } else {
      out += `${prefix(rnd() < 0.7 ? 'INFO' : 'DEBUG', thread, pick(loggers))}${pick(messages)}${Math.floor(rnd() * 1e6)}\n`;
      lines += 1;
    }
    if (out.length > 4 * MB) flush();
  }
  flush();
  closeSync(fd);
  renameSync(tmp, file);
  const g: Generated = { file, bytes, lines, sqlLines, shapes: SHAPES };
  writeFileSync(meta, JSON.stringify(g));
  return g;
}


interface Timed {
  seconds: number;
  stderr: string;
  stdout: string;
  code: number | null;
}

function timed(cmd: string, args: string[]): Promise<Timed> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, stdout, stderr, code }));
  });
}

interface SplitRun {
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
  consoleBytes: number;
  queryBytes: number;
  perExecutionQueryBytes: number;
  sqlRecords: number;
  newShapes: number;
}

async function runSplitter(file: string, outDir: string): Promise<SplitRun> {
  // From dist/ after `npm run build`, or from the sources when run with tsx.
  const fromTs = import.meta.url.endsWith('.ts');
  const entry = fromTs ? join(ROOT, 'agent/src/qhash/cli.ts') : join(ROOT, 'dist/agent/src/qhash/cli.js');
  // The splitter runs with the V8 flags of the shipped launcher, as an operator runs it.
  const args = [...launcherFlags(), ...(fromTs ? ['--import', 'tsx'] : []), entry, 'qhash', 'split', file, '--console', join(outDir, 'console.log'), '--query', join(outDir, 'query.log'), '--stats'];
  const r = await timed(process.execPath, args);
  if (r.code !== 0) throw new Error(`splitter exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const line = r.stderr.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as SplitRun;
}

const f1 = (n: number) => n.toFixed(1);

export async function run(): Promise<void> {
  const mb = Number(process.env.IMOM_BENCH_QHASH_MB ?? '1024');
  if (!Number.isFinite(mb) || mb <= 0) throw new Error('IMOM_BENCH_QHASH_MB must be a positive number of MB');
  const t0 = Date.now();
  const g = generate(mb);
  const size = statSync(g.file).size;
  console.log(`qhash bench: ${f1(size / MB)} MB log, ${g.lines} lines, ${f1((100 * g.sqlLines) / g.lines)}% SQL lines, ${g.shapes} shapes (generated or reused in ${f1((Date.now() - t0) / 1000)} s: ${g.file})`);

  // Outputs go to tmpfs when there is one: md5sum writes nothing, and disk write-back would
  // make the splitter's figure depend on the disk rather than on the splitter.
  const shm = existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const outDir = join(shm ?? join(ROOT, '.tmp'), `imom-qhash-bench-out-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  try {
    // Warm the page cache so both runs read from memory, then time md5sum and the splitter.
    await timed('sh', ['-c', 'cat "$0" > /dev/null', g.file]).catch(() => undefined);
    const md5 = await timed('md5sum', [g.file]);
    const sp = await runSplitter(g.file, outDir);
    const spMBs = size / MB / sp.seconds;
    const md5MBs = size / MB / md5.seconds;
    console.log(`splitter: ${f1(spMBs)} MB/s on one core (${f1(sp.seconds)} s wall, ${f1(sp.cpuSeconds)} s CPU = ${f1(size / MB / sp.cpuSeconds)} MB/s of CPU; outputs on ${shm ?? 'disk'})   target >= 100`);
    console.log(`md5sum:   ${f1(md5MBs)} MB/s (${f1(md5.seconds)} s)`);
    console.log(`ratio:    ${(spMBs / md5MBs).toFixed(2)} of md5sum   target >= 0.30`);
    const out = sp.consoleBytes + sp.queryBytes;
    console.log(`bytes:    in ${f1(size / MB)} MB -> out ${f1(out / MB)} MB (console ${f1(sp.consoleBytes / MB)} MB + query ${f1(sp.queryBytes / 1024)} KB) = ${f1((100 * out) / size)}% of input`);
    console.log(`query log: ${sp.newShapes} entries, ${f1(sp.queryBytes / 1024)} KB vs ${f1(sp.perExecutionQueryBytes / MB)} MB for one entry per execution (${sp.sqlRecords} executions): ${f1(100 * (1 - sp.queryBytes / sp.perExecutionQueryBytes))}% smaller   target >= 90%`);

    // RSS flat with input size: the same splitter on a much smaller log.
    const smallMb = Math.max(1, Math.min(64, Math.floor(mb / 8)));
    const small = generate(smallMb);
    const spSmall = await runSplitter(small.file, outDir);
    console.log(`peak RSS: ${f1(sp.maxRssBytes / MB)} MB on ${f1(size / MB)} MB, ${f1(spSmall.maxRssBytes / MB)} MB on ${smallMb} MB   target < 150 MB, flat`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  run().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
