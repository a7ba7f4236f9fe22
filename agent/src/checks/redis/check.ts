import { z } from 'zod';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable, humanMs } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import type { HostPort } from '../../config/types.js';
import type { RedisInstance, SentinelConfig } from './schema.js';
import { NodeConnection } from '../../common/redis/connection.js';
import { parseInfo } from '../../common/redis/info.js';
import { RedisTls } from '../../common/redis/tls.js';
import { Memo } from '../../common/memo.js';
import { memoOf, nodeLines, sentinelLines, type NodeMemo, type NodeSettings, type Role, type SentinelAnswer } from './lines.js';

const CHECK = 'redis';
/**
 * Sentinel mode reads every Sentinel and node in one run: each read may take this share of the
 * run's timeout, so a hung one is named (timeout after …) before the scheduler's timeout ends
 * the run with one line for all (as redis_cluster's probe does).
 */
const IO_SHARE = 0.8;

const nodeMemo = z.object({ run_id: z.string(), rejected_connections: z.number() });
const masterMemo = z.object({ master: z.string() });

/** INFO (the default sections: replication, memory, persistence, stats, clients, server) over the node's one reusable connection. */
async function readInfo(conn: NodeConnection, ctx: RunContext, section?: string): Promise<Map<string, string>> {
  const onAbort = () => conn.drop();
  try {
    const c = await abortable(conn.open(ctx.timeoutMs), ctx.signal, onAbort);
    return parseInfo(await abortable(c.text(section ? ['INFO', section] : ['INFO']), ctx.signal, onAbort));
  } catch (e) {
    conn.drop();
    throw e;
  }
}

