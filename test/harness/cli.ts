/** Runs the real `imom` CLI from source, as an operator would run the binary. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run } from './proc.js';

const ENTRY = join(REPO_ROOT, 'agent/src/cli/bin.ts');

export function imom(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  return run(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, allowFail: true });
}

/** A long-running `imom` process (agent, relay, split --follow). */
export function spawnImom(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
