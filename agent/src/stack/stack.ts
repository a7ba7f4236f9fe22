/**
 * The local stack: Alertmanager (when its config exists), Loki single binary and
 * Promtail, on loopback ports, with one data folder. The pids and ports are kept in
 * <dir>/stack.json, so `down` and `status` work from any process.
 *
 *   <dir>/stack.json              state: components, pids, ports, URLs
 *   <dir>/loki/                   Loki data (chunks, index, WAL, compactor, rules -> ruler/rules)
 *   <dir>/promtail/positions.yaml Promtail's read positions
 *   <dir>/alertmanager/           Alertmanager silences and notification log
 *   <dir>/run/<component>.log     each component's own output
 *   <dir>/var/log/imom/<check>.log        default check logs Promtail tails
 *   <dir>/var/log/app/{console,query}.log default application logs Promtail tails
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../core/net.js';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import type { ConnectionOptions } from 'node:tls';
import type { TlsConfig } from '../config/tls.js';
import { loadTls } from '../core/tls/index.js';
import { renderAlertmanagerConfig } from '../relay/amconfig.js';
import { type LokiTlsFiles, alertmanagerSpec, lokiSpec, otelcolSpec, probeReady, promtailSpec, PROMTAIL_NO_FILES, READY_PATH, relaySpec, waitReady } from './components.js';
import { CHUNKS_BUCKET, HA_MEMBERS, haPlan, loadRules, RULER_BUCKET, ringStatus, type HaPorts, type RingMember } from './ha.js';
import { defaults } from './paths.js';
import { pidRuns, spawnProc, stopPid, type Proc, type ProcSpec } from './process.js';

export const STATE_FILE = 'stack.json';

export interface ComponentState {
  readonly name: 'loki' | 'promtail' | 'otelcol' | 'alertmanager' | 'relay' | 'store' | 'nginx';
  /** An HA member's id in the rings (loki-1, loki-2, loki-3); absent for the single binary. */
  readonly instance?: string;
  readonly pid: number;
  readonly cmd: string;
  readonly args: readonly string[];
  /** Base URL, http://127.0.0.1:<port>. */
  readonly url: string;
  readonly readyPath: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly logFile: string;
  readonly startedAt: string;
}

export interface StackState {
  readonly version: 1;
  readonly dir: string;
  readonly components: readonly ComponentState[];
  /** Loki's client TLS (file paths only) when it runs loki/loki-tls.yaml: status probes with it. */
  readonly lokiTls?: TlsConfig;
  /** The HA cluster (--ha): nginx is the entry point every client uses; the store's bucket folders. */
  readonly ha?: { readonly entry: string; readonly grpcPort: number; readonly members: readonly { readonly id: string; readonly url: string }[]; readonly bucketDirs: readonly string[]; readonly rules: number };
  /** Paths the shipper (Promtail, or the collector) tails and the labels it sets, for the operator (and the demo). */
  readonly promtail?: {
    readonly checkLogDir: string; readonly consoleLog: string; readonly queryLog: string; readonly labels: Readonly<Record<string, string>>;
    /** Absent in states written before the collector could be chosen: Promtail. */
    readonly shipper?: Shipper;
  };
}

/** Which program ships the log files to Loki: promtail/promtail.yaml or otelcol/otelcol.yaml. */
export type Shipper = 'promtail' | 'otelcol';

