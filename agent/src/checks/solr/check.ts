import { STATUS_CODES } from 'node:http';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { reasonOf, redact } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import { httpAccess, HttpGetClient } from '../../core/http-get.js';
import { describeTlsFailure, tlsNotices, type LoadedTls, type PeerCertificateSeen } from '../../core/tls/index.js';
import type { SolrInstance, SolrUrl } from './schema.js';

const CHECK = 'solr';

/** Replica states that are not active, in the order their lines come. Any other non-active state follows. */
const BAD_STATES = ['down', 'recovering', 'recovery_failed'] as const;

/** `127.0.0.1:8983_solr` (a node_name in live_nodes and replicas) → `127.0.0.1:8983`. */
export function nodeHostPort(nodeName: string): string {
  const m = /^(.*:\d+)_/.exec(nodeName);
  return m ? m[1]! : nodeName;
}

/** What the cluster state says about one node, by its host:port. */
export interface NodeView {
  readonly node: string;
  readonly live: boolean;
  /** Replicas (cores) the cluster state places on the node. */
  cores: number;
  /**
   * Replicas by effective state: the published state, except that every replica of a node
   * missing from live_nodes is down (a killed node never gets to publish "down").
   */
  readonly states: Map<string, number>;
}

/** One active shard of a collection and its replicas, each with its effective state (as in NodeView). */
export interface ShardView {
  readonly collection: string;
  readonly shard: string;
  readonly replicas: readonly { node: string; state: string; leader: boolean }[];
}

export interface ClusterView {
  /** host:port of every live node. */
  readonly live: ReadonlySet<string>;
  /** Every live node and every node that holds a replica. */
  readonly nodes: ReadonlyMap<string, NodeView>;
  /** Shards in state active (a split's inactive parent and a shard under construction are not served), by collection and name. */
  readonly shards: readonly ShardView[];
}

