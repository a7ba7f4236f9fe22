import { Redis } from 'ioredis';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable, humanMs } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult, Field, Status } from '../../core/result.js';
import { addrKey, type RedisClusterInstance } from './schema.js';
import { parseInfo } from '../redis/check.js';
import { compareAddr, hostOf, parseClusterNodes, type NodeLine } from './parse.js';
import { layoutPath, legacyLayoutPath, moveLegacyLayout, readLayout, writeLayout, type LayoutFile, type Role } from './layout.js';

const CHECK = 'redis_cluster';

/**
 * Share of the target's timeout that reading the nodes may take: a dead or hung node is then
 * reported by name (unreachable, timed out) before the scheduler's own timeout fires.
 */
const IO_SHARE = 0.8;

type Results = ReturnType<typeof resultFactory>;

/** What one node answered. */
interface Snapshot {
  /** The address that was dialled. */
  readonly via: string;
  /** The node's address as the cluster knows it (its `myself` line), else `via`. */
  readonly addr: string;
  readonly self: NodeLine | undefined;
  readonly nodes: readonly NodeLine[];
  readonly info: Map<string, string>;
  readonly memory: Map<string, string>;
}

/** One reusable connection per node: no auto-reconnect and no offline queue, so a dead node fails fast. */
class NodeConnection {
  private client: Redis | undefined;
  constructor(private readonly host: string, private readonly port: number, private readonly inst: RedisClusterInstance) {}

  /** CLUSTER NODES, CLUSTER INFO and INFO memory, within `ms`, abandoned when the run aborts. */
  async read(signal: AbortSignal, ms: number): Promise<{ nodes: string; info: string; memory: string }> {
    const drop = () => this.drop();
    let lastError: Error | undefined;
    const work = (async () => {
      if (!this.client) {
        const c = new Redis({
          host: this.host, port: this.port, username: this.inst.username, password: this.inst.password,
          // RESP2 and no CLIENT SETINFO: the only handshake is AUTH, and old (Redis 5 based) nodes answer the same.
          protocol: 2, disableClientInfo: true,
          lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0,
          retryStrategy: () => null, connectTimeout: ms, enableReadyCheck: false,
        });
        // The cause (ECONNREFUSED, WRONGPASS) arrives as an event; the promise only says "Connection is closed."
        c.on('error', (e: Error) => { lastError = e; });
        c.on('end', () => { if (this.client === c) this.client = undefined; });
        this.client = c;
        await c.connect();
      }
      const c = this.client;
      const [nodes, info, memory] = await Promise.all([c.call('CLUSTER', 'NODES'), c.call('CLUSTER', 'INFO'), c.info('memory')]);
      return { nodes: String(nodes), info: String(info), memory: String(memory) };
    })();
    try {
      return await abortable(withTimeout(work, ms, drop), signal, drop);
    } catch (e) {
      this.drop();
      if (lastError && /Connection is closed/i.test((e as Error).message)) throw lastError;
      throw e;
    }
  }

