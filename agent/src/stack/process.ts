/**
 * Long-running server processes: started detached in their own process group with
 * output appended to a log file, and stopped by pid, so a later `imom stack down`
 * (another process) can stop what `imom stack up` started.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { pidAlive } from '../core/pid.js';

export interface ProcSpec {
  /** Component name: loki, promtail, alertmanager. */
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  /** Added to the parent's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly logFile: string;
}

export interface Proc {
  readonly spec: ProcSpec;
  readonly pid: number;
  /** Resolves with the exit code (-1 when killed by a signal) once the process is gone. */
  readonly exited: Promise<number>;
  alive(): boolean;
  /** SIGTERM to the process group, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the process group. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  /** Let this (node) process exit while the server keeps running, as `imom stack up` does. */
  readonly detach?: boolean;
}

/** Children this process started and still waits on (not detached), for whoever must stop them all. */
const attached = new Set<Proc>();

/** The attached children still running: a test harness stops them when its file ends. */
export function attachedProcs(): Proc[] {
  return [...attached].filter((p) => p.alive());
}

export function spawnProc(spec: ProcSpec, opts: SpawnOptions = {}): Proc {
  const fd = openSync(spec.logFile, 'a');
  const child = spawn(spec.cmd, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  let done = false;
  const exited = new Promise<number>((res) => {
    child.once('exit', (code) => { done = true; res(code ?? -1); });
    child.once('error', () => { done = true; res(-1); });
  });
  if (!child.pid) throw new Error(`cannot start ${spec.cmd}`);
  const pid = child.pid;
  if (opts.detach) child.unref();
  const signal = (sig: NodeJS.Signals) => signalGroup(pid, sig);
  const proc: Proc = {
    spec,
    pid,
    exited,
    alive: () => !done,
    async stop(graceMs = 15_000) {
      if (done) return;
      signal('SIGTERM');
      const t = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (done) return;
      signal('SIGKILL');
      await exited;
    },
  };
  if (!opts.detach) {
    attached.add(proc);
    void exited.then(() => attached.delete(proc));
  }
  return proc;
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try { process.kill(pid, sig); } catch { /* gone */ }
  }
}

export { pidAlive };

/** True when pid is alive and runs `cmd` (guards against a recycled pid). */
export function pidRuns(pid: number, cmd: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return readlinkSync(`/proc/${pid}/exe`) === realpathSync(cmd);
  } catch {
    return true; // no /proc (or no permission): trust the pid
  }
}

/** Stops a process (and its group) that may belong to another process: TERM, wait, KILL. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) {
      signalGroup(pid, 'SIGKILL');
      const hard = Date.now() + 5_000;
      while (pidAlive(pid) && Date.now() < hard) await sleep(50);
      return;
    }
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The last `bytes` of a log file, for error messages. */
export function logTail(file: string, bytes = 3000): string {
  try {
    const s = readFileSync(file, 'utf8');
    return s.slice(-bytes);
  } catch {
    return '';
  }
}