/** Counts the replicas of every collection by node and state, from a CLUSTERSTATUS `cluster` object. */
export function summarizeCluster(cluster: unknown): ClusterView {
  const c = (cluster ?? {}) as { live_nodes?: unknown; collections?: unknown };
  if (!Array.isArray(c.live_nodes)) throw new Error('CLUSTERSTATUS has no live_nodes');
  const live = new Set(c.live_nodes.map((n) => nodeHostPort(String(n))));
  const nodes = new Map<string, NodeView>();
  const view = (node: string): NodeView => {
    let v = nodes.get(node);
    if (!v) nodes.set(node, (v = { node, live: live.has(node), cores: 0, states: new Map() }));
    return v;
  };
  for (const n of live) view(n);
  const shards: ShardView[] = [];
  type Replica = { node_name?: string; state?: string; leader?: unknown };
  type Shard = { state?: string; replicas?: Record<string, Replica> };
  const collections = Object.entries((c.collections ?? {}) as Record<string, { shards?: Record<string, Shard> }>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (const [colName, col] of collections) {
    for (const [shardName, shard] of Object.entries(col?.shards ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      const replicas: { node: string; state: string; leader: boolean }[] = [];
      for (const rep of Object.values(shard?.replicas ?? {})) {
        if (!rep?.node_name) continue;
        const v = view(nodeHostPort(rep.node_name));
        const state = v.live ? (rep.state ?? 'unknown') : 'down';
        v.cores++;
        v.states.set(state, (v.states.get(state) ?? 0) + 1);
        replicas.push({ node: v.node, state, leader: rep.leader === 'true' || rep.leader === true });
      }
      if ((shard?.state ?? 'active') === 'active') shards.push({ collection: colName, shard: shardName, replicas });
    }
  }
  return { live, nodes, shards };
}

/**
 * A shard with no active replica cannot answer a query; one with active replicas but no leader
 * cannot take an update. One CRITICAL line per such shard, the first of the two that applies; a
 * leader counts only while it is active on a live node (a killed leader keeps its flag in the
 * cluster state until the election after its ZooKeeper session expires).
 */
export function shardLines(view: ClusterView): string[] {
  const out: string[] = [];
  for (const sh of view.shards) {
    const active = sh.replicas.filter((r) => r.state === 'active');
    const where = (rs: readonly { node: string; state: string }[], withState: boolean) =>
      [...new Set(rs.map((r) => (withState ? `${r.state} on ${r.node}` : r.node)))].sort().join(', ');
    if (active.length === 0) {
      out.push(`Shard ${sh.collection}/${sh.shard} has no active replica${sh.replicas.length ? ` (${where(sh.replicas, true)})` : ''}`);
    } else if (!active.some((r) => r.leader)) {
      out.push(`Shard ${sh.collection}/${sh.shard} has no leader (active on ${where(active, false)})`);
    }
  }
  return out;
}

type NodeLine = { status: 'OK' | 'CRITICAL'; message?: string; fields?: [string, string | number][] };

/** The lines about one node of the cluster. */
export function nodeLines(v: NodeView, liveCount: number): NodeLine[] {
  const out: NodeLine[] = [];
  if (!v.live) {
    out.push({ status: 'CRITICAL', message: v.cores > 0 ? `Solr instance ${v.node} holds ${v.cores} core(s) but is not in live_nodes` : `Solr instance ${v.node} is not in live_nodes` });
  }
  const others = [...v.states.keys()].filter((s) => s !== 'active' && !(BAD_STATES as readonly string[]).includes(s)).sort();
  for (const state of [...BAD_STATES, ...others]) {
    const n = v.states.get(state) ?? 0;
    if (n > 0) out.push({ status: 'CRITICAL', message: `${n} core(s) are in ${state} state on Solr instance ${v.node}` });
  }
  if (out.length === 0) {
    out.push({ status: 'OK', fields: [['Solr', v.node], ['Live_Nodes', liveCount], ['Active', v.states.get('active') ?? 0]] });
  }
  return out;
}

/** A non-2xx answer: the node is up but refused or failed the request. */
class HttpStatusError extends Error {
  constructor(readonly statusCode: number, readonly detail: string | undefined) {
    super(`HTTP ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`.trim() + (detail ? ` (${detail})` : ''));
  }
}

/** Solr's JSON error text, `{"error":{"msg":"..."}}`, shortened. */
function solrErrorMsg(body: string): string | undefined {
  try {
    const msg = (JSON.parse(body) as { error?: { msg?: unknown } }).error?.msg;
    if (typeof msg === 'string' && msg.trim()) return msg.trim().replace(/\s+/g, ' ').slice(0, 200);
  } catch { /* not JSON (e.g. an HTML 401 page) */ }
  return undefined;
}

/** One HTTP client per configured node, with basic auth when configured; bodies read up to `maxReplyBytes`. */
class SolrClient {
  private readonly http: HttpGetClient;

  constructor(readonly url: SolrUrl, authHeader: string | undefined, maxReplyBytes: number, tls: LoadedTls | undefined) {
    const headers = { accept: 'application/json', ...(authHeader ? { authorization: authHeader } : {}) };
    this.http = new HttpGetClient(url.base, `Solr ${url.hostPort}`, headers, maxReplyBytes, tls);
  }

  /** The certificate the node showed on the newest connection (https only). */
  get peer(): PeerCertificateSeen | undefined {
    return this.http.peer;
  }

  /** The last error a connection's socket had (see HttpGetClient.socketError). */
  get socketError(): unknown {
    return this.http.socketError;
  }

  set socketError(e: unknown) {
    this.http.socketError = e;
  }

  async get(path: string, ctx: RunContext): Promise<unknown> {
    const { status, body } = await this.http.get(`${path}${path.includes('?') ? '&' : '?'}wt=json`, ctx);
    if (status < 200 || status >= 300) throw new HttpStatusError(status, solrErrorMsg(body));
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`answer to ${path.split('?')[0]} is not JSON`);
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

export function solrTargets(inst: SolrInstance, _ctx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const { authHeader, secrets, tls } = httpAccess(inst);

  /*
   * Shared by the targets of this instance (one per configured node), so that in cloud mode
   * each fact about the cluster is reported once: every node reports on itself, and the
   * first configured node that is live and answered reports on the others (dead nodes, and
   * live nodes that are not configured or that the agent cannot reach).
   */
  const lastAnswered = new Map<string, boolean>();
  const nodeOfUrl = new Map<string, string>();

  return inst.url.map((url): Target => {
    const client = new SolrClient(url, authHeader, inst.max_reply_bytes, tls);
    // Certificate expiry and the key's permissions, after the run's lines, whether Solr answered or not.
    const notices = () => (tls ? tlsNotices(tls, client.peer ? [client.peer] : []).map((n) => r.message(url.text, 'ERROR', n)) : []);
    const self = url.hostPort;
    const answered = (ok: boolean) => lastAnswered.set(self, ok);

    async function standalone(ctx: RunContext): Promise<CheckResult[]> {
      const st = (await client.get('/admin/cores?action=STATUS&indexInfo=false', ctx)) as { status?: Record<string, unknown>; initFailures?: Record<string, unknown> };
      const failed = Object.keys(st.initFailures ?? {}).sort();
      if (failed.length > 0) {
        return [r.message(url.text, 'CRITICAL', `${failed.length} core(s) failed to initialize on Solr instance ${self} (${failed.join(', ')})`)];
      }
      return [r.fields(url.text, 'OK', [['Solr', self], ['Cores', Object.keys(st.status ?? {}).length]])];
    }

    /**
     * The node this URL reaches, as live_nodes names it; asks the node when its URL uses another
     * name (once: the answer is kept in nodeOfUrl while that node stays live).
     */
    async function ownNode(view: ClusterView, ctx: RunContext): Promise<string> {
      if (view.live.has(self)) return self;
      const known = nodeOfUrl.get(self);
      if (known !== undefined && view.live.has(known)) return known;
      try {
        const info = (await client.get('/admin/info/system', ctx)) as { node?: unknown };
        if (typeof info.node === 'string' && info.node) return nodeHostPort(info.node);
      } catch { /* keep the configured name */ }
      return self;
    }

    async function cloud(ctx: RunContext): Promise<CheckResult[]> {
      const cs = (await client.get('/admin/collections?action=CLUSTERSTATUS', ctx)) as { cluster?: unknown };
      const view = summarizeCluster(cs.cluster);
      const own = await ownNode(view, ctx);
      nodeOfUrl.set(self, own);

      const configuredLive = new Set<string>();
      let reporter: string | undefined;
      for (const u of inst.url) {
        const node = nodeOfUrl.get(u.hostPort) ?? u.hostPort;
        if (!view.live.has(node) || lastAnswered.get(u.hostPort) === false) continue;
        configuredLive.add(node);
        reporter ??= u.hostPort;
      }
      const about = [own];
      if (reporter === undefined || reporter === self) {
        for (const node of [...view.nodes.keys()].sort()) {
          if (node !== own && !configuredLive.has(node)) about.push(node);
        }
      }
      const out: CheckResult[] = [];
      // Shards are the cluster's, not a node's: the node that reports on the others reports them.
      if (reporter === undefined || reporter === self) {
        for (const m of shardLines(view)) out.push(r.message(url.text, 'CRITICAL', m));
      }
      for (const node of about) {
        const v = view.nodes.get(node) ?? { node, live: false, cores: 0, states: new Map<string, number>() };
        for (const l of nodeLines(v, view.live.size)) {
          out.push(l.fields ? r.fields(url.text, l.status, l.fields) : r.message(url.text, l.status, l.message!));
        }
      }
      return out;
    }

    return {
      id: `${CHECK}/${inst.name}/${self}`,
      target: url.text,
      async run(ctx): Promise<CheckResult[]> {
        client.socketError = undefined;
        try {
          const out = inst.mode === 'standalone' ? await standalone(ctx) : await cloud(ctx);
          answered(true);
          return [...out, ...notices()];
        } catch (e) {
          answered(false);
          if (e instanceof HttpStatusError && !ctx.signal.aborted) {
            return [r.message(url.text, 'CRITICAL', `Solr instance ${self} answered ${redact(e.message, secrets)}`), ...notices()];
          }
          const tlsCtx = { peer: 'Solr', hasClientCert: tls?.hasClientCert ?? false };
          const refused = tls && !ctx.signal.aborted ? describeTlsFailure(e, tlsCtx) ?? describeTlsFailure(client.socketError, tlsCtx) : undefined;
          if (refused) return [r.message(url.text, 'CRITICAL', `Solr instance ${self} is unreachable (${refused})`), ...notices()];
          throw e;
        }
      },
      failure(reason, time) {
        return [r.message(url.text, 'CRITICAL', `Solr instance ${self} is unreachable (${reasonOf(reason, secrets)})`, time)];
      },
      async close() {
        await client.close();
      },
    };
  });
}
