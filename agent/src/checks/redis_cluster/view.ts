/**
 * The cluster as one cycle saw it, built once from every node's answer: which nodes are members
 * (per the reference node), what the peers say about each, which answered. Pure data; the rules
 * in rules.ts read only this.
 */
import { parseInfo } from '../../common/redis/info.js';
import { compareAddr, parseClusterNodes, type NodeLine } from './parse.js';

/**
 * The most nodes one CLUSTER NODES may list: Redis Cluster is designed for up to 1,000 nodes
 * (its specification). A larger view is refused with one line instead of being evaluated, so a
 * run's work stays bounded (the rules are linear in nodes; following and merging every peer's
 * view is not).
 */
export const MAX_NODES = 1000;

/** The answer listing the most nodes, when that is over `MAX_NODES`. */
export function overNodeLimit(snaps: readonly Snapshot[]): Snapshot | undefined {
  let worst: Snapshot | undefined;
  for (const s of snaps) if (s.nodes.length > MAX_NODES && (!worst || s.nodes.length > worst.nodes.length)) worst = s;
  return worst;
}

/** What one node answered. */
export interface Snapshot {
  /** The address that was dialled. */
  readonly via: string;
  /** The node's address as the cluster knows it (its `myself` line), else `via`. */
  readonly addr: string;
  readonly self: NodeLine | undefined;
  readonly nodes: readonly NodeLine[];
  /** CLUSTER INFO. */
  readonly info: ReadonlyMap<string, string>;
  /** INFO memory. */
  readonly memory: ReadonlyMap<string, string>;
}

/** Every node's answer, the addresses dialled in order, and why the others failed (by dialled address). */
export interface Probe {
  readonly snaps: readonly Snapshot[];
  readonly failed: ReadonlyMap<string, string>;
  readonly tried: readonly string[];
}

/** What the other members say about one node, merged over every reachable member's CLUSTER NODES. */
export interface Observed {
  readonly fail: boolean;
  readonly pfail: boolean;
  readonly disconnected: boolean;
  readonly noaddr: boolean;
}

/** The instance's settings the rules need. */
export interface ClusterSettings {
  readonly name: string;
  /** The seeds as configured, the target of cluster-wide lines. */
  readonly target: string;
  /** Configured `servers`: node address → server name, and the servers in config order. */
  readonly serverOf: ReadonlyMap<string, string>;
  readonly serverOrder: readonly string[];
  readonly maxMasterSkew: number;
  readonly maxMemoryRatio: number;
  /** One server by design: a master beside its own slave is expected. */
  readonly singleServer: boolean;
}

export interface ClusterView {
  readonly settings: ClusterSettings;
  /** The answer the membership is taken from (as `cluster nodes` on one node): see `buildView`. */
  readonly reference: Snapshot;
  /** Members (with an address, not in handshake) by id, as the reference sees them. */
  readonly members: ReadonlyMap<string, NodeLine>;
  /** The members by address. */
  readonly sorted: readonly NodeLine[];
  /** The members no peer flags `fail`, by address. */
  readonly alive: readonly NodeLine[];
  /** By node id: what the peers say about it. */
  readonly observed: ReadonlyMap<string, Observed>;
  /** Each member's own answer, by its id. */
  readonly answers: ReadonlyMap<string, Snapshot>;
  /** The members' answers, by address. */
  readonly memberSnaps: readonly Snapshot[];
  /** Answers from nodes that are not members (e.g. restarted with a lost nodes.conf), by address. */
  readonly outsiders: readonly Snapshot[];
  /** Every answer, and why the other dialled addresses failed. */
  readonly snaps: readonly Snapshot[];
  readonly failed: ReadonlyMap<string, string>;
}

/** One node's raw answers as a snapshot. A node that was never met does not know its own ip: it is the address dialled. */
export function snapshotOf(via: string, raw: { nodes: string; info: string; memory: string }): Snapshot {
  const lines = parseClusterNodes(raw.nodes);
  const me = lines.find((l) => l.flags.has('myself'));
  const addr = me?.addr || via;
  const self = me && !me.addr ? { ...me, addr } : me;
  const nodes = lines.map((l) => (l === me ? self! : l));
  return { via, addr, self, nodes, info: parseInfo(raw.info), memory: parseInfo(raw.memory) };
}

const isMember = (l: NodeLine) => l.addr !== '' && !l.flags.has('noaddr') && !l.flags.has('handshake');

/** undefined when no node answered. */
export function buildView(settings: ClusterSettings, probe: Probe): ClusterView | undefined {
  const { snaps, failed } = probe;
  if (snaps.length === 0) return undefined;
  const num = (s: Snapshot, k: string) => Number(s.info.get(k) ?? 0);
  // A node that says ok, knows the most nodes, has the newest epoch; then the lowest address.
  const reference = [...snaps].sort((a, b) =>
    Number(b.info.get('cluster_state') === 'ok') - Number(a.info.get('cluster_state') === 'ok')
    || num(b, 'cluster_known_nodes') - num(a, 'cluster_known_nodes')
    || num(b, 'cluster_current_epoch') - num(a, 'cluster_current_epoch')
    || compareAddr(a.addr, b.addr))[0]!;

  const members = new Map<string, NodeLine>();
  for (const l of reference.nodes) if (isMember(l)) members.set(l.id, l);
  const answers = new Map<string, Snapshot>();
  for (const s of snaps) if (s.self) answers.set(s.self.id, s);
  const byAddr = (a: Snapshot, b: Snapshot) => compareAddr(a.addr, b.addr);
  const memberSnaps = snaps.filter((s) => s.self && members.has(s.self.id)).sort(byAddr);
  const outsiders = snaps.filter((s) => !s.self || !members.has(s.self.id)).sort(byAddr);

  const observed = new Map<string, { fail: boolean; pfail: boolean; disconnected: boolean; noaddr: boolean }>();
  for (const s of memberSnaps) {
    for (const l of s.nodes) {
      if (l.flags.has('myself')) continue;
      let o = observed.get(l.id);
      if (!o) observed.set(l.id, (o = { fail: false, pfail: false, disconnected: false, noaddr: false }));
      o.fail ||= l.flags.has('fail');
      o.pfail ||= l.flags.has('fail?');
      o.disconnected ||= l.link !== 'connected';
      o.noaddr ||= l.flags.has('noaddr') || !l.addr;
    }
  }
  const sorted = [...members.values()].sort((a, b) => compareAddr(a.addr, b.addr));
  const alive = sorted.filter((l) => !(observed.get(l.id)?.fail ?? false));
  return { settings, reference, members, sorted, alive, observed, answers, memberSnaps, outsiders, snaps, failed };
}
