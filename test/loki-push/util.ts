/** Shared bits of the direct-push tests. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { LokiTransport, type LokiReport } from '../../agent/src/outputs/loki/index.js';
import { lokiOutputSchema, type LokiOutputInput } from '../../agent/src/outputs/loki/schema.js';
import assert from 'node:assert/strict';
import { queryAll, startLoki, type LogEntry, type LokiHandle, type QueryOpts } from '../harness/loki.js';
import { REPO_ROOT } from '../harness/proc.js';
import type { WriterArgs } from './writer.js';

/** A LokiTransport under a winston logger, collecting its reports. */
export function inProcess(config: LokiOutputInput, host: string, env = 'test') {
  const reports: LokiReport[] = [];
  const cfg = lokiOutputSchema.parse(config);
  const t = new LokiTransport(cfg, { env, host, onReport: (r) => reports.push(r) });
  const logger = winston.createLogger({ level: 'debug', transports: [t] });
  return { cfg, t, logger, reports };
}

/** The records of `<spoolDir>/dead-letter.ndjson`. */
export function readDeadLetter(spoolDir: string): any[] {
  return readFileSync(join(spoolDir, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** seq → how many times Loki holds the line "<prefix> seq=<n> …". */
export function countBySeq(entries: readonly LogEntry[], prefix: string): Map<number, number> {
  const m = new Map<number, number>();
  const re = new RegExp(`^${prefix} seq=(\\d+) `);
  for (const e of entries) {
    const r = re.exec(e.line);
    if (r) m.set(Number(r[1]), (m.get(Number(r[1])) ?? 0) + 1);
  }
  return m;
}

/** Lost and duplicated seqs of 0..n-1. */
export function lossAndDup(m: Map<number, number>, n: number): { lost: number[]; dup: number[] } {
  const lost: number[] = [];
  const dup: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = m.get(i) ?? 0;
    if (c === 0) lost.push(i);
    else if (c > 1) dup.push(i);
  }
  return { lost, dup };
}

export async function linesOf(lokiUrl: string, host: string, o: QueryOpts = {}): Promise<LogEntry[]> {
  return queryAll(lokiUrl, `{job="imom", host="${host}"}`, { ...o, start: Date.now() - 3_600_000 });
}

/**
 * The exactly-once delivery check, over any transport and URL (plain or TLS): 5,000 lines
 * through a LokiTransport, then every one is in Loki once, with job/env/host/check/level
 * and the extra label, and operators' selectors find exactly the expected lines.
 * `push` is the output config without labels and batch (set here); `query` the tenant/TLS for reading back.
 */
export async function assertExactlyOnce(lokiUrl: string, push: LokiOutputInput, host: string, query: QueryOpts = {}): Promise<void> {
  const { t, logger } = inProcess({ ...push, labels: { team: 'payments' }, batch: { max_lines: 700, max_wait: '50ms' } }, host, 'prod');
  const N = 5_000;
  const checks = ['mysql', 'redis', 'redis_cluster', 'solr', 'kafka'];
  const statuses = ['OK', 'ERROR', 'CRITICAL'];
  const sameMs = new Date();
  for (let i = 0; i < N; i++) {
    // Lines 0..99 share one millisecond, and pairs of them share their text too:
    // distinct log events, so both copies must be kept.
    const text = i < 100 ? `p seq=${i} Status=OK, twin=${i >> 1}` : `p seq=${i} Status=${statuses[i % 3]}, x=${i}`;
    logger.log({ level: 'info', message: text, check: checks[i % 5], status: i < 100 ? 'OK' : statuses[i % 3], time: i < 100 ? sameMs : new Date() });
  }
  assert.equal(await t.forceFlush(60_000), true);
  await t.shutdown();
  assert.equal(t.stats().sent, N);

  const got = await linesOf(lokiUrl, host, query);
  const { lost, dup } = lossAndDup(countBySeq(got, 'p'), N);
  assert.deepEqual({ lost: lost.length, dup: dup.length, total: got.length }, { lost: 0, dup: 0, total: N });
  for (const e of got) {
    const seq = Number(/seq=(\d+)/.exec(e.line)![1]);
    assert.deepEqual(e.labels, { job: 'imom', env: 'prod', host, check: checks[seq % 5], level: seq < 100 ? 'OK' : statuses[seq % 3], team: 'payments' });
  }
  // Operators' selectors find exactly the expected lines.
  const crit = await queryAll(lokiUrl, `{env="prod", job="imom", host="${host}", check="kafka", level="CRITICAL"}`, query);
  const want = Array.from({ length: N }, (_, i) => i).filter((i) => i >= 100 && i % 5 === 4 && i % 3 === 2);
  assert.deepEqual(crit.map((e) => Number(/seq=(\d+)/.exec(e.line)![1])).sort((a, b) => a - b), want);
}

export interface WriterProc {
  pid: number;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill9(): Promise<void>;
}

/** Starts test/loki-push/writer.ts in its own process. */
export function startWriter(args: WriterArgs): WriterProc {
  const p = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/loki-push/writer.ts'), JSON.stringify(args)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  return {
    pid: p.pid!, exited, stdout: () => out, stderr: () => err,
    async kill9() { p.kill('SIGKILL'); await exited; },
  };
}

export function readProgress(file: string): number {
  try { return Number(readFileSync(file, 'utf8')); } catch { return -1; }
}

/** Loki for these tests; IMOM_LOKI_CONFIG runs them against another Loki config file. */
export function startTestLoki(): Promise<LokiHandle> {
  return startLoki(process.env.IMOM_LOKI_CONFIG ? { configFile: process.env.IMOM_LOKI_CONFIG } : {});
}