export interface StackUpOptions {
  readonly dir: string;
  /** Preferred ports; a default that is taken falls back to a free one. */
  readonly ports?: { readonly loki?: number; readonly lokiGrpc?: number; readonly promtail?: number; readonly otelcol?: number; readonly alertmanager?: number };
  /** Start a shipper (default true). */
  readonly promtail?: boolean;
  /** Which one (default promtail). */
  readonly shipper?: Shipper;
  readonly otelcolConfig?: string;
  /** true: must start; false: never; 'auto' (default): when the config file exists. */
  readonly alertmanager?: boolean | 'auto';
  readonly lokiConfig?: string;
  readonly promtailConfig?: string;
  readonly alertmanagerConfig?: string;
  /** Rule files for the Loki ruler; default ruler/rules when it exists. */
  readonly rulesDir?: string;
  readonly tenant?: string;
  readonly lokiEnv?: Readonly<Record<string, string>>;
  readonly labels?: { readonly env?: string; readonly host?: string; readonly app?: string; readonly appHost?: string; readonly server?: string };
  readonly paths?: { readonly checkLogDir?: string; readonly consoleLog?: string; readonly queryLog?: string };
  readonly readyTimeoutMs?: number;
  /**
   * Start the chat relay too: Alertmanager's config is rendered to post to it with a bearer
   * token the stack generates, and the relay queries this stack's Loki for the lines.
   * `targets` are relay targets (see ruler/relay.example.yaml).
   */
  readonly relay?: { readonly targets: readonly Record<string, unknown>[]; readonly grafanaUrl?: string; readonly port?: number };
  /**
   * Loki on mutual TLS (loki/loki-tls.yaml with `files`); `client` is the `tls:` block Promtail,
   * the relay and the readiness probes use for it (CA, client certificate).
   */
  readonly lokiTls?: { readonly files: LokiTlsFiles; readonly client: TlsConfig };
  /**
   * The HA cluster of loki/loki-ha.yaml instead of the single binary (ha.ts): versitygw, three
   * members, nginx on ports.loki / ports.lokiGrpc; the rules are loaded through the ruler API.
   */
  readonly ha?: boolean;
}

const DEFAULT_PORTS = { loki: 3100, lokiGrpc: 9095, promtail: 9080, otelcol: 13133, otelcolMetrics: 8888, alertmanager: 9093, relay: 9097 } as const;

function statePath(dir: string): string {
  return join(resolve(dir), STATE_FILE);
}

export function readState(dir: string): StackState | undefined {
  const p = statePath(dir);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as StackState;
}

function writeState(dir: string, s: StackState): void {
  const p = statePath(dir);
  writeFileSync(`${p}.tmp`, JSON.stringify(s, null, 2) + '\n');
  renameSync(`${p}.tmp`, p);
}

export function componentAlive(c: ComponentState): boolean {
  return pidRuns(c.pid, c.cmd);
}

export async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

async function pickPort(preferred: number | undefined, fallback: number, taken: Set<number>): Promise<number> {
  if (preferred !== undefined) {
    taken.add(preferred);
    return preferred; // asked for explicitly: use it, and fail loudly if it is busy
  }
  if (!taken.has(fallback) && (await portFree(fallback))) {
    taken.add(fallback);
    return fallback;
  }
  return freshPort(taken);
}

/** A kernel-chosen free port not yet given to another component of this stack. */
async function freshPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

/** Writes the relay's token (once, 0600) and its config for this stack; returns where. */
function prepareRelay(dir: string, r: NonNullable<StackUpOptions['relay']>, port: number, lokiUrl: string, lokiTls: TlsConfig | undefined): { port: number; configFile: string } {
  const tokenFile = join(dir, 'relay.token');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const configFile = join(dir, 'relay.yaml');
  writeFileSync(configFile, `# written by imom stack up\n${stringify({
    listen: `127.0.0.1:${port}`,
    token_file: tokenFile,
    state_dir: join(dir, 'relay'),
    loki: { url: lokiUrl, lines: 5, lookback: '15m', ...(lokiTls ? { tls: tlsFiles(lokiTls) } : {}) },
    ...(r.grafanaUrl ? { grafana: { url: r.grafanaUrl, datasource_uid: 'imom-loki' } } : {}),
    retry: { initial: '500ms', max: '10s' },
    targets: r.targets,
  })}`);
  return { port, configFile };
}

/** The file keys of a parsed `tls:` block, to write into another component's config. */
function tlsFiles(t: TlsConfig): Record<string, string> {
  return Object.fromEntries(Object.entries({ ca_file: t.ca_file, cert_file: t.cert_file, key_file: t.key_file, server_name: t.server_name }).filter((e): e is [string, string] => e[1] !== undefined));
}