/** `readInfo` that gives up after `ms`, saying so in words. */
async function readInfoWithin(conn: NodeConnection, ctx: RunContext, ms: number, section?: string): Promise<Map<string, string>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { conn.drop(); reject(new Error(`timeout after ${humanMs(ms)}`)); }, ms);
  });
  try {
    return await Promise.race([readInfo(conn, { signal: ctx.signal, timeoutMs: ms }, section), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function connectionOf(hp: HostPort, auth: { username?: string | undefined; password?: string | undefined }, maxReplyBytes: number, tls: RedisTls | undefined): NodeConnection {
  return new NodeConnection({ host: hp.host, port: hp.port, username: auth.username, password: auth.password, tls: tls?.forNode(hp.text) }, maxReplyBytes);
}

/** One node: its kept connection and its rejected_connections memo; builds its lines from its INFO. */
class NodeReader {
  readonly conn: NodeConnection;
  private readonly memo: Memo<NodeMemo>;
  constructor(readonly hp: HostPort, inst: RedisInstance, stateDir: string, tls: RedisTls | undefined) {
    this.conn = connectionOf(hp, inst, inst.max_reply_bytes, tls);
    this.memo = new Memo(stateDir, `node-${hp.host}-${hp.port}`, nodeMemo);
  }

  async lines(r: ReturnType<typeof resultFactory>, want: Role | undefined, info: Map<string, string>, settings: NodeSettings): Promise<CheckResult[]> {
    const before = await this.memo.get();
    const lines = nodeLines(r, this.hp.text, want, info, settings, before);
    const now = memoOf(info);
    if (now) await this.memo.set(now);
    return lines;
  }
}

export function redisTargets(inst: RedisInstance, ctx: InstanceContext): Target[] {
  if (inst.sentinel) return [sentinelTarget(inst, inst.sentinel, ctx)];
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password];
  const settings: NodeSettings = { maxMemoryRatio: inst.max_memory_ratio, minConnectedSlaves: inst.min_connected_slaves };
  // Read here, when the targets are built (at start and on reload), never per connection.
  const tls = RedisTls.of(inst.tls);
  const expected: [HostPort, Role][] = [
    ...inst.masters.map((hp): [HostPort, Role] => [hp, 'master']),
    ...inst.slaves.map((hp): [HostPort, Role] => [hp, 'slave']),
  ];
  return expected.map(([hp, want], i): Target => {
    const reader = new NodeReader(hp, inst, ctx.stateDir, tls);
    const node = hp.text;
    // Our own certificate's lines once per instance: on its first node's target.
    const notices = () => (tls ? tls.notices(i === 0, [node]).map((n) => r.message(node, 'ERROR', n)) : []);
    return {
      id: `${CHECK}/${inst.name}/${node}`,
      target: node,
      async run(runCtx): Promise<CheckResult[]> {
        let info: Map<string, string>;
        try {
          info = await readInfo(reader.conn, runCtx);
        } catch (e) {
          if (runCtx.signal.aborted) throw e;
          return [r.message(node, 'CRITICAL', `Node ${node} is unreachable (${reasonOf(e, secrets)})`), ...notices()];
        }
        return [...await reader.lines(r, want, info, settings), ...notices()];
      },
      failure(reason, time) {
        return [r.message(node, 'CRITICAL', `Node ${node} is unreachable (${reasonOf(reason, secrets)})`, time)];
      },
      async close() { reader.conn.drop(); },
    };
  });
}

/**
 * Sentinel mode, one target for the instance: every Sentinel's INFO sentinel, then every
 * node's INFO, each node expected to be master when it is the address the Sentinels agree on
 * and slave otherwise (no expectation while they disagree or none answers).
 */
function sentinelTarget(inst: RedisInstance, sentinel: SentinelConfig, ctx: InstanceContext): Target {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password, sentinel.password];
  const settings: NodeSettings = { maxMemoryRatio: inst.max_memory_ratio, minConnectedSlaves: inst.min_connected_slaves };
  const name = sentinel.master_name;
  const tls = RedisTls.of(inst.tls);
  const sentinelTls = sentinel.tls ? RedisTls.of(sentinel.tls) : tls;
  const sentinels = sentinel.sentinels.map((hp) => ({ hp, conn: connectionOf(hp, sentinel, inst.max_reply_bytes, sentinelTls) }));
  const readers = inst.nodes.map((hp) => new NodeReader(hp, inst, ctx.stateDir, tls));
  const lastMaster = new Memo(ctx.stateDir, `sentinel-${name}`, masterMemo);
  const key = (hp: HostPort) => `${hp.host}:${hp.port}`;
  return {
    id: `${CHECK}/${inst.name}/sentinel/${name}`,
    target: name,
    async run(runCtx): Promise<CheckResult[]> {
      const ms = Math.max(100, Math.floor(runCtx.timeoutMs * IO_SHARE));
      const answers = await Promise.all(sentinels.map(async ({ hp, conn }): Promise<SentinelAnswer> => {
        try {
          return { addr: hp.text, info: await readInfoWithin(conn, runCtx, ms, 'sentinel') };
        } catch (e) {
          if (runCtx.signal.aborted) throw e;
          return { addr: hp.text, error: reasonOf(e, secrets) };
        }
      }));
      const verdict = sentinelLines(r, name, answers, (await lastMaster.get())?.master);
      if (verdict.master !== undefined) await lastMaster.set({ master: verdict.master });
      const nodes = await Promise.all(readers.map(async (reader): Promise<CheckResult[]> => {
        const node = reader.hp.text;
        let info: Map<string, string>;
        try {
          info = await readInfoWithin(reader.conn, runCtx, ms);
        } catch (e) {
          if (runCtx.signal.aborted) throw e;
          return [r.message(node, 'CRITICAL', `Node ${node} is unreachable (${reasonOf(e, secrets)})`)];
        }
        const want: Role | undefined = verdict.master === undefined ? undefined : verdict.master === key(reader.hp) ? 'master' : 'slave';
        return reader.lines(r, want, info, settings);
      }));
      const notices = [
        ...(tls?.notices(true, inst.nodes.map((hp) => hp.text)) ?? []),
        ...(sentinelTls ? sentinelTls.notices(sentinelTls !== tls, sentinel.sentinels.map((hp) => hp.text)) : []),
      ].map((n) => r.message(name, 'ERROR', n));
      return [...verdict.lines, ...nodes.flat(), ...notices];
    },
    failure(reason, time) {
      return [r.message(name, 'CRITICAL', `Master ${name} is unreachable (${reasonOf(reason, secrets)})`, time)];
    },
    async close() {
      for (const s of sentinels) s.conn.drop();
      for (const n of readers) n.conn.drop();
    },
  };
}
