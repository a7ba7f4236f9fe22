/**
 * A private, multi-tenant Loki for `imom rules test` when no --loki-url is given:
 * the real binary (found as `imom stack` finds it: IMOM_LOKI_BIN, .cache/bin, PATH), on
 * loopback ports, with auth_enabled: true so every test case gets its own tenant.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../core/net.js';
import { waitReady } from '../stack/components.js';
import { findBinary } from '../stack/paths.js';
import { spawnProc } from '../stack/process.js';

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
  # A test's lines (up to 27h old, runner.ts) stay in the ingester, and every query asks it:
  # no chunk is flushed while a test runs, so nothing depends on when the store indexes it.
  max_chunk_age: 48h
  chunk_idle_period: 48h
querier:
  query_ingesters_within: 0
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
export async function startPrivateLoki(opts: { bin?: string; timeoutMs?: number } = {}): Promise<PrivateLoki> {
  const bin = opts.bin ?? findBinary('loki');
  if (!bin) throw new Error('no loki binary: run `npm run setup`, put loki on PATH, set IMOM_LOKI_BIN, or pass --loki-url');
  const dir = mkdtempSync(join(tmpdir(), 'imom-rules-loki-'));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  // A minimal multi-tenant config (same limits that matter as loki/loki.yaml:
  // no service_name/detected_level discovery).
  const cfg = join(dir, 'loki.yaml');
  writeFileSync(cfg, multiTenantLokiConfig(dir, httpPort, grpcPort));
  const removeDir = () => { if (!process.env.IMOM_KEEP_TMP) rmSync(dir, { recursive: true, force: true }); };
  let proc;
  try {
    proc = spawnProc({ name: 'loki', cmd: bin, args: [`-config.file=${cfg}`], env: {}, cwd: dir, logFile: join(dir, 'loki.log') });
  } catch (e) {
    removeDir();
    throw e;
  }
  const { pid } = proc;
  const onExit = () => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', onExit);
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    process.removeListener('exit', onExit);
    await proc.stop(10_000);
    removeDir();
  };
  try {
    await waitReady(proc, `${url}/ready`, opts.timeoutMs ?? 90_000);
  } catch (e) {
    await stop();
    throw new Error(`private Loki did not become ready: ${(e as Error).message}`);
  }
  return { url, dir, stop };
}