function record(proc: Proc, spec: ProcSpec, name: ComponentState['name'], port: number, ports: Record<string, number>, scheme = 'http', instance?: string): ComponentState {
  return {
    name, ...(instance ? { instance } : {}), pid: proc.pid, cmd: spec.cmd, args: spec.args, url: `${scheme}://127.0.0.1:${port}`, readyPath: READY_PATH[name] ?? '/ready',
    ports, logFile: spec.logFile, startedAt: new Date().toISOString(),
  };
}

/**
 * Starts the stack and waits until each component is ready. Returns the saved state.
 * If the stack in `dir` is already running, returns its state unchanged.
 */
export async function stackUp(o: StackUpOptions): Promise<StackState & { alreadyRunning?: boolean }> {
  const dir = resolve(o.dir);
  const prev = readState(dir);
  if (prev) {
    const alive = prev.components.filter(componentAlive);
    if (alive.length === prev.components.length && alive.length > 0) return { ...prev, alreadyRunning: true };
    if (alive.length > 0) throw new Error(`the stack in ${dir} is partly running (${alive.map((c) => c.name).join(', ')}); run \`imom stack down --dir ${dir}\` first`);
  }
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const timeout = o.readyTimeoutMs ?? 90_000;
  const taken = new Set<number>();
  const started: Proc[] = [];
  const components: ComponentState[] = [];
  let promtailInfo: StackState['promtail'];
  const lokiTls = o.lokiTls?.client;
  let haInfo: StackState['ha'];
  const save = () => writeState(dir, { version: 1, dir, components, promtail: promtailInfo, ...(lokiTls ? { lokiTls } : {}), ...(haInfo ? { ha: haInfo } : {}) });
  /** Spawns a component, records it in the state file, and waits for its readiness endpoint. */
  const launch = async (spec: ProcSpec, name: ComponentState['name'], port: number, ports: Record<string, number>, acceptBody?: RegExp, tls?: ConnectionOptions, instance?: string): Promise<ComponentState> => {
    const p = spawnProc(spec, { detach: true });
    started.push(p);
    const c = record(p, spec, name, port, ports, tls ? 'https' : 'http', instance);
    components.push(c);
    save();
    await waitReady(p, c.url + c.readyPath, timeout, acceptBody, tls);
    return c;
  };
  try {
    // Alertmanager first, so the ruler's first notification finds it.
    let amConfig = resolve(o.alertmanagerConfig ?? defaults.alertmanagerConfig());
    const wantAm = o.alertmanager === true || ((o.alertmanager ?? 'auto') === 'auto' && existsSync(amConfig));
    const lokiPort = await pickPort(o.ports?.loki, DEFAULT_PORTS.loki, taken);
    let relay: { port: number; configFile: string } | undefined;
    if (o.relay) {
      relay = prepareRelay(dir, o.relay, await pickPort(o.relay.port, DEFAULT_PORTS.relay, taken), `${lokiTls ? 'https' : 'http'}://127.0.0.1:${lokiPort}`, lokiTls);
      if (wantAm) {
        // Alertmanager 0.25 cannot expand variables: render the relay's URL and token file into its config.
        const rendered = join(dir, 'alertmanager.yml');
        writeFileSync(rendered, renderAlertmanagerConfig(readFileSync(amConfig, 'utf8'), {
          relayUrl: `http://127.0.0.1:${relay.port}/alertmanager`, tokenFile: join(dir, 'relay.token'),
        }));
        amConfig = rendered;
      }
    }
    let amUrl: string | undefined;
    if (wantAm) {
      const port = await pickPort(o.ports?.alertmanager, DEFAULT_PORTS.alertmanager, taken);
      const spec = alertmanagerSpec({ dataDir: join(dir, 'alertmanager'), port, configFile: amConfig, logFile: join(runDir, 'alertmanager.log') });
      amUrl = (await launch(spec, 'alertmanager', port, { http: port })).url;
    }

    const grpcPort = await pickPort(o.ports?.lokiGrpc, DEFAULT_PORTS.lokiGrpc, taken);
    const rulesDir = o.rulesDir ?? (existsSync(defaults.rulesDir()) ? defaults.rulesDir() : undefined);
    let lokiUrl: string;
    if (o.ha) {
      if (o.lokiTls) throw new Error('--ha and --loki-tls-dir cannot be combined (loki/loki-ha.yaml has no TLS)');
      const free = () => freshPort(taken);
      const ports: HaPorts = {
        store: await free(), http: lokiPort, grpc: grpcPort,
        members: await Promise.all(Array.from({ length: HA_MEMBERS }, async () => ({ http: await free(), grpc: await free(), memberlist: await free() }))),
      };
      // Fresh keys each time: the store holds plain files, its keys are only between it and Loki.
      const credentials = { accessKey: `imom-${randomBytes(6).toString('hex')}`, secretKey: randomBytes(24).toString('hex') };
      const plan = haPlan({ dir, ports, credentials, alertmanagerUrl: amUrl, lokiEnv: o.lokiEnv, lokiConfig: o.lokiConfig, logDir: runDir });
      await launch(plan.store.spec, 'store', ports.store, { http: ports.store });
      // The members together: each is ready only once it sees the others ACTIVE in the ring.
      await Promise.all(plan.members.map((m) => launch(m.spec, 'loki', m.ports.http, { ...m.ports }, undefined, undefined, m.id)));
      lokiUrl = (await launch(plan.nginx.spec, 'nginx', ports.http, { http: ports.http, grpc: ports.grpc })).url;
      const rules = rulesDir ? await loadRules(lokiUrl, rulesDir, o.tenant) : [];
      haInfo = {
        entry: lokiUrl, grpcPort: ports.grpc, members: plan.members.map((m) => ({ id: m.id, url: m.url })),
        bucketDirs: [CHUNKS_BUCKET, RULER_BUCKET].map(plan.store.bucketDir), rules: rules.length,
      };
      save();
    } else {
      const lspec = lokiSpec({
        dataDir: join(dir, 'loki'), httpPort: lokiPort, grpcPort, configFile: o.lokiConfig, rulesDir, tenant: o.tenant,
        alertmanagerUrl: amUrl, env: o.lokiEnv, logFile: join(runDir, 'loki.log'), tls: o.lokiTls?.files,
      });
      lokiUrl = (await launch(lspec, 'loki', lokiPort, { http: lokiPort, grpc: grpcPort }, undefined, lokiTls && loadTls(lokiTls).options)).url;
    }

    if (relay) {
      const spec = relaySpec({ configFile: relay.configFile, logFile: join(runDir, 'relay.log'), cwd: dir });
      await launch(spec, 'relay', relay.port, { http: relay.port });
    }

    if (o.promtail ?? true) {
      const shipper = o.shipper ?? 'promtail';
      const checkLogDir = resolve(o.paths?.checkLogDir ?? join(dir, 'var', 'log', 'imom'));
      const consoleLog = resolve(o.paths?.consoleLog ?? join(dir, 'var', 'log', 'app', 'console.log'));
      const queryLog = resolve(o.paths?.queryLog ?? join(dir, 'var', 'log', 'app', 'query.log'));
      mkdirSync(checkLogDir, { recursive: true });
      mkdirSync(resolve(consoleLog, '..'), { recursive: true });
      mkdirSync(resolve(queryLog, '..'), { recursive: true });
      const common = {
        dataDir: join(dir, shipper), lokiUrl, tenant: o.tenant === 'fake' ? undefined : o.tenant,
        env: o.labels?.env, host: o.labels?.host, app: o.labels?.app ?? 'app', appHost: o.labels?.appHost, server: o.labels?.server,
        checkLogDir, consoleLog, queryLog, logFile: join(runDir, `${shipper}.log`),
        ...(lokiTls ? { vars: shipperTlsVars(lokiTls) } : {}),
      };
      let spec: ProcSpec;
      if (shipper === 'promtail') {
        const port = await pickPort(o.ports?.promtail, DEFAULT_PORTS.promtail, taken);
        spec = promtailSpec({ ...common, httpPort: port, configFile: o.promtailConfig });
        await launch(spec, 'promtail', port, { http: port }, PROMTAIL_NO_FILES);
      } else {
        const port = await pickPort(o.ports?.otelcol, DEFAULT_PORTS.otelcol, taken);
        const metricsPort = await pickPort(undefined, DEFAULT_PORTS.otelcolMetrics, taken);
        spec = otelcolSpec({ ...common, healthPort: port, metricsPort, configFile: o.otelcolConfig });
        await launch(spec, 'otelcol', port, { health: port, metrics: metricsPort });
      }
      promtailInfo = {
        checkLogDir, consoleLog, queryLog, shipper,
        labels: { env: spec.env.IMOM_ENV ?? '', host: spec.env.IMOM_HOST ?? '', app: spec.env.IMOM_APP ?? '', appHost: spec.env.IMOM_APP_HOST ?? '', server: spec.env.IMOM_APP_SERVER ?? '' },
      };
    }
    const state: StackState = { version: 1, dir, components, promtail: promtailInfo, ...(lokiTls ? { lokiTls } : {}), ...(haInfo ? { ha: haInfo } : {}) };
    writeState(dir, state);
    return state;
  } catch (e) {
    for (const p of started.reverse()) await p.stop(5_000);
    rmSync(statePath(dir), { force: true });
    throw e;
  }
}

