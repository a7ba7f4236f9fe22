/**
 * `imom relay` as a process for tests: a config with one JSON webhook target (`<chatUrl>/hook`)
 * and, if asked, a heartbeat; Loki unreachable unless given (the lines are then "unavailable",
 * which these tests do not look at). Resolves once /healthz answers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, REPO_ROOT, startDaemon, waitFor, type Daemon } from './proc.js';

export interface TestRelay {
  readonly port: number;
  readonly url: string;
  readonly config: string;
  daemon: Daemon;
  /** Starts it again on the same config, port and state (after stop() or kill()); waits for /healthz. */
  restart(): Promise<void>;
}

export async function startTestRelay(o: {
  dir: string; chatUrl: string; port?: number;
  /** `token: …` or `token_file: …` (default a fixed token). */
  auth?: string;
  heartbeat?: { url: string; everyMs: number; maxAgeMs: number };
  /** More top-level YAML, e.g. `hold_resolved: { silent_max_age: 1s }`. */
  extra?: string;
}): Promise<TestRelay> {
  const port = o.port ?? (await freePort());
  const config = join(o.dir, 'relay.yaml');
  writeFileSync(config, `listen: 127.0.0.1:${port}
${o.auth ?? 'token: relay-token-0123456789abcdef'}
state_dir: ${o.dir}/state
loki: { url: 'http://127.0.0.1:1', timeout: 1s }
${o.heartbeat ? `heartbeat: { url: '${o.heartbeat.url}', every: ${o.heartbeat.everyMs}ms, max_age: ${o.heartbeat.maxAgeMs}ms }\n` : ''}${o.extra ? `${o.extra}\n` : ''}targets:
  - { name: json, type: webhook, url: '${o.chatUrl}/hook' }
`);
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const d = startDaemon('relay', process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'agent/src/cli/bin.ts'), 'relay', '--config', config], { cwd: REPO_ROOT, logFile: join(o.dir, 'relay.log') });
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 30_000, 'relay ready', 100);
    return d;
  };
  const r: TestRelay = { port, url, config, daemon: await launch(), async restart() { r.daemon = await launch(); } };
  return r;
}
