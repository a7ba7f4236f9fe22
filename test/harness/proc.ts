/**
 * Real servers for tests: start a process on loopback with its own data folder,
 * wait until it listens, and stop it (and everything it spawned) afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, closeSync } from 'node:fs';
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
  readonly proc: ChildProcess;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

const live = new Set<Daemon>();

/** Starts `cmd` detached in its own process group, output to logFile. */
export function startDaemon(name: string, cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): Daemon {
  const fd = openSync(opts.logFile, 'a');
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const exited = new Promise<number | null>((res) => {
    proc.once('exit', (code, sig) => res(code ?? (sig ? -1 : null)));
    proc.once('error', () => res(-1));
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    try { if (proc.pid) process.kill(-proc.pid, sig); } catch { /* already gone */ }
  };
  const d: Daemon = {
    name, proc, logFile: opts.logFile, exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) { live.delete(d); return; }
      signalGroup('SIGTERM');
      const t = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
      live.delete(d);
    },
    async kill() {
      signalGroup('SIGKILL');
      await exited;
      live.delete(d);
    },
  };
  live.add(d);
  return d;
}

/** Last resort: if a test process dies, don't leave servers behind. */
process.once('exit', () => {
  for (const d of live) {
    try { if (d.proc.pid) process.kill(-d.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** Runs a command to completion and returns its output; throws on non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
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
