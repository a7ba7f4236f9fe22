/**
 * The check's rules, each one pure function of the cluster view (the runbook command it replaces
 * in its comment). `evaluate` runs them in line order; the layout file is read and written by
 * the caller (check.ts), which gets the layout to save back from here.
 */
import { resultFactory } from '../../core/check.js';
import type { CheckResult, Field, Status } from '../../core/result.js';
import { compareAddr, hostOf, type NodeLine } from './parse.js';
import { memoryProblem } from '../../common/redis/health.js';
import type { LayoutFile, Role } from './layout.js';
import { MAX_NODES, type ClusterSettings, type ClusterView, type Probe, type Snapshot } from './view.js';

const CHECK = 'redis_cluster';

type Results = ReturnType<typeof resultFactory>;
export type Rule = (view: ClusterView) => CheckResult[];

const results = (view: ClusterView): Results => resultFactory(CHECK, view.settings.name);
const short = (x: number) => String(Number(x.toFixed(2)));
const isMaster = (l: NodeLine) => l.flags.has('master');
const isSlave = (l: NodeLine) => l.flags.has('slave');
const failedNode = (view: ClusterView, id: string) => view.observed.get(id)?.fail ?? false;
const aliveMasters = (view: ClusterView) => view.alive.filter(isMaster);

/** No node answered: one line naming every address tried and the distinct reasons. */
export function unreachable(settings: ClusterSettings, probe: Probe): CheckResult[] {
  const reasons = [...new Set(probe.tried.map((t) => probe.failed.get(t)).filter((x) => x !== undefined))].join('; ');
  return [resultFactory(CHECK, settings.name).message(settings.target, 'CRITICAL',
    `Cluster ${settings.name} is unreachable, tried ${probe.tried.join(', ')} (${reasons})`)];
}

/** A node lists more than MAX_NODES nodes: the cluster is not evaluated, in one line. */
export function overLimit(settings: ClusterSettings, snap: Snapshot): CheckResult[] {
  return [resultFactory(CHECK, settings.name).message(settings.target, 'CRITICAL',
    `Cluster ${settings.name} is not checked: CLUSTER NODES of ${snap.via} lists ${snap.nodes.length} nodes, over the limit of ${MAX_NODES}`)];
}

/** Every key hashes to one of 16384 slots (the Redis Cluster specification). */
const CLUSTER_SLOTS = 16384;

/** 1. cluster_state on every reachable member (runbook: cli-all cluster info | grep state:ok | wc -l). */
export const clusterState: Rule = (view) => {
  const r = results(view);
  const { name, target } = view.settings;
  const notOk = view.memberSnaps.filter((s) => s.info.get('cluster_state') !== 'ok');
  if (notOk.length > 0) {
    return [r.message(target, 'CRITICAL',
      `Cluster ${name} state is ${notOk[0]!.info.get('cluster_state') ?? 'unknown'} on ${notOk.length} of ${view.memberSnaps.length} reachable nodes (${notOk.map((s) => s.addr).join(', ')})`)];
  }
  const info = view.reference.info;
  const n = (k: string) => (info.has(k) ? Number(info.get(k)) : null);
  // With cluster-require-full-coverage no, a cluster missing slots still says ok: keys there are refused.
  const assigned = n('cluster_slots_assigned');
  if (assigned !== null && assigned < CLUSTER_SLOTS) {
    return [r.message(target, 'ERROR', `Cluster ${name} has ${assigned} of ${CLUSTER_SLOTS} slots assigned, though cluster_state is ok`)];
  }
  return [r.fields(target, 'OK', [
    ['Cluster', name], ['Cluster_State', 'ok'], ['Nodes', view.members.size], ['Reachable_Nodes', view.memberSnaps.length],
    ['Masters', aliveMasters(view).length], ['Slaves', view.alive.filter(isSlave).length],
    ['Slots_Assigned', n('cluster_slots_assigned')], ['Slots_OK', n('cluster_slots_ok')],
    ['Slots_Pfail', n('cluster_slots_pfail')], ['Slots_Fail', n('cluster_slots_fail')],
  ])];
};

/** 2. Nodes that answer but are not part of this cluster (e.g. restarted with a lost nodes.conf, not met yet). */
export const outsiders: Rule = (view) => view.outsiders.map((s) => results(view).message(s.addr, 'ERROR',
  `Node ${s.addr} is not part of cluster ${view.settings.name} (cluster_known_nodes:${s.info.get('cluster_known_nodes') ?? '?'})`));

