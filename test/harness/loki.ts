/**
 * Real Loki and Promtail for tests, started by agent/src/stack (the code behind
 * `imom stack`), with loki/loki.yaml and promtail/promtail.yaml. Everything is on
 * 127.0.0.1 with kernel-chosen ports and a fresh folder under .tmp/.
 *
 * STABLE API (other suites build on it; extend, don't change):
 *
 *   const loki = await startLoki(opts?)            // waits for /ready
 *     loki.url        'http://127.0.0.1:<port>'    HTTP API
 *     loki.pushUrl    loki.url + '/loki/api/v1/push'
 *     loki.port       HTTP port;   loki.grpcPort   gRPC port (logproto.Pusher/Push)
 *     loki.dataDir    its data folder (chunks, WAL, rules/<tenant> -> opts.rulesDir)
 *     loki.logFile    Loki's own output
 *     await loki.stop()     SIGTERM, waits for exit (data kept)
 *     await loki.kill()     SIGKILL (data kept; the WAL replays on restart)
 *     await loki.restart()  stops it if running, starts again: same ports, same data; waits for /ready
 *     await loki.close()    stop + remove dataDir (kept when IMOM_KEEP_TMP is set)
 *   opts: { dataDir?, rulesDir?, tenant?, alertmanagerUrl?, env?: {LOKI_*: ...}, configFile?, readyTimeoutMs?, tls? }
 *     env overrides the variables of loki/loki.yaml, e.g. { LOKI_RULER_EVALUATION_INTERVAL: '5s' }.
 *     tls: { files, client }: Loki runs loki/loki-tls.yaml (mutual TLS on HTTP and gRPC) with
 *     `files`; loki.url is https://127.0.0.1:<port>, loki.tls is `client`, and the harness's
 *     readiness probe and the query helpers below present it (for loki.url, unless opts.tls).
 *     readyWhen: 'listening' resolves once the HTTP port accepts connections instead of at /ready.
 *     The harness sets LOKI_CACHE_RESULTS=false (a cached empty answer would hide lines
 *     still arriving) and LOKI_LOG_LEVEL=warn unless given.
 *
 *   const pt = await startPromtail({ lokiUrl: loki.url, checkLogDir, consoleLog, queryLog, env, host, app, appHost, server, vars?, ... })
 *     pt.url, pt.port, pt.dataDir, pt.positionsFile, pt.logFile, stop(), kill(), restart(), close(), metrics()
 *     start/restart resolve once Promtail has its file targets (~5 s after start; before
 *     that it tails nothing, not even files that exist). vars: any further variable of promtail.yaml (PROMTAIL_..., IMOM_...).
 *     Paths not given point into pt.dataDir, so a test never tails the host's real logs.
 *     await pt.waitTailing(path)   resolves once Promtail has opened that file
 *
 * Queries (all take an optional { tenant } for X-Scope-OrgID, and { tls } for another client certificate):
 *   queryRange(url, logql, { start?, end?, limit?, direction? }) -> LogEntry[]   one request
 *   queryAll(url, logql, { start?, end? })  -> LogEntry[]   every entry, paged forward (oldest first);
 *                                      like Loki's log queries, an entry stored twice (same stream, ts, line) comes back once
 *   countLines(url, selector, { start?, end? }) -> number   sum(count_over_time(selector[range])) at end
 *                                      (counts an entry Loki stored twice twice: use queryAll for exactly-once checks)
 *   waitForCount(url, selector, n, { timeoutMs?, start? }) -> number   polls until count >= n, returns it
 *   waitForStableCount(url, selector, { quietMs?, timeoutMs?, start? }) -> number   until it stops changing
 *   instantQuery(url, promql-style logql, { time? }) -> vector [{ metric, value }]
 *   series(url, match, { start?, end? }) -> label sets;  labelValues(url, name) -> string[]
 *   pushStreams(url, [{ labels, entries: [[time, line, metadata?]] }])   JSON push, for rule tests
 *   Times: Date | number (ms since epoch) | bigint (ns). Default window: the last hour.
 *
 * LogEntry: { tsNs: bigint, line, labels (stream labels only), metadata (structured metadata), parsed }
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { lokiSpec, promtailSpec, waitReady, PROMTAIL_NO_FILES, type LokiSpecOptions, type LokiTlsFiles, type PromtailSpecOptions } from '../../agent/src/stack/components.js';
import { spawnProc, type Proc, type ProcSpec } from '../../agent/src/stack/process.js';
import { freePorts, sleep, tempDir, waitFor, waitForPort } from './proc.js';
import {
  instantQuery as lokiInstantQuery, labelValues as lokiLabelValues, push, queryRange as lokiQueryRange, series as lokiSeries, toNs,
  type LogEntry, type LokiTarget, type LokiTime,
} from '../../agent/src/loki-client/index.js';

/** Processes this test file started, killed if the test process exits without closing them. */
const live = new Set<Proc>();
function killAll(): void {
  for (const p of live) {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
process.once('exit', killAll);
// A test run cut short (timeout, Ctrl-C) must not leave Loki or Promtail behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

export interface Managed {
  readonly logFile: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** One server process with start/stop/kill/restart/close; test/harness/otelcol.ts runs the collector with it too. */
export function managed(spec: ProcSpec, ready: (p: Proc) => Promise<void>, dataDir: string, ownDir: boolean) {
  let proc: Proc | undefined;
  const start = async () => {
    const p = spawnProc(spec);
    live.add(p);
    void p.exited.then(() => live.delete(p));
    proc = p;
    await ready(p);
  };
  const m: Managed & { start(): Promise<void> } = {
    logFile: spec.logFile,
    start,
    async stop() { await proc?.stop(); },
    async kill() { await proc?.kill(); },
    async restart() {
      await proc?.stop();
      await start();
    },
    async close() {
      await proc?.stop(5_000);
      if (ownDir && !process.env.IMOM_KEEP_TMP) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return m;
}

// ---------------------------------------------------------------- Loki

export interface StartLokiOptions {
  readonly dataDir?: string;
  readonly rulesDir?: string;
  readonly tenant?: string;
  readonly alertmanagerUrl?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly configFile?: string;
  readonly extraArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
  /** Mutual TLS: Loki's files (loki/loki-tls.yaml), and the client side the harness presents. */
  readonly tls?: { readonly files: LokiTlsFiles; readonly client: ConnectionOptions };
  /**
   * 'listening': resolve once the HTTP port accepts connections, not at /ready: for a Loki a
   * test only handshakes with (one serving an expired certificate never gets ready, since its
   * own gRPC clients refuse that certificate too).
   */
  readonly readyWhen?: 'ready' | 'listening';
}

/** The client TLS of each running TLS Loki, by URL: the query helpers present it. */
const clientTlsByUrl = new Map<string, ConnectionOptions>();

export interface LokiHandle extends Managed {
  readonly url: string;
  /** The client TLS options the harness uses for this Loki (opts.tls.client), when it runs TLS. */
  readonly tls?: ConnectionOptions;
  readonly pushUrl: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly dataDir: string;
}

export async function startLoki(opts: StartLokiOptions = {}): Promise<LokiHandle> {
  const dataDir = opts.dataDir ?? tempDir('loki');
  const [port, grpcPort] = (await freePorts(2)) as [number, number];
  const o: LokiSpecOptions = {
    dataDir, httpPort: port, grpcPort, configFile: opts.configFile, rulesDir: opts.rulesDir, tenant: opts.tenant,
    alertmanagerUrl: opts.alertmanagerUrl, extraArgs: opts.extraArgs, tls: opts.tls?.files,
    env: { LOKI_CACHE_RESULTS: 'false', LOKI_LOG_LEVEL: 'warn', ...opts.env },
  };
  const spec = lokiSpec(o);
  const client = opts.tls?.client;
  const url = `${client ? 'https' : 'http'}://127.0.0.1:${port}`;
  const readyTimeout = opts.readyTimeoutMs ?? 90_000;
  const ready = opts.readyWhen === 'listening'
    ? () => waitForPort(port, readyTimeout, `loki HTTP port ${port}`)
    : (p: Proc) => waitReady(p, `${url}/ready`, readyTimeout, undefined, client);
  const m = managed(spec, ready, dataDir, opts.dataDir === undefined);
  if (client) clientTlsByUrl.set(url, client);
  try {
    await m.start();
  } catch (e) {
    clientTlsByUrl.delete(url);
    throw e;
  }
  return {
    url, pushUrl: `${url}/loki/api/v1/push`, port, grpcPort, dataDir, logFile: m.logFile, ...(client ? { tls: client } : {}),
    stop: m.stop, kill: m.kill, restart: m.restart,
    async close() {
      clientTlsByUrl.delete(url);
      await m.close();
    },
  };
}

// ---------------------------------------------------------------- Promtail

export interface StartPromtailOptions extends Omit<PromtailSpecOptions, 'dataDir' | 'httpPort'> {
  readonly dataDir?: string;
  readonly readyTimeoutMs?: number;
}

export interface PromtailHandle extends Managed {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly positionsFile: string;
  /** Resolves once Promtail tails `path` (its promtail_files_active / file_bytes_total metric names it). */
  waitTailing(path: string, timeoutMs?: number): Promise<void>;
  /** Promtail's /metrics text. */
  metrics(): Promise<string>;
}

export async function startPromtail(opts: StartPromtailOptions): Promise<PromtailHandle> {
  const dataDir = opts.dataDir ?? tempDir('promtail');
  const [port] = (await freePorts(1)) as [number];
  const nowhere = join(dataDir, 'not-configured');
  const spec = promtailSpec({
    ...opts,
    dataDir,
    httpPort: port,
    checkLogDir: opts.checkLogDir ?? nowhere,
    consoleLog: opts.consoleLog ?? join(nowhere, 'console.log'),
    queryLog: opts.queryLog ?? join(nowhere, 'query.log'),
    vars: { PROMTAIL_LOG_LEVEL: 'warn', ...opts.vars },
  });
  const url = `http://127.0.0.1:${port}`;
  const metrics = async () => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  // Promtail answers /ready before its service discovery has produced the file targets
  // (~5 s after start). Until then it tails nothing, even files that exist; wait for it.
  const ready = async (p: Proc) => {
    await waitReady(p, `${url}/ready`, opts.readyTimeoutMs ?? 30_000, PROMTAIL_NO_FILES);
    await waitFor(async () => /^promtail_targets_active_total [1-9]/m.test(await metrics()), opts.readyTimeoutMs ?? 30_000, 'promtail file targets');
  };
  const m = managed(spec, ready, dataDir, opts.dataDir === undefined);
  await m.start();
  return {
    url, port, dataDir, positionsFile: join(dataDir, 'positions.yaml'), logFile: m.logFile,
    stop: m.stop, kill: m.kill, restart: m.restart, close: m.close, metrics,
    async waitTailing(path: string, timeoutMs = 20_000) {
      await waitFor(async () => (await metrics()).includes(`path="${path}"`), timeoutMs, `promtail tailing ${path}`);
    },
  };
}

// ---------------------------------------------------------------- queries (agent/src/loki-client)

export type TimeArg = LokiTime;
export { toNs };
export type { LogEntry };

export interface QueryOpts {
  readonly tenant?: string;
  /** Client TLS; default the one startLoki registered for this URL. */
  readonly tls?: ConnectionOptions;
}

/** Queries wait up to a minute: a test's Loki may be busy ingesting a million lines. */
const QUERY_TIMEOUT_MS = 60_000;

function target(url: string, o: QueryOpts | undefined): LokiTarget {
  return { url, tenant: o?.tenant, timeoutMs: QUERY_TIMEOUT_MS, tls: o?.tls ?? clientTlsByUrl.get(url) };
}

const HOUR_MS = 3_600_000;

/** [start, end] in ns; default the last hour (end a minute ahead, for clock skew). */
function timeRange(o: { start?: TimeArg; end?: TimeArg }): { start: bigint; end: bigint } {
  return { start: toNs(o.start ?? Date.now() - HOUR_MS), end: toNs(o.end ?? Date.now() + 60_000) };
}

export interface RangeOpts extends QueryOpts {
  readonly start?: TimeArg;
  readonly end?: TimeArg;
  readonly limit?: number;
  readonly direction?: 'forward' | 'backward';
}

/** One /loki/api/v1/query_range request for a log query; entries sorted by time (then line). */
export async function queryRange(url: string, logql: string, o: RangeOpts = {}): Promise<LogEntry[]> {
  // categorize-labels: stream labels, structured metadata and parsed labels come back
  // separately, so a test can assert that QHash is metadata and not a label.
  const entries = await lokiQueryRange(target(url, o), logql, { ...timeRange(o), limit: o.limit ?? 5000, direction: o.direction ?? 'forward', categorizeLabels: true });
  entries.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  return o.direction === 'backward' ? entries.reverse() : entries;
}

/**
 * Every entry of a log query in [start, end), oldest first. The window is cut at every hour
 * (Loki's query frontend splits there) and bisected until each piece returns fewer entries than
 * `pageSize`, so a piece is known to be complete. No paging by entry count: check lines carry
 * second-precision timestamps, thousands share one, and a page cut inside such a group depends
 * on how Loki orders equal timestamps. Like Loki's own log queries, an entry stored twice (same
 * stream, timestamp and line) is returned once; count_over_time, by contrast, counts both.
 */
export async function queryAll(url: string, logql: string, o: Omit<RangeOpts, 'limit' | 'direction'> & { pageSize?: number } = {}): Promise<LogEntry[]> {
  const w = timeRange(o);
  const limit = o.pageSize ?? 20_000;
  const out: LogEntry[] = [];
  const seen = new Set<string>();
  const collect = async (start: bigint, end: bigint): Promise<void> => {
    const page = await queryRange(url, logql, { ...o, start, end, limit, direction: 'forward' });
    if (page.length >= limit) {
      if (end - start <= 1n) throw new Error(`queryAll ${logql}: more than ${limit} entries at ${start} ns; raise pageSize`);
      const mid = start + (end - start) / 2n;
      await collect(start, mid);
      await collect(mid, end);
      return;
    }
    for (const e of page) {
      const k = key(e);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(e);
      }
    }
  };
  const hourNs = BigInt(HOUR_MS) * 1_000_000n;
  for (let s = w.start; s < w.end; ) {
    const e = ((s / hourNs) + 1n) * hourNs;
    const to = e < w.end ? e : w.end;
    await collect(s, to);
    s = to;
  }
  out.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  return out;
}

function key(e: LogEntry): string {
  return `${e.tsNs}\u0000${JSON.stringify(e.labels)}\u0000${JSON.stringify(e.metadata)}\u0000${e.line}`;
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** /loki/api/v1/query (a metric query), as a vector. */
export async function instantQuery(url: string, logql: string, o: QueryOpts & { time?: TimeArg } = {}): Promise<Sample[]> {
  const v = await lokiInstantQuery(target(url, o), logql, o.time ?? Date.now());
  return v.map((r) => ({ metric: r.labels, value: r.value }));
}

/** Number of entries matching a log selector (with optional filters) in [start, end]. */
export async function countLines(url: string, selector: string, o: QueryOpts & { start?: TimeArg; end?: TimeArg } = {}): Promise<number> {
  const endMs = o.end === undefined ? Date.now() + 60_000 : Number(toNs(o.end) / 1_000_000n);
  const startMs = o.start === undefined ? endMs - HOUR_MS - 60_000 : Number(toNs(o.start) / 1_000_000n);
  const rangeS = Math.max(1, Math.ceil((endMs - startMs) / 1000));
  const v = await instantQuery(url, `sum(count_over_time(${selector} [${rangeS}s]))`, { ...o, time: endMs });
  return v.reduce((n, s) => n + s.value, 0);
}

/** Polls countLines until it reaches n; returns the count (which may exceed n). */
export async function waitForCount(url: string, selector: string, n: number, o: QueryOpts & { start?: TimeArg; timeoutMs?: number } = {}): Promise<number> {
  let last = -1;
  try {
    return await waitFor(async () => {
      last = await countLines(url, selector, o);
      return last >= n ? last : undefined;
    }, o.timeoutMs ?? 60_000, `${n} lines for ${selector}`, 500);
  } catch (e) {
    throw new Error(`${(e as Error).message} (last count ${last})`);
  }
}

/** Polls until the count has not changed for quietMs; returns it. */
export async function waitForStableCount(url: string, selector: string, o: QueryOpts & { start?: TimeArg; quietMs?: number; timeoutMs?: number } = {}): Promise<number> {
  const quiet = o.quietMs ?? 5_000;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const n = await countLines(url, selector, o);
    if (n !== last) { last = n; since = Date.now(); }
    else if (Date.now() - since >= quiet) return n;
    await sleep(500);
  }
  throw new Error(`count for ${selector} still changing after ${o.timeoutMs ?? 120_000} ms (last ${last})`);
}

/** Label sets of the streams matching `match`. */
export async function series(url: string, match: string, o: QueryOpts & { start?: TimeArg; end?: TimeArg } = {}): Promise<Record<string, string>[]> {
  return lokiSeries(target(url, o), match, timeRange(o));
}

export async function labelValues(url: string, name: string, o: QueryOpts & { start?: TimeArg; end?: TimeArg } = {}): Promise<string[]> {
  return lokiLabelValues(target(url, o), name, timeRange(o));
}

export interface PushStream {
  readonly labels: Readonly<Record<string, string>>;
  readonly entries: readonly (readonly [time: TimeArg, line: string, metadata?: Readonly<Record<string, string>>])[];
}

/** Pushes streams with Loki's JSON push API; throws unless Loki answers 2xx. */
export async function pushStreams(url: string, streams: readonly PushStream[], o: QueryOpts = {}): Promise<void> {
  await push(target(url, o), streams.map((s) => ({
    labels: s.labels,
    values: s.entries.map(([t, line, md]) => (md ? [String(toNs(t)), line, md] as const : [String(toNs(t)), line] as const)),
  })));
}
