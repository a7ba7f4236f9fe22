/**
 * How to run each component of the local stack: command line, environment (the
 * configs in loki/ and promtail/ are templated with ${VAR:-default} and read with
 * -config.expand-env=true), data folders, and how to tell that it is ready.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { request } from 'undici';
import { tlsDispatcher } from '../loki-client/index.js';
import { defaults, repoRoot, requireBinary } from './paths.js';
import { logTail, sleep, type Proc, type ProcSpec } from './process.js';

export interface LokiSpecOptions {
  /** Data folder; Loki writes chunks, index, WAL, compactor and ruler state under it. */
  readonly dataDir: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Default loki/loki.yaml. */
  readonly configFile?: string;
  /**
   * Rule files for the ruler, in either layout:
   *  - Loki's own, <rulesDir>/<tenant>/*.yaml (ruler/rules/fake/imom.yaml): used as is;
   *  - flat, <rulesDir>/*.yaml: linked as <dataDir>/rules/<tenant>.
   */
  readonly rulesDir?: string;
  /** Tenant the rules belong to; "fake" is Loki's tenant when auth is off. */
  readonly tenant?: string;
  readonly alertmanagerUrl?: string;
  /** Extra LOKI_* variables (see loki/loki.yaml), e.g. { LOKI_RULER_EVALUATION_INTERVAL: '5s' }. */
  readonly env?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
  /** Run loki/loki-tls.yaml (mutual TLS on HTTP and gRPC) with these files. */
  readonly tls?: LokiTlsFiles;
}

/** The files loki/loki-tls.yaml needs (its LOKI_TLS_* variables). */
export interface LokiTlsFiles {
  /** CA that signed certFile; Loki's own gRPC clients verify it. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** CA whose client certificates may connect; default caFile. */
  readonly clientCaFile?: string;
  /** Client certificate of Loki's own gRPC clients (clientAuth usage, signed by the client CA). */
  readonly internalCertFile: string;
  readonly internalKeyFile: string;
  /** Lowest TLS version Loki accepts, Go's spelling (VersionTLS12); the file's default when absent. */
  readonly minVersion?: string;
}

function lokiTlsEnv(t: LokiTlsFiles): Record<string, string> {
  return {
    LOKI_TLS_CA_FILE: resolve(t.caFile),
    LOKI_TLS_CERT_FILE: resolve(t.certFile),
    LOKI_TLS_KEY_FILE: resolve(t.keyFile),
    LOKI_TLS_CLIENT_CA_FILE: resolve(t.clientCaFile ?? t.caFile),
    LOKI_TLS_INTERNAL_CERT_FILE: resolve(t.internalCertFile),
    LOKI_TLS_INTERNAL_KEY_FILE: resolve(t.internalKeyFile),
    ...(t.minVersion ? { LOKI_TLS_MIN_VERSION: t.minVersion } : {}),
  };
}

