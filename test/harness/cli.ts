/** Runs the real `imom` CLI from source, as an operator would run the binary. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONITOR_USER } from './mariadb.js';
import { reaped, REPO_ROOT, run, startDaemon, type Daemon } from './proc.js';

const ENTRY = join(REPO_ROOT, 'agent/src/cli/bin.ts');

export function imom(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  return run(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, allowFail: true });
}

/** A long-running `imom` process (agent, relay, split --follow). */
export function spawnImom(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): ChildProcess {
  return reaped(spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** `imom qhash split INPUT --follow` as a daemon; its stderr (loss reports) goes to `logFile`. */
export function followSplit(o: { input: string; console: string; query: string; stateDir: string; logFile: string }): Daemon {
  const args = ['--import', 'tsx', ENTRY, 'qhash', 'split', o.input, '--console', o.console, '--query', o.query, '--follow', '--state', o.stateDir];
  return startDaemon('qhash-follow', process.execPath, args, { cwd: REPO_ROOT, logFile: o.logFile });
}

/** Strips the `YYYY-MM-DD HH:MM:SS | ` prefix of LOG_FILE lines. */
export function stripStamp(line: string): string {
  return line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| /, '');
}

export const STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| /;

export function linesOf(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

export function writeConfig(dir: string, yaml: string): string {
  const p = join(dir, 'imom.yaml');
  writeFileSync(p, yaml);
  return p;
}

/**
 * Writes an agent config into `dir` (LOG_FILE and state under it) with `checks` as the
 * body of `checks:` (YAML, indented two spaces), and returns its path.
 */
export function checkConfig(dir: string, checks: string, opts: { timeout?: string; interval?: string; host?: string } = {}): string {
  return writeConfig(dir, `
host: ${opts.host ?? 'test-host'}
interval: ${opts.interval ?? '60s'}
timeout: ${opts.timeout ?? '10s'}
state_dir: ${dir}/state
outputs:
  file: { path: ${dir}/check.log }
checks:
${checks.replace(/^\n+/, '').trimEnd()}
`);
}

/** `imom check --config FILE --once`: exit code, output, and the LOG_FILE lines without their timestamp. */
export async function checkOnce(configFile: string, opts: { env?: NodeJS.ProcessEnv; only?: string } = {}) {
  const r = await imom(['check', '--config', configFile, '--once', ...(opts.only ? ['--only', opts.only] : [])], { env: opts.env });
  return { ...r, lines: linesOf(r.stdout).map(stripStamp) };
}

interface Addressed { readonly address: string }

/**
 * The `checks:` block (YAML, with its key) for a MariaDB pair and a Redis pair, as the demo and
 * the end-to-end tests watch them: mysql `order-db` (password from ${IMOM_MYSQL_PASSWORD})
 * and redis `session`.
 */
export function pairChecks(mysql: { primary: Addressed; replica: Addressed }, redis: { master: Addressed; replica: Addressed }): string {
  return `checks:
  mysql:
    - name: order-db
      user: ${MONITOR_USER}
      password: \${IMOM_MYSQL_PASSWORD}
      master: ${mysql.primary.address}
      slaves: [${mysql.replica.address}]
      max_seconds_behind_master: 30
  redis:
    - name: session
      masters: [${redis.master.address}]
      slaves: [${redis.replica.address}]
`;
}

/**
 * The end-to-end tests' agent config: every 2 s, one file per check and instance in Promtail's
 * check-log folder, watching the MariaDB and Redis pairs (pairChecks).
 */
export function e2eAgentConfig(dir: string, host: string, checkLogDir: string, mysql: { primary: Addressed; replica: Addressed }, redis: { master: Addressed; replica: Addressed }): string {
  return writeConfig(dir, `
env: e2e
host: ${host}
interval: 2s
timeout: 2s
heartbeat_interval: 2s
state_dir: ${dir}/state
outputs:
  file: { path: "${checkLogDir}/{check}.{instance}.log" }
${pairChecks(mysql, redis)}`);
}