/** 3. Node states, one line per node at most: fail > unreachable > pfail > disconnected; then noaddr ids (runbook: find-noaddr). */
export const nodeStates: Rule = (view) => {
  const r = results(view);
  const out: CheckResult[] = [];
  // The first answer per address, dialled or own (as a search over the answers in order found it).
  const answerAt = new Map<string, Snapshot>();
  for (const s of view.snaps) {
    if (!answerAt.has(s.via)) answerAt.set(s.via, s);
    if (!answerAt.has(s.addr)) answerAt.set(s.addr, s);
  }
  for (const l of view.sorted) {
    const o = view.observed.get(l.id);
    const sev: Status = isMaster(l) && l.slots > 0 ? 'CRITICAL' : 'ERROR';
    if (o?.fail) { out.push(r.message(l.addr, sev, `Node ${l.addr} is in fail state`)); continue; }
    if (!view.answers.has(l.id)) {
      const other = answerAt.get(l.addr);
      const reason = other ? `it answers as another node, ${other.self?.id ?? 'unknown id'}` : view.failed.get(l.addr) ?? 'not read';
      out.push(r.message(l.addr, sev, `Node ${l.addr} is unreachable (${reason})`));
      continue;
    }
    if (o?.pfail) { out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is in pfail state`)); continue; }
    if (o?.disconnected) out.push(r.message(l.addr, 'ERROR', `Node ${l.addr} is disconnected`));
  }
  const noaddr = [...view.observed].filter(([, o]) => o.noaddr).map(([id]) => id).sort();
  for (const id of noaddr) out.push(r.message(view.settings.target, 'ERROR', `Node ${id} is in noaddr state, remove it with CLUSTER FORGET`));
  return out;
};

/**
 * 4. Masters and slaves per server (runbook: check-distribution): configured servers first, in
 * config order, then the ips of nodes not listed. ERROR when a server holds more (or fewer)
 * masters than its even share allows, or a master and its own slave (unless `single_server`).
 */
export const distribution: Rule = (view) => {
  const { serverOf, serverOrder, maxMasterSkew, name, target, singleServer } = view.settings;
  const server = (addr: string) => serverOf.get(addr) ?? hostOf(addr);
  const servers = new Map<string, { masters: number; slaves: number; pairs: string[] }>();
  const present = new Set(view.sorted.map((l) => server(l.addr)));
  const configured = new Set(serverOrder);
  const derived = [...present].filter((s) => !configured.has(s)).sort();
  for (const s of [...serverOrder, ...derived]) {
    if (present.has(s)) servers.set(s, { masters: 0, slaves: 0, pairs: [] });
  }
  for (const l of view.alive) {
    const row = servers.get(server(l.addr))!;
    if (isMaster(l)) row.masters++;
    else if (isSlave(l)) {
      row.slaves++;
      const m = l.masterId ? view.members.get(l.masterId) : undefined;
      if (!singleServer && m && !failedNode(view, m.id) && server(m.addr) === server(l.addr)) row.pairs.push(`${m.addr}>${l.addr}`);
    }
  }
  const share = servers.size > 0 ? aliveMasters(view).length / servers.size : 0;
  const r = results(view);
  return [...servers].map(([s, row]) => {
    const skewed = row.masters > Math.ceil(share) + maxMasterSkew || row.masters < Math.floor(share) - maxMasterSkew;
    const fields: Field[] = [['Cluster', name], ['Server', s], ['Masters', row.masters], ['Slaves', row.slaves], ['Even_Share', short(share)]];
    if (row.pairs.length > 0) fields.push(['Same_Server', row.pairs.join(';')]);
    return r.fields(target, skewed || row.pairs.length > 0 ? 'ERROR' : 'OK', fields);
  });
};

/** 5. Masters serving slots with no working replica (runbook: find-masters no-slave). */
export const noSlave: Rule = (view) => {
  const served = new Set(view.alive.filter(isSlave).map((l) => l.masterId));
  return aliveMasters(view)
    .filter((m) => m.slots > 0 && !served.has(m.id))
    .map((m) => results(view).message(m.addr, 'ERROR', `Master ${m.addr} has no slave`));
};

/** 6. Masters without slots (runbook: find-masters no-slot). */
export const noSlot: Rule = (view) => aliveMasters(view)
  .filter((m) => m.slots === 0)
  .map((m) => results(view).message(m.addr, 'ERROR', `Master ${m.addr} has no slots`));

/** Which node is meant to be master and which slave (ip:port → role). */
export type Intended = ReadonlyMap<string, Role>;

/** 7. A slave by the intended layout serving slots as a master (runbook: find-masters failovered). */
export const failovered = (view: ClusterView, intended: Intended): CheckResult[] => view.alive
  .filter((l) => isMaster(l) && l.slots > 0 && intended.get(l.addr) === 'slave')
  .map((l) => results(view).message(l.addr, 'ERROR', `Node ${l.addr} is expected to be slave but found master (failovered)`));

/** 8. A master by the intended layout found a slave (runbook: find-slaves failbacked). */
export const failbacked = (view: ClusterView, intended: Intended): CheckResult[] => view.alive
  .filter((l) => isSlave(l) && intended.get(l.addr) === 'master')
  .map((l) => results(view).message(l.addr, 'ERROR', `Node ${l.addr} is expected to be master but found slave (failbacked)`));

/** 9. One memory line per reachable member (runbook: cli-all info memory | grep isOOM:true). */
export const memory: Rule = (view) => view.memberSnaps.map((s) =>
  memoryResult(results(view), view.settings.name, s.addr, s.memory, view.settings.maxMemoryRatio));

/**
 * The memory line of one node. CRITICAL when the node reports isOOM:true (flashbase builds) or,
 * on stock Redis, when used_memory has reached maxmemory under `noeviction` (writes are refused
 * with OOM); ERROR when used_memory is at or over `max_memory_ratio` of maxmemory; otherwise an
 * OK line with the figures.
 */
export function memoryResult(r: Results, cluster: string, addr: string, mem: ReadonlyMap<string, string>, maxRatio: number): CheckResult {
  const problem = memoryProblem(addr, mem, maxRatio);
  if (problem) return r.message(addr, problem.status, problem.message);
  const used = Number(mem.get('used_memory') ?? NaN);
  const max = Number(mem.get('maxmemory') ?? 0);
  return r.fields(addr, 'OK', [
    ['Cluster', cluster], ['Node', addr], ['Used_Memory', Number.isFinite(used) ? used : null],
    ['Maxmemory', max], ['Used_Ratio', max > 0 ? short(used / max) : null],
  ]);
}

/** Where the intended layout comes from: `masters` in the config, the layout file (none yet), or an unreadable file. */
export type LayoutSource =
  | { readonly kind: 'configured'; readonly masters: ReadonlySet<string> }
  | { readonly kind: 'observed'; readonly file: LayoutFile | undefined }
  | { readonly kind: 'unreadable' };

/**
 * The intended layout, and the file to save when the observed one grew. Only a healthy cluster
 * is a baseline: alive nodes not in the file yet are added with the role they have now (a master
 * only when it serves slots, never a node flagged fail?); a configured layout is never saved.
 */
export function intendedLayout(view: ClusterView, source: LayoutSource, now: Date): { intended: Intended | undefined; save: LayoutFile | undefined } {
  if (source.kind === 'unreadable') return { intended: undefined, save: undefined };
  if (source.kind === 'configured') {
    return { intended: new Map(view.alive.map((l) => [l.addr, source.masters.has(l.addr) ? 'master' : 'slave'] as const)), save: undefined };
  }
  const nodes: Record<string, Role> = { ...(source.file?.nodes ?? {}) };
  let changed = false;
  if (view.reference.info.get('cluster_state') === 'ok') {
    for (const l of view.alive) {
      if (l.addr in nodes || l.flags.has('fail?')) continue;
      if (isMaster(l) && l.slots > 0) nodes[l.addr] = 'master';
      else if (isSlave(l)) nodes[l.addr] = 'slave';
      else continue;
      changed = true;
    }
  }
  const save: LayoutFile | undefined = changed
    ? { version: 1, cluster: view.settings.name, nodes: sortKeys(nodes), updated: now.toISOString() }
    : undefined;
  return { intended: new Map(Object.entries(nodes)), save };
}

function sortKeys(nodes: Record<string, Role>): Record<string, Role> {
  return Object.fromEntries(Object.entries(nodes).sort(([a], [b]) => compareAddr(a, b)));
}

/** The rules before the layout file's own lines (unreadable, not saved), which check.ts puts between `head` and `tail`, and those after. */
const HEAD: readonly Rule[] = [clusterState, outsiders, nodeStates, distribution, noSlave, noSlot];

export interface Evaluation {
  readonly head: CheckResult[];
  readonly tail: CheckResult[];
  /** The layout file to write, when the observed layout grew. */
  readonly save: LayoutFile | undefined;
}

/** Every rule in line order. */
export function evaluate(view: ClusterView, source: LayoutSource, now = new Date()): Evaluation {
  const head = HEAD.flatMap((rule) => rule(view));
  const { intended, save } = intendedLayout(view, source, now);
  const tail = [...(intended ? [...failovered(view, intended), ...failbacked(view, intended)] : []), ...memory(view)];
  return { head, tail, save };
}
