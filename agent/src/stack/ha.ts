/**
 * The HA Loki cluster of loki/loki-ha.yaml on one machine: versitygw (the S3 store, a folder),
 * three Loki members `-target=all` (replication factor 3, memberlist on loopback), nginx in
 * front (loki/nginx-ha.conf). Used by `imom stack up --ha` (detached processes) and by
 * test/harness/loki-ha.ts (attached ones), so both run exactly the same command lines.
 *
 *   <dir>/store/data/<bucket>/...    the bucket folders: every chunk, index and rule group is a file here
 *   <dir>/loki-<n>/                  member n: WAL, TSDB head and cache, compactor scratch, ring tokens
 *   <dir>/nginx/nginx.conf           loki/nginx-ha.conf with the ports filled in
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { dataFolder, expandEnvSpec } from './components.js';
import { defaults, requireBinary } from './paths.js';
import type { ProcSpec } from './process.js';

export const HA_MEMBERS = 3;
export const CHUNKS_BUCKET = 'imom-loki-chunks';
export const RULER_BUCKET = 'imom-loki-ruler';

export interface StoreCredentials {
  readonly accessKey: string;
  readonly secretKey: string;
}

export interface HaPorts {
  readonly store: number;
  /** nginx's HTTP and gRPC entry points. */
  readonly http: number;
  readonly grpc: number;
  readonly members: readonly { readonly http: number; readonly grpc: number; readonly memberlist: number }[];
}

export interface HaPlanOptions {
  readonly dir: string;
  readonly ports: HaPorts;
  readonly credentials: StoreCredentials;
  readonly alertmanagerUrl?: string;
  /** Extra LOKI_* variables of loki/loki-ha.yaml for every member. */
  readonly lokiEnv?: Readonly<Record<string, string>>;
  readonly lokiConfig?: string;
  /** Where each process writes its output; default its own folder. */
  readonly logDir?: string;
}

export interface HaMember {
  readonly id: string;
  readonly dataDir: string;
  readonly url: string;
  readonly ports: { readonly http: number; readonly grpc: number; readonly memberlist: number };
  readonly spec: ProcSpec;
}

export interface HaPlan {
  readonly store: { readonly spec: ProcSpec; readonly url: string; readonly dataDir: string; readonly bucketDir: (bucket: string) => string };
  readonly members: readonly HaMember[];
  readonly nginx: { readonly spec: ProcSpec; readonly url: string; readonly grpcPort: number };
}

/** ${NAME:-default} and ${NAME}, as Loki's -config.expand-env and envsubst read them; unknown names take their default. */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => vars[name] ?? def ?? '');
}

/**
 * The store: versitygw's posix backend over <dir>/store/data, one folder per bucket (made here:
 * a folder at the top is a bucket to versitygw). The keys go in its environment, never on its
 * command line (which ps and stack.json show).
 */
function storeSpec(dir: string, port: number, c: StoreCredentials, logFile: string): HaPlan['store'] {
  const dataDir = dataFolder(join(dir, 'store'));
  const root = join(dataDir, 'data');
  for (const b of [CHUNKS_BUCKET, RULER_BUCKET]) mkdirSync(join(root, b), { recursive: true });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    bucketDir: (b) => join(root, b),
    spec: {
      name: 'store',
      cmd: requireBinary('versitygw'),
      args: ['--port', `127.0.0.1:${port}`, '--health', '/health', '--quiet', 'posix', root],
      env: { ROOT_ACCESS_KEY_ID: c.accessKey, ROOT_SECRET_ACCESS_KEY: c.secretKey },
      cwd: dataDir,
      logFile,
    },
  };
}