/** The absolute data folder, created. */
export function dataFolder(dir: string): string {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * Loki and Promtail share their command line (-config.file with ${VAR} expansion) and
 * run in their data folder, logging to <dataDir>/<name>.log unless told otherwise.
 */
export function expandEnvSpec(name: 'loki' | 'promtail', dataDir: string, defaultConfig: string, env: Record<string, string>,
  o: { readonly configFile?: string; readonly extraArgs?: readonly string[]; readonly logFile?: string }): ProcSpec {
  return {
    name,
    cmd: requireBinary(name),
    args: ['-config.file', resolve(o.configFile ?? defaultConfig), '-config.expand-env=true', ...(o.extraArgs ?? [])],
    env,
    cwd: dataDir,
    logFile: o.logFile ?? join(dataDir, `${name}.log`),
  };
}

export function lokiSpec(o: LokiSpecOptions): ProcSpec {
  const dataDir = dataFolder(o.dataDir);
  let rulesRoot = join(dataDir, 'rules');
  if (o.rulesDir && !hasRuleFiles(resolve(o.rulesDir))) {
    rulesRoot = resolve(o.rulesDir); // already <tenant>/*.yaml
  } else {
    mkdirSync(rulesRoot, { recursive: true });
    if (o.rulesDir) linkDir(resolve(o.rulesDir), join(rulesRoot, o.tenant ?? 'fake'));
  }
  const env: Record<string, string> = {
    LOKI_DATA_DIR: dataDir,
    LOKI_HTTP_ADDRESS: '127.0.0.1',
    LOKI_HTTP_PORT: String(o.httpPort),
    LOKI_GRPC_ADDRESS: '127.0.0.1',
    LOKI_GRPC_PORT: String(o.grpcPort),
    LOKI_RULES_DIR: rulesRoot,
    LOKI_ALERTMANAGER_URL: o.alertmanagerUrl ?? 'http://127.0.0.1:9093',
    ...(o.tls ? lokiTlsEnv(o.tls) : {}),
    ...o.env,
  };
  return expandEnvSpec('loki', dataDir, o.tls ? defaults.lokiTlsConfig() : defaults.lokiConfig(), env, o);
}

function hasRuleFiles(dir: string): boolean {
  return readdirSync(dir).some((f) => /\.ya?ml$/.test(f));
}

/** Makes `link` a symlink to `target`, replacing an older link (never a real folder). */
function linkDir(target: string, link: string): void {
  try {
    const st = lstatSync(link);
    if (st.isSymbolicLink()) {
      if (readlinkSync(link) === target) return;
      rmSync(link);
    } else {
      throw new Error(`${link} exists and is not a link; remove it or choose another rules tenant`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  symlinkSync(target, link, 'dir');
}

export interface PromtailSpecOptions {
  /** Holds positions.yaml (kept across restarts) and the log. */
  readonly dataDir: string;
  readonly httpPort: number;
  /** e.g. http://127.0.0.1:3100 (the push path is added). */
  readonly lokiUrl: string;
  /** Default promtail/promtail.yaml. */
  readonly configFile?: string;
  /** Label values and paths, i.e. the IMOM_* variables of promtail/promtail.yaml. */
  readonly env?: string;
  readonly host?: string;
  readonly checkLogDir?: string;
  readonly app?: string;
  readonly appHost?: string;
  readonly server?: string;
  readonly consoleLog?: string;
  readonly queryLog?: string;
  readonly tenant?: string;
  /** Any further variables, applied last. */
  readonly vars?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
}

/** The variables promtail.yaml and otelcol.yaml share: tenant, label values, paths; then `vars`. */
function shipperVars(o: Omit<PromtailSpecOptions, 'dataDir' | 'httpPort' | 'lokiUrl'>): Record<string, string> {
  const set = (k: string, v: string | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    ...set('LOKI_TENANT', o.tenant),
    IMOM_ENV: o.env ?? 'dev',
    IMOM_HOST: o.host ?? hostname(),
    ...set('IMOM_CHECK_LOG_DIR', o.checkLogDir && resolve(o.checkLogDir)),
    ...set('IMOM_APP', o.app),
    IMOM_APP_HOST: o.appHost ?? hostname(),
    IMOM_APP_SERVER: o.server ?? hostname(),
    ...set('IMOM_APP_CONSOLE_LOG', o.consoleLog && resolve(o.consoleLog)),
    ...set('IMOM_APP_QUERY_LOG', o.queryLog && resolve(o.queryLog)),
    ...o.vars,
  };
}

export function promtailSpec(o: PromtailSpecOptions): ProcSpec {
  const dataDir = dataFolder(o.dataDir);
  const env: Record<string, string> = {
    PROMTAIL_HTTP_ADDRESS: '127.0.0.1',
    PROMTAIL_HTTP_PORT: String(o.httpPort),
    PROMTAIL_POSITIONS: join(dataDir, 'positions.yaml'),
    LOKI_PUSH_URL: `${o.lokiUrl.replace(/\/$/, '')}/loki/api/v1/push`,
    ...shipperVars(o),
  };
  return expandEnvSpec('promtail', dataDir, defaults.promtailConfig(), env, o);
}

export interface OtelcolSpecOptions extends Omit<PromtailSpecOptions, 'httpPort'> {
  /** health_check extension (GET / answers 200 once the pipelines run). */
  readonly healthPort: number;
  /** The collector's own metrics (Prometheus text on /metrics). */
  readonly metricsPort: number;
}

/**
 * The OpenTelemetry Collector with otelcol/otelcol.yaml: the same IMOM_* variables as
 * promtail.yaml, so both ship the same files with the same labels; offsets and the sending
 * queue in <dataDir>/storage.
 */
export function otelcolSpec(o: OtelcolSpecOptions): ProcSpec {
  const dataDir = dataFolder(o.dataDir);
  const env: Record<string, string> = {
    OTELCOL_HEALTH_ADDRESS: '127.0.0.1',
    OTELCOL_HEALTH_PORT: String(o.healthPort),
    OTELCOL_METRICS_PORT: String(o.metricsPort),
    OTELCOL_STORAGE_DIR: join(dataDir, 'storage'),
    LOKI_OTLP_URL: `${o.lokiUrl.replace(/\/$/, '')}/otlp`,
    ...shipperVars(o),
  };
  return {
    name: 'otelcol',
    cmd: requireBinary('otelcol'),
    args: ['--config', resolve(o.configFile ?? defaults.otelcolConfig()), ...(o.extraArgs ?? [])],
    env,
    cwd: dataDir,
    logFile: o.logFile ?? join(dataDir, 'otelcol.log'),
  };
}

export interface AlertmanagerSpecOptions {
  readonly dataDir: string;
  readonly port: number;
  /** Default ruler/alertmanager.yml. */
  readonly configFile?: string;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
}

export function alertmanagerSpec(o: AlertmanagerSpecOptions): ProcSpec {
  const dataDir = dataFolder(o.dataDir);
  const config = resolve(o.configFile ?? defaults.alertmanagerConfig());
  if (!existsSync(config)) throw new Error(`alertmanager config ${config} not found`);
  return {
    name: 'alertmanager',
    cmd: requireBinary('alertmanager'),
    args: [
      `--config.file=${config}`,
      `--storage.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      '--cluster.listen-address=', // no gossip: a single local Alertmanager
      ...(o.extraArgs ?? []),
    ],
    env: {},
    cwd: dataDir,
    logFile: o.logFile ?? join(dataDir, 'alertmanager.log'),
  };
}

export interface RelaySpecOptions {
  readonly configFile: string;
  readonly logFile: string;
  readonly cwd: string;
}

/**
 * `imom relay` as a stack component: the built CLI when this code runs from dist/,
 * the TypeScript entry through tsx when it runs from source (tests).
 */
export function relaySpec(o: RelaySpecOptions): ProcSpec {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fromSource ? join(repoRoot(), 'agent', 'src', 'cli', 'bin.ts') : join(repoRoot(), 'bin', 'imom.js');
  return {
    name: 'relay',
    cmd: process.execPath,
    args: [...(fromSource ? ['--import', 'tsx'] : []), entry, 'relay', '--config', o.configFile],
    env: {},
    cwd: o.cwd,
    logFile: o.logFile,
  };
}

/** The readiness endpoint of each component. */
export const READY_PATH: Record<string, string> = { loki: '/ready', promtail: '/ready', otelcol: '/', alertmanager: '/-/ready', relay: '/healthz', store: '/health', nginx: '/nginx-health' };

export interface Readiness {
  readonly ready: boolean;
  /** Status code and first line of the body, or the connection error. */
  readonly detail: string;
}

/**
 * `tls`: the client side of an https:// probe (CA, client certificate), for a component that
 * requires a client certificate even on its readiness endpoint (loki/loki-tls.yaml does).
 */
export async function probeReady(url: string, timeoutMs = 2_000, tls?: ConnectionOptions): Promise<Readiness> {
  try {
    const res = await request(url, { dispatcher: tls ? tlsDispatcher(tls) : undefined, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const body = (await res.body.text()).trim().split('\n')[0] ?? '';
    return { ready: res.statusCode >= 200 && res.statusCode < 300, detail: `${res.statusCode} ${body}`.trim() };
  } catch (e) {
    const err = e as Error & { code?: string; cause?: { code?: string } };
    return { ready: false, detail: err.code ?? err.cause?.code ?? err.message };
  }
}

/**
 * Waits until `url` answers 2xx. Fails early, with the end of the log, if the process exits.
 * `acceptBody` also counts a non-2xx answer whose body matches as ready (Promtail says
 * "Not ready" while it has no file to tail, though it is up and will tail files as they appear).
 */
export async function waitReady(proc: Proc, url: string, timeoutMs = 60_000, acceptBody?: RegExp, tls?: ConnectionOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Readiness = { ready: false, detail: 'not probed' };
  while (Date.now() < deadline) {
    if (!proc.alive()) {
      throw new Error(`${proc.spec.name} exited before it was ready; log ${proc.spec.logFile}:\n${logTail(proc.spec.logFile)}`);
    }
    last = await probeReady(url, undefined, tls);
    if (last.ready || (acceptBody && acceptBody.test(last.detail))) return;
    await sleep(150);
  }
  throw new Error(`${proc.spec.name} not ready at ${url} after ${timeoutMs} ms (${last.detail}); log ${proc.spec.logFile}:\n${logTail(proc.spec.logFile)}`);
}

/** Promtail's /ready answer while it is up but has no file to tail yet. */
export const PROMTAIL_NO_FILES = /Unable to find any logs to tail/;
