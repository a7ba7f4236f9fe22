/**
 * The HA Loki cluster for tests (loki/loki-ha.yaml), started from agent/src/stack/ha.ts, the
 * plan `imom stack up --ha` runs: versitygw over a folder, three members, nginx in front, every
 * port kernel-chosen on loopback, everything under one fresh folder in .tmp/.
 *
 *   const ha = await startLokiHa(opts?)      // waits for the store, every member's /ready, the ring (3 ACTIVE) and nginx
 *     ha.url, ha.pushUrl, ha.grpcPort    nginx: the one entry point (HTTP round robin; gRPC for `transport: grpc`)
 *     ha.members[i]                      { id, url, port, grpcPort, dataDir, logFile, stop(), kill(), restart(), start(), alive() }
 *     ha.store                           { url, stop(), kill(), restart(), bucketDir(bucket) }: the bucket is a plain folder
 *     ha.chunksDir                       the chunks bucket's folder (chunks under fake/, index under index/)
 *     await ha.flush()                   POST /flush on every running member (chunks to the store)
 *     await ha.ring()                    the ingester ring as the first running member sees it
 *     await ha.close()                   stops all, removes the folder (kept with IMOM_KEEP_TMP)
 *   opts: { env?: LOKI_* for every member, alertmanagerUrl?, dir? }
 *     The harness sets LOKI_CACHE_RESULTS=false and LOKI_LOG_LEVEL=warn unless given.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { request } from 'undici';
import { CHUNKS_BUCKET, haPlan, ringStatus, type RingMember } from '../../agent/src/stack/ha.js';
import { waitReady } from '../../agent/src/stack/components.js';
import type { Proc } from '../../agent/src/stack/process.js';
import { managed, type Managed } from './loki.js';
import { freePorts, tempDir, waitFor } from './proc.js';

export interface MemberHandle extends Managed {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly dataDir: string;
  start(): Promise<void>;
}

export interface LokiHaHandle {
  readonly url: string;
  readonly pushUrl: string;
  readonly grpcPort: number;
  readonly dir: string;
  readonly members: readonly MemberHandle[];
  readonly store: Managed & { readonly url: string; start(): Promise<void>; bucketDir(bucket: string): string };
  readonly nginx: Managed;
  readonly chunksDir: string;
  flush(): Promise<void>;
  ring(): Promise<RingMember[]>;
  /** Resolves once the ring (as each running member sees it) has `n` ACTIVE, healthy members. */
  waitActive(n?: number, timeoutMs?: number): Promise<RingMember[]>;
  close(): Promise<void>;
}

export interface StartLokiHaOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly alertmanagerUrl?: string;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
}

export const TEST_STORE_CREDENTIALS = { accessKey: 'imom-test', secretKey: 'imom-test-secret' } as const;

export async function startLokiHa(opts: StartLokiHaOptions = {}): Promise<LokiHaHandle> {
  const dir = opts.dir ?? tempDir('loki-ha');
  const p = await freePorts(3 + 3 * 3);
  const ports = {
    store: p[0]!, http: p[1]!, grpc: p[2]!,
    members: [0, 1, 2].map((i) => ({ http: p[3 + i * 3]!, grpc: p[4 + i * 3]!, memberlist: p[5 + i * 3]! })),
  };
  const plan = haPlan({
    dir, ports, credentials: TEST_STORE_CREDENTIALS, alertmanagerUrl: opts.alertmanagerUrl,
    lokiEnv: { LOKI_CACHE_RESULTS: 'false', LOKI_LOG_LEVEL: 'warn', ...opts.env },
  });
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const store = managed(plan.store.spec, (pr: Proc) => waitReady(pr, `${plan.store.url}/health`, timeout), dir, false);
  const members = plan.members.map((m) => {
    const h = managed(m.spec, (pr: Proc) => waitReady(pr, `${m.url}/ready`, timeout), m.dataDir, false);
    return { ...h, id: m.id, url: m.url, port: m.ports.http, grpcPort: m.ports.grpc, dataDir: m.dataDir } satisfies MemberHandle;
  });
  const nginx = managed(plan.nginx.spec, (pr: Proc) => waitReady(pr, `${plan.nginx.url}/nginx-health`, timeout), dir, false);
  const ha: LokiHaHandle = {
    url: plan.nginx.url, pushUrl: `${plan.nginx.url}/loki/api/v1/push`, grpcPort: plan.nginx.grpcPort, dir,
    members, nginx, chunksDir: plan.store.bucketDir(CHUNKS_BUCKET),
    store: { ...store, url: plan.store.url, bucketDir: plan.store.bucketDir },
    async flush() {
      await Promise.all(members.map(async (m) => {
        try {
          const r = await request(`${m.url}/flush`, { method: 'POST', headersTimeout: 60_000 });
          await r.body.text();
        } catch { /* a member that is down has nothing to flush */ }
      }));
    },
    async ring() {
      for (const m of members) {
        try { return await ringStatus(m.url); } catch { /* try the next */ }
      }
      throw new Error('no member answers /ring');
    },
    async waitActive(n = members.length, timeoutMs = 120_000) {
      return waitFor(async () => {
        const r = await ha.ring();
        return r.filter((x) => x.state === 'ACTIVE' && !x.unhealthy).length >= n ? r : undefined;
      }, timeoutMs, `${n} ACTIVE members in the ring`, 500);
    },
    async close() {
      await nginx.close();
      await Promise.all(members.map((m) => m.close()));
      await store.close();
      if (opts.dir === undefined && !process.env.IMOM_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await store.start();
    await Promise.all(members.map((m) => m.start()));
    await ha.waitActive();
    await nginx.start();
  } catch (e) {
    await ha.close();
    throw e;
  }
  return ha;
}

/** Every file under `dir` (the store's objects), as paths relative to it. */
export function objectsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
