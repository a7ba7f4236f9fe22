/**
 * Real servers for tests: start a process on loopback with its own data folder,
 * wait until it listens, and stop it (and everything it spawned) afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach } from 'node:test';
import { attachedProcs, spawnProc } from '../../agent/src/stack/process.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(new URL('.', import.meta.url).pathname, '../..').replace(/\/dist$/, '');
export const CACHE_BIN = join(REPO_ROOT, '.cache', 'bin');

/** A fresh folder under .tmp/ (git-ignored), removed by `cleanup` unless IMOM_KEEP_TMP is set. */
export function tempDir(prefix: string): string {
  const base = join(REPO_ROOT, '.tmp');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

export function removeDir(dir: string): void {
  if (!process.env.IMOM_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}

/** Temporary folders made on demand by a test file and removed together in its `after`. */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make() {
      const d = tempDir(prefix);
      made.push(d);
      return d;
    },
    removeAll: () => made.splice(0).forEach(removeDir),
  };
}

export { freePort } from '../../agent/src/core/net.js';
import { freePort } from '../../agent/src/core/net.js';

export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 30_000, what = `port ${port}`): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

/** Polls `probe` until it returns a truthy value. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** True until the process has exited. */
  alive(): boolean;
  /** SIGTERM to its process group, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9 to its process group. */
  kill(): Promise<void>;
  /** The exit code, -1 when a signal ended it. */
  readonly exited: Promise<number>;
}

/**
 * Starts `cmd` detached in its own process group, output appended to logFile, through the
 * stack's supervisor (the one in iMom). It lives until the test file ends unless stopped before.
 */
export function startDaemon(name: string, cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): Daemon {
  const env = Object.fromEntries(Object.entries(opts.env ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  const p = spawnProc({ name, cmd, args, env, cwd: opts.cwd ?? process.cwd(), logFile: opts.logFile });
  return { name, pid: p.pid, logFile: opts.logFile, exited: p.exited, alive: () => p.alive(), stop: (g = 10_000) => p.stop(g), kill: () => p.kill() };
}

/** Runs a command to completion and returns its output; throws on non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = reaped(spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('error', rej);
    p.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const c = code ?? -1;
      if (c !== 0 && !opts.allowFail) rej(new Error(`${cmd} ${args.join(' ')} exited ${c}: ${stderr.slice(-2000)}`));
      else res({ code: c, stdout, stderr });
    });
    p.stdin.on('error', () => undefined); // a child that exits early closes its stdin
    p.stdin.end(opts.input ?? '');
  });
}

/*
 * The reaper. A failing assertion must never leave a process running: an agent spawned by a
 * test that threw before its kill() kept the test file's event loop alive, and the whole suite
 * waited on it for over ten minutes. Children of run() and spawnImom() that are started inside a
 * test are killed when that test ends, pass or fail; servers live until the file ends and are
 * killed at exit (the runner passes --test-force-exit) or on SIGTERM/SIGINT (the runner's
 * per-file limit).
 */
const testScoped = new Set<ChildProcess>();
const fileScoped = new Set<ChildProcess>();
let inTest = false;

/** Registers a child for the reaper; returns it. */
export function reaped<T extends ChildProcess>(child: T): T {
  const set = inTest ? testScoped : fileScoped;
  set.add(child);
  child.once('exit', () => set.delete(child));
  return child;
}

function running(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function killChild(c: ChildProcess, sig: NodeJS.Signals): void {
  try { if (c.pid) process.kill(-c.pid, sig); } catch { /* not a group leader */ }
  try { c.kill(sig); } catch { /* gone */ }
}

function killEverything(): void {
  for (const c of [...testScoped, ...fileScoped]) if (running(c)) killChild(c, 'SIGKILL');
  for (const p of attachedProcs()) {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

// Hooks only under the test runner: the demo and the benches import this module too.
if (process.env.NODE_TEST_CONTEXT) {
  // Root hooks run around every test of the file, nested ones included; a child started between
  // them (in a test body) is the test's, one started in a before hook is the file's.
  beforeEach(() => { inTest = true; });
  afterEach(async () => {
    inTest = false;
    const left = [...testScoped].filter(running);
    testScoped.clear();
    for (const c of left) killChild(c, 'SIGTERM');
    // 5 s is what an agent needs to flush its outputs on SIGTERM; then it is killed.
    await Promise.all(left.map((c) => new Promise<void>((res) => {
      if (!running(c)) return res();
      const t = setTimeout(() => killChild(c, 'SIGKILL'), 5_000);
      c.once('exit', () => { clearTimeout(t); res(); });
    })));
  });
}
process.once('exit', killEverything);
for (const [sig, n] of [['SIGTERM', 15], ['SIGINT', 2]] as const) {
  process.once(sig, () => { killEverything(); process.exit(128 + n); });
}
