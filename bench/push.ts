/**
 * `npm run bench -- push`: the same lines into the same real Loki by
 *   ours-http     LokiTransport, protobuf+snappy over HTTP, through its on-disk spool
 *   ours-grpc     LokiTransport, logproto.Pusher/Push over gRPC
 *   promtail      Promtail tailing the check log file (promtail/promtail.yaml), written by a child
 *   otelcol       the OpenTelemetry Collector tailing the same kind of file (otelcol/otelcol.yaml, OTLP)
 *   winston-loki  the popular winston transport
 * each in its own child process. Printed per contender: lines/s (first line written → last
 * line countable in Loki), CPU seconds per million lines and peak RSS of the shipping process
 * (for Promtail and the collector: the shipper, not the file writer), and lines lost, counted in Loki.
 * Then the outage scenario: Loki is stopped, the lines are written over the outage, Loki is
 * restarted; the loss is counted in Loki.
 *
 *   IMOM_BENCH_PUSH_LINES          lines per contender (1,000,000)
 *   IMOM_BENCH_PUSH_OUTAGE_LINES   lines per contender in the outage scenario (100,000)
 *   IMOM_BENCH_PUSH_OUTAGE_S       outage length in seconds (60)
 *   IMOM_BENCH_PUSH_ONLY           comma-separated contenders to run (all)
 *   IMOM_BENCH_PUSH_BATCH          JSON batch settings for ours, e.g. {"max_lines":2000} (the defaults)
 *   IMOM_LOKI_CONFIG               another Loki config file (default loki/loki.yaml)
 * Targets: zero loss for ours, at least Promtail's lines/s per CPU second, RSS under 100 MB.
 * Loss is sum(count_over_time) per contender: lost = sent − counted (a duplicate would show as
 * a negative loss; the exactly-once tests in test/loki-push/ check line by line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { countLines, startLoki, startPromtail, type LokiHandle, type PromtailHandle } from '../test/harness/loki.js';
import { startOtelcol, type OtelcolHandle } from '../test/harness/otelcol.js';
import { removeDir, sleep, tempDir } from '../test/harness/proc.js';
import { launcherFlags } from './launcher-flags.js';
import type { ChildArgs } from './push-child.js';

type Mode = ChildArgs['mode'];
const CONTENDERS = ['ours-http', 'ours-grpc', 'promtail', 'otelcol', 'winston-loki'] as const;
type Contender = (typeof CONTENDERS)[number];

interface Result {
  name: Contender;
  lines: number;
  counted: number;
  seconds: number;
  cpuS: number;
  rssMB: number;
}

const num = (v: string | undefined, d: number) => (v && Number(v) > 0 ? Number(v) : d);

function childCommand(): { cmd: string; pre: string[]; file: string } {
  const self = new URL(import.meta.url).pathname;
  // The node contenders run with the shipped launcher's V8 flags (bin/imom.js), as the agent does.
  const flags = launcherFlags();
  if (self.endsWith('.ts')) return { cmd: process.execPath, pre: [...flags, '--import', 'tsx'], file: self.replace(/push\.ts$/, 'push-child.ts') };
  return { cmd: process.execPath, pre: flags, file: self.replace(/push\.js$/, 'push-child.js') };
}

interface Child {
  proc: ChildProcess;
  started: Promise<number>;
  done: Promise<{ cpuS: number; maxRssMB: number }>;
  exited: Promise<void>;
}

export function startChild(args: ChildArgs): Child {
  const c = childCommand();
  const proc = spawn(c.cmd, [...c.pre, c.file, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let err = '';
  let onStart: (t: number) => void;
  let onDone: (u: { cpuS: number; maxRssMB: number }) => void;
  let onFail: (e: Error) => void;
  const started = new Promise<number>((r) => (onStart = r));
  const done = new Promise<{ cpuS: number; maxRssMB: number }>((r, j) => { onDone = r; onFail = j; });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('START ')) onStart(Number(line.slice(6)));
      if (line.startsWith('DONE ')) onDone(JSON.parse(line.slice(5)));
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((r) => proc.once('exit', (code) => {
    onFail(new Error(`${args.mode} child exited ${code}: ${err}`));
    r();
  }));
  return { proc, started, done, exited };
}

export async function endChild(c: Child): Promise<void> {
  c.proc.stdin!.end();
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
  await c.exited;
  clearTimeout(t);
}

/** utime+stime (s) and peak RSS (MB) of a running process, from /proc. */
function procUsage(pid: number): { cpuS: number; maxRssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: ticks / 100, maxRssMB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

/** The shipper process (promtail, otelcol) the harness started in `dir` (its working directory). */
export function pidWithCwd(dir: string, name: string): number {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readlinkSync(`/proc/${p}/cwd`) === dir && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(name)) return Number(p);
    } catch { /* gone or not ours */ }
  }
  throw new Error(`no ${name} process in ${dir}`);
}

/** Polls Loki until `n` lines are countable, or the count has stopped moving for quietMs. */
async function waitDelivered(loki: LokiHandle, host: string, n: number, quietMs: number, notBefore = 0): Promise<{ count: number; at: number }> {
  let last = -1;
  let lastAt = 0;
  let since = Date.now();
  for (;;) {
    let c = last;
    try { c = await countLines(loki.url, `{host="${host}"}`); } catch { /* Loki busy */ }
    const now = Date.now();
    if (c !== last) { last = c; lastAt = now; since = now; }
    if (c >= n) return { count: c, at: lastAt };
    if (now - since >= quietMs && now >= notBefore) return { count: last, at: lastAt };
    await sleep(250);
  }
}

