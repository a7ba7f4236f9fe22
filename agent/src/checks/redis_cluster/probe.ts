/**
 * Reads the cluster: CLUSTER NODES, CLUSTER INFO and INFO memory from every node reachable from
 * the seeds, over one reusable connection per node, all within a share of the target's timeout.
 */
import type { RunContext } from '../../core/check.js';
import { abortable, humanMs } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import { NodeConnection } from '../../common/redis/connection.js';
import type { RedisTls } from '../../common/redis/tls.js';
import { addrKey, type RedisClusterInstance } from './schema.js';
import { hostOf } from './parse.js';
import { MAX_NODES, snapshotOf, type Probe, type Snapshot } from './view.js';

/**
 * Share of the target's timeout that reading the nodes may take: a dead or hung node is then
 * reported by name (unreachable, timed out) before the scheduler's own timeout fires.
 */
const IO_SHARE = 0.8;
/** Rounds of following CLUSTER NODES to nodes not dialled yet: seeds, their peers, and so on. */
const MAX_ROUNDS = 5;

/**
 * CLUSTER NODES, CLUSTER INFO and INFO memory from one node, within `ms`. The run's abort is
 * watched once for all nodes, by `probe()`: one listener per node would put more than ten on
 * one AbortSignal in a cluster of ten nodes or more (MaxListenersExceededWarning).
 */
async function readNode(conn: NodeConnection, ms: number, budget: number): Promise<{ nodes: string; info: string; memory: string }> {
  const drop = () => conn.drop();
  const work = (async () => {
    const c = await conn.open(ms);
    // One command at a time on one connection: a reply nobody asked for is then told apart from the next one.
    const nodes = await c.text(['CLUSTER', 'NODES']);
    const info = await c.text(['CLUSTER', 'INFO']);
    const memory = await c.text(['INFO', 'memory']);
    return { nodes, info, memory };
  })();
  try {
    return await withTimeout(work, ms, budget, drop);
  } catch (e) {
    conn.drop();
    throw e;
  }
}

/** Rejects after `ms`, saying the run's whole `budget` ran out (what `ms` was left of it varies by a millisecond or so). */
function withTimeout<T>(p: Promise<T>, ms: number, budget: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => { onTimeout(); reject(new Error(`timed out after ${humanMs(budget)}`)); }, ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/** The nodes' connections, kept across runs as the agent keeps the target. */
export class ClusterReader {
  private readonly pool = new Map<string, NodeConnection>();

  constructor(private readonly inst: RedisClusterInstance, private readonly secrets: readonly (string | undefined)[], private readonly tls?: RedisTls) {}

  /** Reads every node reachable from the seeds; returns their answers and why the others failed. */
  async probe(ctx: RunContext): Promise<Probe> {
    const budget = Math.max(100, Math.floor(ctx.timeoutMs * IO_SHARE));
    const deadline = Date.now() + budget;
    const snaps: Snapshot[] = [];
    const failed = new Map<string, string>();
    const tried: string[] = [];
    const seen = new Set<string>();
    const readOne = async (host: string, port: number, via: string) => {
      let conn = this.pool.get(via);
      if (!conn) {
        conn = new NodeConnection({ host, port, username: this.inst.username, password: this.inst.password, tls: this.tls?.forNode(via) }, this.inst.max_reply_bytes);
        this.pool.set(via, conn);
      }
      const left = deadline - Date.now();
      try {
        if (left <= 0) throw new Error(`timed out after ${humanMs(budget)}`);
        snaps.push(snapshotOf(via, await readNode(conn, left, budget)));
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        failed.set(via, reasonOf(e, this.secrets));
      }
    };
    let todo = this.inst.nodes.map((hp) => ({ host: hp.host, port: hp.port, via: addrKey(hp) }));
    for (let round = 0; todo.length > 0 && round < MAX_ROUNDS; round++) {
      const batch: typeof todo = [];
      for (const t of todo) if (!seen.has(t.via)) { seen.add(t.via); batch.push(t); }
      tried.push(...batch.map((t) => t.via));
      await abortable(Promise.all(batch.map((t) => readOne(t.host, t.port, t.via))), ctx.signal, () => this.dropAll());
      for (const s of snaps) seen.add(s.addr);
      todo = [];
      for (const s of snaps) {
        // An oversized view is refused by the caller: its peers are not dialled.
        if (s.nodes.length > MAX_NODES) continue;
        for (const l of s.nodes) {
          if (l.addr && !l.flags.has('noaddr') && !l.flags.has('handshake') && !seen.has(l.addr)) {
            todo.push({ host: hostOf(l.addr), port: l.port, via: l.addr });
          }
        }
      }
    }
    // Nodes that left the cluster: their connections go.
    for (const [via, c] of this.pool) if (!seen.has(via)) { c.drop(); this.pool.delete(via); }
    return { snaps, failed, tried };
  }

  dropAll(): void {
    for (const c of this.pool.values()) c.drop();
  }

  close(): void {
    this.dropAll();
    this.pool.clear();
  }
}