export function haPlan(o: HaPlanOptions): HaPlan {
  const dir = resolve(o.dir);
  const log = (name: string, own: string) => join(o.logDir ?? own, `${name}.log`);
  const store = storeSpec(dir, o.ports.store, o.credentials, log('store', join(dir, 'store')));
  const join_ = o.ports.members.map((m) => `127.0.0.1:${m.memberlist}`).join(', ');
  const main = o.ports.members[0]!;
  const members = o.ports.members.map((p, i): HaMember => {
    const id = `loki-${i + 1}`;
    const dataDir = dataFolder(join(dir, id));
    const env: Record<string, string> = {
      LOKI_INSTANCE_ID: id,
      LOKI_DATA_DIR: dataDir,
      LOKI_HTTP_ADDRESS: '127.0.0.1',
      LOKI_HTTP_PORT: String(p.http),
      LOKI_GRPC_ADDRESS: '127.0.0.1',
      LOKI_GRPC_PORT: String(p.grpc),
      LOKI_MEMBER_ADDRESS: '127.0.0.1',
      LOKI_MEMBERLIST_PORT: String(p.memberlist),
      LOKI_MEMBERLIST_JOIN: join_,
      // The first member plans compaction and retention; the others take its jobs.
      LOKI_COMPACTOR_MODE: i === 0 ? 'main' : 'worker',
      LOKI_COMPACTOR_GRPC_ADDRESS: `127.0.0.1:${main.grpc}`,
      LOKI_S3_ENDPOINT: store.url,
      LOKI_S3_BUCKET: CHUNKS_BUCKET,
      LOKI_S3_RULER_BUCKET: RULER_BUCKET,
      LOKI_S3_ACCESS_KEY_ID: o.credentials.accessKey,
      LOKI_S3_SECRET_ACCESS_KEY: o.credentials.secretKey,
      LOKI_ALERTMANAGER_URL: o.alertmanagerUrl ?? 'http://127.0.0.1:9093',
      ...o.lokiEnv,
    };
    const spec = { ...expandEnvSpec('loki', dataDir, defaults.lokiHaConfig(), env, { configFile: o.lokiConfig, extraArgs: ['-target=all'], logFile: log(id, dataDir) }), name: id };
    return { id, dataDir, url: `http://127.0.0.1:${p.http}`, ports: p, spec };
  });
  const nginxDir = dataFolder(join(dir, 'nginx'));
  mkdirSync(join(nginxDir, 'tmp'), { recursive: true });
  const vars: Record<string, string> = { NGINX_HTTP_PORT: String(o.ports.http), NGINX_GRPC_PORT: String(o.ports.grpc), LOKI_COMPACTOR_HTTP: `127.0.0.1:${main.http}` };
  o.ports.members.forEach((m, i) => {
    vars[`LOKI_${i + 1}_HTTP`] = `127.0.0.1:${m.http}`;
    vars[`LOKI_${i + 1}_GRPC`] = `127.0.0.1:${m.grpc}`;
  });
  const conf = join(nginxDir, 'nginx.conf');
  writeFileSync(conf, `# written by imom from ${defaults.nginxHaConfig()}\n${expandVars(readFileSync(defaults.nginxHaConfig(), 'utf8'), vars)}`);
  return {
    store,
    members,
    nginx: {
      url: `http://127.0.0.1:${o.ports.http}`,
      grpcPort: o.ports.grpc,
      spec: {
        name: 'nginx',
        cmd: requireBinary('nginx'),
        // -e stderr: Debian's nginx opens /var/log/nginx/error.log before it reads the config otherwise.
        // Started by root, nginx runs its workers as nobody, who cannot enter a private (0700)
        // stack folder to buffer a push body there: they run as root too (a non-root nginx has one user).
        args: ['-p', nginxDir, '-c', conf, '-e', 'stderr', '-g', process.getuid?.() === 0 ? 'daemon off; user root;' : 'daemon off;'],
        env: {},
        cwd: nginxDir,
        logFile: log('nginx', nginxDir),
      },
    },
  };
}

/**
 * Loads rule files into the ruler's bucket through the ruler API of `url` (any member, or
 * nginx): each group of <file>.yaml is POSTed to /loki/api/v1/rules/<file>, the namespace.
 * `rulesDir` holds *.yaml, or <tenant>/*.yaml (ruler/rules/fake). Returns the groups loaded.
 */
export async function loadRules(url: string, rulesDir: string, tenant = 'fake'): Promise<{ namespace: string; group: string }[]> {
  let dir = resolve(rulesDir);
  if (!readdirSync(dir).some((f) => /\.ya?ml$/.test(f))) dir = join(dir, tenant);
  const out: { namespace: string; group: string }[] = [];
  for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    const file = join(dir, f);
    const namespace = basename(f).replace(/\.ya?ml$/, '');
    const doc = rulesFileSchema.safeParse(parse(readFileSync(file, 'utf8')));
    if (!doc.success) throw new Error(`${file}: not a rules file (groups: [...]): ${doc.error.issues[0]?.message ?? ''}`);
    for (const g of doc.data.groups) {
      const res = await request(`${url.replace(/\/$/, '')}/loki/api/v1/rules/${encodeURIComponent(namespace)}`, {
        method: 'POST', headers: { 'content-type': 'application/yaml', ...(tenant !== 'fake' ? { 'X-Scope-OrgID': tenant } : {}) }, body: stringify(g),
        headersTimeout: 30_000, bodyTimeout: 30_000,
      });
      const body = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`ruler API: POST ${namespace}/${g.name} answered ${res.statusCode}: ${body.trim()}`);
      out.push({ namespace, group: g.name });
    }
  }
  return out;
}

const rulesFileSchema = z.object({ groups: z.array(z.looseObject({ name: z.string() })) });

const ringSchema = z.object({ shards: z.array(z.looseObject({ id: z.string(), state: z.string(), address: z.string(), timestamp: z.string() })) });

export interface RingMember {
  readonly id: string;
  readonly state: string;
  readonly address: string;
  /** Its last heartbeat is older than the ring's 1 min heartbeat timeout. */
  readonly unhealthy: boolean;
}

/** The ingester ring as `url` (a member, or nginx) sees it: /ring as JSON. */
export async function ringStatus(url: string, path = '/ring'): Promise<RingMember[]> {
  const res = await request(`${url.replace(/\/$/, '')}${path}`, { headers: { accept: 'application/json' }, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const now = Date.now();
  return ringSchema.parse(JSON.parse(text)).shards
    .map((s) => ({ id: s.id, state: s.state, address: s.address, unhealthy: now - Date.parse(s.timestamp) > 60_000 }))
    .sort((a, b) => a.id.localeCompare(b.id));
}