async function runContender(name: Contender, loki: LokiHandle, work: string, n: number, outage?: { ms: number }): Promise<Result> {
  const host = `bench-${name}-${outage ? 'outage' : 'run'}-${Date.now()}`;
  const dir = join(work, host);
  mkdirSync(dir, { recursive: true });
  const args: ChildArgs = {
    mode: (name === 'promtail' || name === 'otelcol' ? 'file' : name) as Mode,
    lokiUrl: loki.url, grpcUrl: `grpc://127.0.0.1:${loki.grpcPort}`,
    host, lines: n, spoolDir: join(dir, 'spool'), file: join(dir, 'checks', 'mysql.log'),
    spreadMs: outage ? outage.ms : 0,
  };
  let pt: PromtailHandle | OtelcolHandle | undefined;
  let ptPid = 0;
  let ptCpu0 = 0;
  if (name === 'promtail' || name === 'otelcol') {
    mkdirSync(join(dir, 'checks'), { recursive: true });
    const o = { lokiUrl: loki.url, checkLogDir: join(dir, 'checks'), env: 'bench', host, dataDir: join(dir, name) };
    pt = name === 'promtail' ? await startPromtail(o) : await startOtelcol(o);
    ptPid = pidWithCwd(join(dir, name), name);
    ptCpu0 = procUsage(ptPid).cpuS;
  }
  if (outage) await loki.stop();
  const child = startChild(args);
  try {
    const t0 = await child.started;
    if (outage) {
      await sleep(Math.max(0, t0 + outage.ms - Date.now()));
      await loki.restart();
    }
    await child.done;
    // Lossy contenders never reach n: stop waiting once nothing moved for a while.
    const got = await waitDelivered(loki, host, n, outage ? 45_000 : 20_000);
    // Measured now, not at DONE: a late sender (winston-loki retrying) may still use CPU.
    const u = procUsage(pt ? ptPid : child.proc.pid!);
    return { name, lines: n, counted: got.count, seconds: Math.max(0.001, (got.at - t0) / 1000), cpuS: u.cpuS - ptCpu0, rssMB: u.maxRssMB };
  } finally {
    await endChild(child);
    await pt?.close();
  }
}

function table(rows: Result[], outage: boolean): void {
  const head = outage
    ? ['contender', 'lines', 'in Loki', 'lost']
    : ['contender', 'lines/s', 'CPU s / 1M lines', 'lines/s per CPU s', 'peak RSS MB', 'in Loki', 'lost'];
  const body = rows.map((r) => {
    const lost = r.lines - r.counted;
    return outage
      ? [r.name, String(r.lines), String(r.counted), String(lost)]
      : [r.name, (r.counted / r.seconds).toFixed(0), ((r.cpuS * 1e6) / r.lines).toFixed(2), (r.lines / r.cpuS).toFixed(0), r.rssMB.toFixed(1), String(r.counted), String(lost)];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const row of [head, ...body]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
}

export async function run(): Promise<void> {
  const n = num(process.env.IMOM_BENCH_PUSH_LINES, 1_000_000);
  const nOut = num(process.env.IMOM_BENCH_PUSH_OUTAGE_LINES, Math.min(100_000, n));
  const outS = num(process.env.IMOM_BENCH_PUSH_OUTAGE_S, 60);
  const only = (process.env.IMOM_BENCH_PUSH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const who = CONTENDERS.filter((c) => only.length === 0 || only.includes(c));
  const work = tempDir('bench-push');
  const loki = await startLoki(process.env.IMOM_LOKI_CONFIG ? { configFile: process.env.IMOM_LOKI_CONFIG } : {});
  try {
    console.log(`push: ${n} lines per contender into one Loki (${loki.url}); contenders: ${who.join(', ')}`);
    const rows: Result[] = [];
    for (const c of who) {
      const r = await runContender(c, loki, work, n);
      rows.push(r);
      console.log(`  ${c}: ${r.counted}/${r.lines} in Loki after ${r.seconds.toFixed(1)} s, ${r.cpuS.toFixed(2)} CPU s, ${r.rssMB.toFixed(1)} MB peak RSS`);
    }
    table(rows, false);
    const ours = rows.filter((r) => r.name.startsWith('ours'));
    const pt = rows.find((r) => r.name === 'promtail');
    const oc = rows.find((r) => r.name === 'otelcol');
    if (oc && pt) console.log(`  otelcol vs Promtail: lines/CPU s ${(oc.lines / oc.cpuS).toFixed(0)} vs ${(pt.lines / pt.cpuS).toFixed(0)}, RSS ${oc.rssMB.toFixed(1)} vs ${pt.rssMB.toFixed(1)} MB, lost ${oc.lines - oc.counted} vs ${pt.lines - pt.counted}`);
    for (const o of ours) {
      const eff = o.lines / o.cpuS;
      const ptEff = pt ? pt.lines / pt.cpuS : NaN;
      console.log(`  target ${o.name}: loss ${o.lines - o.counted} (want 0), lines/CPU s ${eff.toFixed(0)} vs Promtail ${ptEff.toFixed(0)} (${(eff / ptEff).toFixed(2)}×, want ≥ 1), RSS ${o.rssMB.toFixed(1)} MB (want < 100)`);
    }

    console.log(`\npush outage: Loki stopped ${outS} s while ${nOut} lines are written, then restarted`);
    const out: Result[] = [];
    for (const c of who) {
      const r = await runContender(c, loki, work, nOut, { ms: outS * 1000 });
      out.push(r);
      console.log(`  ${c}: ${r.counted}/${r.lines} in Loki, lost ${r.lines - r.counted}`);
    }
    table(out, true);
  } finally {
    await loki.close();
    removeDir(work);
  }
}