  drop(): void {
    const c = this.client;
    this.client = undefined;
    c?.disconnect(false);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => { onTimeout(); reject(new Error(`timed out after ${humanMs(ms)}`)); }, ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

const pct = (x: number) => (x * 100).toFixed(1);
const short = (x: number) => String(Number(x.toFixed(2)));

/**
 * The memory line of one node (runbook: `cli-all info memory | grep isOOM:true`).
 * CRITICAL when the node reports isOOM:true (flashbase builds) or, on stock Redis, when used_memory
 * has reached maxmemory under `noeviction` (writes are refused with OOM); ERROR when used_memory
 * is at or over `max_memory_ratio` of maxmemory; otherwise an OK line with the figures.
 */
export function memoryResult(r: Results, cluster: string, addr: string, mem: Map<string, string>, maxRatio: number): CheckResult {
  const used = Number(mem.get('used_memory') ?? NaN);
  const max = Number(mem.get('maxmemory') ?? 0);
  const policy = mem.get('maxmemory_policy') ?? '';
  const isOOM = [...mem].some(([k, v]) => k.toLowerCase() === 'isoom' && v.toLowerCase() === 'true');
  if (isOOM) return r.message(addr, 'CRITICAL', `Node ${addr} is OOM (isOOM:true)`);
  if (max > 0 && used >= max && policy === 'noeviction') {
    return r.message(addr, 'CRITICAL', `Node ${addr} is OOM (used_memory=${used}, maxmemory=${max}, maxmemory_policy=noeviction)`);
  }
  if (max > 0 && used / max >= maxRatio) {
    return r.message(addr, 'ERROR', `Node ${addr} used_memory is ${pct(used / max)}% of maxmemory (used_memory=${used}, maxmemory=${max}, max_memory_ratio=${maxRatio})`);
  }
  return r.fields(addr, 'OK', [
    ['Cluster', cluster], ['Node', addr], ['Used_Memory', Number.isFinite(used) ? used : null],
    ['Maxmemory', max], ['Used_Ratio', max > 0 ? short(used / max) : null],
  ]);
}

interface Observed { fail: boolean; pfail: boolean; disconnected: boolean; noaddr: boolean; flags: Set<string> }

export function redisClusterTargets(inst: RedisClusterInstance, instCtx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password];
  const name = inst.name;
  const target = inst.nodes.map((n) => n.text).join(',');
  const pool = new Map<string, NodeConnection>();
  const serverOf = new Map<string, string>();
  const serverOrder: string[] = [];
  for (const [server, list] of Object.entries(inst.servers ?? {})) {
    serverOrder.push(server);
    for (const hp of list) serverOf.set(addrKey(hp), server);
  }
  const configured = inst.masters ? new Set(inst.masters.map(addrKey)) : undefined;

  let legacy = legacyLayoutPath(instCtx.stateDir, name);
  const dropAll = () => { for (const c of pool.values()) c.drop(); };

  /** Reads every node reachable from the seeds; returns their answers and why the others failed. */
  async function probe(ctx: RunContext): Promise<{ snaps: Snapshot[]; failed: Map<string, string>; tried: string[] }> {
    const budget = Math.max(100, Math.floor(ctx.timeoutMs * IO_SHARE));
    const deadline = Date.now() + budget;
    const snaps: Snapshot[] = [];
    const failed = new Map<string, string>();
    const tried: string[] = [];
    const seen = new Set<string>();
    const readOne = async (host: string, port: number, via: string) => {
      let conn = pool.get(via);
      if (!conn) pool.set(via, (conn = new NodeConnection(host, port, inst)));
      const left = deadline - Date.now();
      try {
        if (left <= 0) throw new Error(`timed out after ${humanMs(budget)}`);
        const raw = await conn.read(ctx.signal, left);
        const lines = parseClusterNodes(raw.nodes);
        const me = lines.find((l) => l.flags.has('myself'));
        // A node that was never met does not know its own ip: it is the address we dialled.
        const addr = me?.addr || via;
        const self = me && !me.addr ? { ...me, addr } : me;
        const nodes = lines.map((l) => (l === me ? self! : l));
        snaps.push({ via, addr, self, nodes, info: parseInfo(raw.info), memory: parseInfo(raw.memory) });
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        failed.set(via, reasonOf(e, secrets));
      }
    };
    let todo = inst.nodes.map((hp) => ({ host: hp.host, port: hp.port, via: addrKey(hp) }));
    for (let round = 0; todo.length > 0 && round < 5; round++) {
      const batch: typeof todo = [];
      for (const t of todo) if (!seen.has(t.via)) { seen.add(t.via); batch.push(t); }
      tried.push(...batch.map((t) => t.via));
      await abortable(Promise.all(batch.map((t) => readOne(t.host, t.port, t.via))), ctx.signal, dropAll);
      for (const s of snaps) seen.add(s.addr);
      todo = [];
      for (const s of snaps) {
        for (const l of s.nodes) {
          if (l.addr && !l.flags.has('noaddr') && !l.flags.has('handshake') && !seen.has(l.addr)) {
            todo.push({ host: hostOf(l.addr), port: l.port, via: l.addr });
          }
        }
      }
    }
    // Nodes that left the cluster: their connections go.
    for (const [via, c] of pool) if (!seen.has(via)) { c.drop(); pool.delete(via); }
    return { snaps, failed, tried };
  }

  async function intendedLayout(ctx: RunContext, reference: Snapshot, alive: NodeLine[], out: CheckResult[]): Promise<Map<string, Role> | undefined> {
    if (configured) {
      return new Map(alive.map((l) => [l.addr, configured.has(l.addr) ? 'master' : 'slave'] as const));
    }
    const path = layoutPath(instCtx.stateDir);
    let file: LayoutFile | undefined;
    try {
      if (legacy !== undefined) {
        await moveLegacyLayout(legacy, path);
        legacy = undefined;
      }
      file = await readLayout(path);
    } catch (e) {
      out.push(r.message(target, 'ERROR', `Cluster ${name} layout file ${path} is unreadable (${reasonOf(e, secrets)}); failovered/failbacked are not checked`));
      return undefined;
    }
    const nodes: Record<string, Role> = { ...(file?.nodes ?? {}) };
    // Only a healthy cluster is a baseline; nodes seen later are added with the role they first had.
    let changed = false;
    if (reference.info.get('cluster_state') === 'ok') {
      for (const l of alive) {
        if (l.addr in nodes || l.flags.has('fail?')) continue;
        if (l.flags.has('master') && l.slots > 0) nodes[l.addr] = 'master';
        else if (l.flags.has('slave')) nodes[l.addr] = 'slave';
        else continue;
        changed = true;
      }
    }
    if (changed) {
      try {
        await writeLayout(path, { version: 1, cluster: name, nodes: sortKeys(nodes), updated: new Date().toISOString() });
      } catch (e) {
        out.push(r.message(target, 'ERROR', `Cluster ${name} layout could not be saved to ${path} (${reasonOf(e, secrets)})`));
      }
    }
    return new Map(Object.entries(nodes));
  }

  async function evaluate(ctx: RunContext, snaps: Snapshot[], failed: Map<string, string>, tried: string[]): Promise<CheckResult[]> {
    if (snaps.length === 0) {
      const reasons = [...new Set(tried.map((t) => failed.get(t)).filter((x) => x !== undefined))].join('; ');
      return [r.message(target, 'CRITICAL', `Cluster ${name} is unreachable, tried ${tried.join(', ')} (${reasons})`)];
    }
    const num = (s: Snapshot, k: string) => Number(s.info.get(k) ?? 0);
    // The reference view (as `cluster nodes` on one node): a node that says ok, knows the most nodes, has the newest epoch.
    const reference = [...snaps].sort((a, b) =>
      Number(b.info.get('cluster_state') === 'ok') - Number(a.info.get('cluster_state') === 'ok')
      || num(b, 'cluster_known_nodes') - num(a, 'cluster_known_nodes')
      || num(b, 'cluster_current_epoch') - num(a, 'cluster_current_epoch')
      || compareAddr(a.addr, b.addr))[0]!;

    const members = new Map<string, NodeLine>();
    for (const l of reference.nodes) if (l.addr && !l.flags.has('noaddr') && !l.flags.has('handshake')) members.set(l.id, l);
    const byId = new Map<string, Snapshot>();
    for (const s of snaps) if (s.self) byId.set(s.self.id, s);
    const memberSnaps = snaps.filter((s) => s.self && members.has(s.self.id)).sort((a, b) => compareAddr(a.addr, b.addr));
    const outsiders = snaps.filter((s) => !s.self || !members.has(s.self.id)).sort((a, b) => compareAddr(a.addr, b.addr));

    // What the other nodes say about each node: flags are merged over every reachable member's view.
    const seen = new Map<string, Observed>();
    for (const s of memberSnaps) {
      for (const l of s.nodes) {
        if (l.flags.has('myself')) continue;
        let o = seen.get(l.id);
        if (!o) seen.set(l.id, (o = { fail: false, pfail: false, disconnected: false, noaddr: false, flags: new Set() }));
        o.fail ||= l.flags.has('fail');
        o.pfail ||= l.flags.has('fail?');
        o.disconnected ||= l.link !== 'connected';
        o.noaddr ||= l.flags.has('noaddr') || !l.addr;
        for (const f of l.flags) o.flags.add(f);
      }
    }
    const failedNode = (id: string) => seen.get(id)?.fail ?? false;
    const sorted = [...members.values()].sort((a, b) => compareAddr(a.addr, b.addr));
    const alive = sorted.filter((l) => !failedNode(l.id));
    const isMaster = (l: NodeLine) => l.flags.has('master');
    const isSlave = (l: NodeLine) => l.flags.has('slave');
    const aliveMasters = alive.filter(isMaster);
    const aliveSlaves = alive.filter(isSlave);

    const out: CheckResult[] = [];

    // 1. cluster_state (runbook: cli-all cluster info | grep state:ok | wc -l)
    const notOk = memberSnaps.filter((s) => s.info.get('cluster_state') !== 'ok');
    if (notOk.length > 0) {
      out.push(r.message(target, 'CRITICAL',
        `Cluster ${name} state is ${notOk[0]!.info.get('cluster_state') ?? 'unknown'} on ${notOk.length} of ${memberSnaps.length} reachable nodes (${notOk.map((s) => s.addr).join(', ')})`));
    } else {
      const info = reference.info;
      const n = (k: string) => (info.has(k) ? Number(info.get(k)) : null);
      out.push(r.fields(target, 'OK', [
        ['Cluster', name], ['Cluster_State', 'ok'], ['Nodes', members.size], ['Reachable_Nodes', memberSnaps.length],
        ['Masters', aliveMasters.length], ['Slaves', aliveSlaves.length],
        ['Slots_Assigned', n('cluster_slots_assigned')], ['Slots_OK', n('cluster_slots_ok')],
        ['Slots_Pfail', n('cluster_slots_pfail')], ['Slots_Fail', n('cluster_slots_fail')],
      ]));
    }

    // 2. nodes that answer but are not part of this cluster (e.g. restarted with a lost nodes.conf, not met yet)
    for (const s of outsiders) {
      out.push(r.message(s.addr, 'ERROR', `Node ${s.addr} is not part of cluster ${name} (cluster_known_nodes:${s.info.get('cluster_known_nodes') ?? '?'})`));
    }

    // 3. node states: fail > unreachable > pfail > disconnected; then noaddr (runbook: find-noaddr)
    for (const l of sorted) {
      const o = seen.get(l.id);
      const servesSlots = isMaster(l) && l.slots > 0;
      const sev: Status = servesSlots ? 'CRITICAL' : 'ERROR';
      const snap = byId.get(l.id);
      if (o?.fail) { out.push(r.message(l.addr, sev, `Node ${l.addr} is in fail state`)); continue; }
      if (!snap) {
        const other = snaps.find((s) => s.via === l.addr || s.addr === l.addr);
        const reason = other ? `it answers as another node, ${other.self?.id ?? 'unknown id'}` : failed.get(l.addr) ?? 'not read';
        out.push(r.message(l.addr, sev, `Node ${l.addr} is unreachable (${reason})`));
        continue;
      }
      if (o?.pfail) { out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is in pfail state`)); continue; }
      if (o?.disconnected) out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is disconnected`));
    }
    const noaddr = [...seen].filter(([, o]) => o.noaddr).map(([id]) => id).sort();
    for (const id of noaddr) {
      out.push(r.message(target, 'ERROR', `Node ${id} is in noaddr state, remove it with CLUSTER FORGET`));
    }

    // 4. distribution per server (runbook: check-distribution)
    const server = (addr: string) => serverOf.get(addr) ?? hostOf(addr);
    const servers = new Map<string, { masters: number; slaves: number; pairs: string[] }>();
    const derived = [...new Set(sorted.map((l) => server(l.addr)).filter((s) => !serverOrder.includes(s)))].sort();
    for (const s of [...serverOrder, ...derived]) {
      if (sorted.some((l) => server(l.addr) === s)) servers.set(s, { masters: 0, slaves: 0, pairs: [] });
    }
    for (const l of alive) {
      const row = servers.get(server(l.addr))!;
      if (isMaster(l)) row.masters++;
      else if (isSlave(l)) {
        row.slaves++;
        const m = l.masterId ? members.get(l.masterId) : undefined;
        if (m && !failedNode(m.id) && server(m.addr) === server(l.addr)) row.pairs.push(`${m.addr}>${l.addr}`);
      }
    }
    const share = servers.size > 0 ? aliveMasters.length / servers.size : 0;
    for (const [s, row] of servers) {
      const skewed = row.masters > Math.ceil(share) + inst.max_master_skew || row.masters < Math.floor(share) - inst.max_master_skew;
      const fields: Field[] = [['Cluster', name], ['Server', s], ['Masters', row.masters], ['Slaves', row.slaves], ['Even_Share', short(share)]];
      if (row.pairs.length > 0) fields.push(['Same_Server', row.pairs.join(';')]);
      out.push(r.fields(target, skewed || row.pairs.length > 0 ? 'ERROR' : 'OK', fields));
    }

    // 5. find-masters no-slave: masters serving slots with no working replica
    for (const m of aliveMasters) {
      if (m.slots === 0) continue;
      const replicas = alive.filter((l) => isSlave(l) && l.masterId === m.id);
      if (replicas.length === 0) out.push(r.message(m.addr, 'ERROR', `Master ${m.addr} has no slave`));
    }
    // 6. find-masters no-slot
    for (const m of aliveMasters) {
      if (m.slots === 0) out.push(r.message(m.addr, 'ERROR', `Master ${m.addr} has no slots`));
    }

    // 7./8. find-masters failovered, find-slaves failbacked, against the intended layout
    const intended = await intendedLayout(ctx, reference, alive, out);
    if (intended) {
      for (const l of alive) {
        if (isMaster(l) && l.slots > 0 && intended.get(l.addr) === 'slave') {
          out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is expected to be slave but found master (failovered)`));
        }
      }
      for (const l of alive) {
        if (isSlave(l) && intended.get(l.addr) === 'master') {
          out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is expected to be master but found slave (failbacked)`));
        }
      }
    }

    // 9. memory (runbook: cli-all info memory | grep isOOM:true)
    for (const s of memberSnaps) out.push(memoryResult(r, name, s.addr, s.memory, inst.max_memory_ratio));
    return out;
  }

  return [{
    id: `${CHECK}/${name}`,
    target,
    async run(ctx) {
      const { snaps, failed, tried } = await probe(ctx);
      return evaluate(ctx, snaps, failed, tried);
    },
    failure(reason, time) {
      return [r.message(target, 'CRITICAL', `Cluster ${name} is unreachable (${reasonOf(reason, secrets)})`, time)];
    },
    async close() {
      dropAll();
      pool.clear();
    },
  }];
}

function sortKeys(nodes: Record<string, Role>): Record<string, Role> {
  return Object.fromEntries(Object.entries(nodes).sort(([a], [b]) => compareAddr(a, b)));
}