/** The TLS variables for a Loki on TLS, the same in promtail/promtail.yaml (tls_config) and otelcol/otelcol.yaml. */
function shipperTlsVars(t: TlsConfig): Record<string, string> {
  const f = tlsFiles(t);
  return Object.fromEntries(Object.entries({ LOKI_PUSH_CA_FILE: f.ca_file, LOKI_PUSH_CERT_FILE: f.cert_file, LOKI_PUSH_KEY_FILE: f.key_file, LOKI_PUSH_SERVER_NAME: f.server_name }).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Stops every component recorded in <dir>/stack.json, upstream first: Promtail flushes to a
 * live Loki, the ruler's last alerts reach Alertmanager, and Alertmanager's last notifications
 * reach the relay.
 */
export async function stackDown(dir: string, graceMs = 20_000): Promise<{ name: string; pid: number; was: 'stopped' | 'not running' }[]> {
  const state = readState(dir);
  if (!state) return [];
  // HA: nginx after the shipper (which flushes through it), the store after the members (each
  // flushes its chunks there on shutdown).
  const order: readonly ComponentState['name'][] = ['promtail', 'otelcol', 'nginx', 'loki', 'store', 'alertmanager', 'relay'];
  const comps = [...state.components].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const out: { name: string; pid: number; was: 'stopped' | 'not running' }[] = [];
  for (const c of comps) {
    if (componentAlive(c)) {
      await stopPid(c.pid, graceMs);
      out.push({ name: c.name, pid: c.pid, was: 'stopped' });
    } else {
      out.push({ name: c.name, pid: c.pid, was: 'not running' });
    }
  }
  rmSync(statePath(dir), { force: true });
  return out;
}

export interface ComponentStatus {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly running: boolean;
  readonly ready: boolean;
  readonly detail: string;
}

export async function stackStatus(dir: string): Promise<{ state?: StackState; components: ComponentStatus[]; ring?: RingMember[] | string }> {
  const state = readState(dir);
  if (!state) return { components: [] };
  let ring: RingMember[] | string | undefined;
  if (state.ha) ring = await ringStatus(state.ha.entry).catch((e: unknown) => (e as Error).message);
  const components = await Promise.all(state.components.map(async (c): Promise<ComponentStatus> => {
    const running = componentAlive(c);
    const name = c.instance ?? c.name;
    if (!running) return { name, pid: c.pid, url: c.url, running, ready: false, detail: 'not running' };
    const r = await probeReady(c.url + c.readyPath, undefined, c.name === 'loki' && state.lokiTls ? loadTls(state.lokiTls).options : undefined);
    // Promtail is up and waiting for its first file: that is ready for our purposes.
    const ready = r.ready || (c.name === 'promtail' && PROMTAIL_NO_FILES.test(r.detail));
    return { name, pid: c.pid, url: c.url, running, ready, detail: r.detail };
  }));
  return { state, components, ...(ring ? { ring } : {}) };
}
