/**
 * A private, multi-tenant Loki for `imom rules test` when no --loki-url is given:
 * the real binary (IMOM_LOKI_BIN, else `loki` on PATH, else .cache/bin/loki), on
 * loopback ports, with auth_enabled: true so every test case gets its own tenant.
 */
import { freePort } from '../core/net.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { request } from 'undici';

export const REPO_ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..').replace(/\/dist$/, '');

export function findLokiBinary(): string | undefined {
  const candidates = [process.env.IMOM_LOKI_BIN, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'loki')), join(REPO_ROOT, '.cache', 'bin', 'loki')];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  return undefined;
}


export interface PrivateLoki {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export function multiTenantLokiConfig(dir: string, httpPort: number, grpcPort: number): string {
  return `# written by imom rules test
auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: ${httpPort}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: ${grpcPort}
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: ${dir}
  replication_factor: 1
  storage:
    filesystem:
      chunks_directory: ${dir}/chunks
      rules_directory: ${dir}/rules
  ring:
    kvstore:
      store: inmemory
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  allow_structured_metadata: true
  discover_service_name: []
  discover_log_levels: false
  ingestion_rate_mb: 64
  ingestion_burst_size_mb: 128
query_range:
  cache_results: false
analytics:
  reporting_enabled: false
`;
}

/** Starts the private Loki and resolves once /ready answers 200. */
export async function startPrivateLoki(opts: { bin?: string; timeoutMs?: number; /** 'builtin' (default) or the repo's loki/loki.yaml */ config?: 'builtin' | 'repo' } = {}): Promise<PrivateLoki> {
  const bin = opts.bin ?? findLokiBinary();
  if (!bin) throw new Error('no loki binary: run `npm run setup`, put loki on PATH, set IMOM_LOKI_BIN, or pass --loki-url');
  const dir = mkdtempSync(join(tmpdir(), 'imom-rules-loki-'));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  // A minimal multi-tenant config by default (same limits that matter as loki/loki.yaml:
  // no service_name/detected_level discovery); or the repo's loki/loki.yaml switched to multi-tenant.
  const repoCfg = join(REPO_ROOT, 'loki', 'loki.yaml');
  let args: string[];
  let env: NodeJS.ProcessEnv = process.env;
  if (opts.config === 'repo' && existsSync(repoCfg)) {
    mkdirSync(join(dir, 'rules'));
    args = [`-config.file=${repoCfg}`, '-config.expand-env=true'];
    env = {
      ...process.env,
      LOKI_AUTH_ENABLED: 'true',
      LOKI_DATA_DIR: dir,
      LOKI_HTTP_ADDRESS: '127.0.0.1',
      LOKI_HTTP_PORT: String(httpPort),
      LOKI_GRPC_ADDRESS: '127.0.0.1',
      LOKI_GRPC_PORT: String(grpcPort),
      LOKI_RULES_DIR: join(dir, 'rules'),
      LOKI_CACHE_RESULTS: 'false',
      LOKI_LOG_LEVEL: 'warn',
    };
  } else {
    const cfg = join(dir, 'loki.yaml');
    writeFileSync(cfg, multiTenantLokiConfig(dir, httpPort, grpcPort));
    args = [`-config.file=${cfg}`];
  }
  const logFile = join(dir, 'loki.log');
  const fd = openSync(logFile, 'a');
  const proc: ChildProcess = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true, env, cwd: dir });
  closeSync(fd);
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const kill = (sig: NodeJS.Signals) => { try { if (proc.pid) process.kill(-proc.pid, sig); } catch { /* gone */ } };
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (proc.exitCode === null && proc.signalCode === null) {
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (!process.env.IMOM_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const r = await request(`${url}/ready`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.text();
      if (r.statusCode === 200) return { url, dir, stop };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  let tail = '';
  try { tail = readFileSync(logFile, 'utf8').slice(-1500); } catch { /* none */ }
  await stop();
  throw new Error(`private Loki did not become ready: ${tail}`);
}
