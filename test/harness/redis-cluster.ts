/**
 * A real Redis Cluster for tests: N redis-server processes (cluster-enabled, each with its
 * own folder under .tmp/), joined with `redis-cli --cluster create --cluster-replicas 1`.
 * Helpers break it the ways the Redis Cluster runbook describes: a manual CLUSTER FAILOVER,
 * a killed master, a node restarted with a lost nodes.conf (noaddr), an empty master.
 *
 * Ports are kernel-chosen; each node gets an explicit `cluster-port` because the default
 * (port + 10000) can fall outside 1..65535 for high ephemeral ports.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts, removeDir, run, startDaemon, tempDir, waitFor, waitForPort, type Daemon } from './proc.js';
import { TcpProxy } from './tcp-proxy.js';
import { readFileSync } from 'node:fs';
import type { TestPki } from './pki.js';

export interface ClusterNodeLine {
  id: string;
  /** `ip:port`, or '' for a noaddr node. */
  addr: string;
  flags: string[];
  masterId: string | undefined;
  link: string;
  slots: number;
}

/** `CLUSTER NODES` text → lines (the check has its own parser; this one is for test set-up only). */
export function parseNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(' ');
    if (f.length < 8) continue;
    const addrPart = f[1]!.split(',')[0]!.split('@')[0]!;
    const i = addrPart.lastIndexOf(':');
    const host = addrPart.slice(0, i);
    let slots = 0;
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue;
      const [a, b] = s.split('-').map(Number);
      slots += b === undefined ? 1 : b - a! + 1;
    }
    out.push({ id: f[0]!, addr: host ? addrPart : '', flags: f[2]!.split(','), masterId: f[3] === '-' ? undefined : f[3], link: f[7]!, slots });
  }
  return out;
}

export class ClusterNode {
  daemon: Daemon | undefined;
  constructor(readonly port: number, readonly busPort: number, readonly dir: string) {}
  get addr(): string { return `127.0.0.1:${this.port}`; }
  get confFile(): string { return join(this.dir, 'redis.conf'); }
  get nodesConf(): string { return join(this.dir, 'nodes.conf'); }
  get running(): boolean { return !!this.daemon && this.daemon.alive(); }
}

export interface ClusterOptions {
  /** Nodes to create the cluster from (default 6: 3 masters + 3 replicas). */
  nodes?: number;
  replicas?: number;
  /** cluster-node-timeout; low so fail detection is quick (default 2000ms). */
  nodeTimeoutMs?: number;
  /** TLS only: port 0, tls-port, tls-cluster yes, tls-replication yes, tls-auth-clients yes, with the test CA's server certificate. */
  tls?: TestPki;
}

/** Where an isolated node's own bus connections come from: another loopback address (all of 127/8 is local). */
const ISOLATED_SOURCE = '127.0.0.2';

export interface MasterWithReplicas { master: string; id: string; replicas: string[] }

export class RedisCluster {
  readonly nodes: ClusterNode[] = [];
  /** Sent with AUTH by the harness's own connections once `setPassword` ran. */
  password: string | undefined;
  private constructor(readonly root: string, readonly nodeTimeoutMs: number, readonly tls?: TestPki) {}

  static async start(opts: ClusterOptions = {}): Promise<RedisCluster> {
    const n = opts.nodes ?? 6;
    const c = new RedisCluster(tempDir('redis-cluster'), opts.nodeTimeoutMs ?? 2000, opts.tls);
    try {
      for (let i = 0; i < n; i++) await c.newNode();
      await run('redis-cli', ['--cluster', 'create', ...c.nodes.map((x) => x.addr), '--cluster-replicas', String(opts.replicas ?? 1), '--cluster-yes', ...c.cliAuth()], { timeoutMs: 60_000 });
      await c.waitHealthy(30_000);
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  /** Starts one more cluster-enabled node (not yet part of any cluster). */
  async newNode(): Promise<ClusterNode> {
    const [port, busPort] = await freePorts(2);
    const dir = join(this.root, `node-${port}`);
    mkdirSync(dir, { recursive: true });
    const node = new ClusterNode(port!, busPort!, dir);
    const pki = this.tls;
    const tls = pki
      ? ['port 0', `tls-port ${port}`, 'tls-cluster yes', 'tls-replication yes', 'tls-auth-clients yes',
        `tls-cert-file ${pki.server.certFile}`, `tls-key-file ${pki.server.keyFile}`, `tls-ca-cert-file ${pki.caFile}`]
      : [`port ${port}`];
    writeFileSync(node.confFile, [
      ...tls, `cluster-port ${busPort}`, 'bind 127.0.0.1', 'protected-mode no',
      'cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${this.nodeTimeoutMs}`,
      // A replica may always take over, however long its master has been gone: keeps the failover tests deterministic.
      'cluster-replica-validity-factor 0',
      `dir ${dir}`, 'save ""', 'appendonly no', 'daemonize no', 'logfile ""', '',
    ].join('\n'));
    this.nodes.push(node);
    await this.startNode(node);
    return node;
  }

  node(addr: string): ClusterNode {
    const n = this.nodes.find((x) => x.addr === addr);
    if (!n) throw new Error(`no node ${addr}`);
    return n;
  }

  private async startNode(node: ClusterNode): Promise<void> {
    node.daemon = startDaemon(`redis-cluster-${node.port}`, 'redis-server', [node.confFile], { cwd: node.dir, logFile: join(node.dir, 'redis.log') });
    await waitForPort(node.port, 15_000, `redis-server ${node.addr}`);
    if (this.password) await this.configSet(node.addr, ['requirepass', this.password, 'masterauth', this.password]);
  }

  /** One command on one node over a short-lived connection. */
  async cmd(addr: string, ...args: (string | number)[]): Promise<unknown> {
    const n = this.node(addr);
    const pki = this.tls;
    const tls = pki ? { ca: readFileSync(pki.caFile), cert: readFileSync(pki.client.certFile), key: readFileSync(pki.client.keyFile) } : undefined;
    const c = new Redis({ host: '127.0.0.1', port: n.port, password: this.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true, connectTimeout: 5000, tls });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await c.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      c.disconnect();
    }
  }

  private async configSet(addr: string, kv: string[]): Promise<void> {
    await this.cmd(addr, 'CONFIG', 'SET', ...kv);
  }

  async clusterNodes(addr: string): Promise<ClusterNodeLine[]> {
    return parseNodes(String(await this.cmd(addr, 'CLUSTER', 'NODES')));
  }

  async clusterInfo(addr: string): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    for (const l of String(await this.cmd(addr, 'CLUSTER', 'INFO')).split(/\r?\n/)) {
      const i = l.indexOf(':');
      if (i > 0) m.set(l.slice(0, i), l.slice(i + 1));
    }
    return m;
  }

  async nodeId(addr: string): Promise<string> {
    return String(await this.cmd(addr, 'CLUSTER', 'MYID'));
  }

  /** Running nodes that are part of the cluster (know more than themselves). */
  liveNodes(): ClusterNode[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Masters holding slots, and their replicas, as the first live node sees them; sorted by port. */
  async layout(): Promise<MasterWithReplicas[]> {
    const lines = await this.clusterNodes(this.liveNodes()[0]!.addr);
    const masters = lines.filter((l) => l.flags.includes('master') && l.slots > 0 && !l.flags.includes('fail'));
    return masters
      .map((m) => ({ master: m.addr, id: m.id, replicas: lines.filter((l) => l.masterId === m.id && !l.flags.includes('fail')).map((l) => l.addr).sort(byPort) }))
      .sort((a, b) => byPort(a.master, b.master));
  }

  /**
   * Waits until every running node says cluster_state:ok, all agree on the roles, no node is
   * flagged fail/pfail/handshake, and every replica's link to its master is up.
   */
  async waitHealthy(timeoutMs = 30_000, expectedNodes?: number): Promise<void> {
    await waitFor(async () => {
      const live = this.liveNodes();
      const want = expectedNodes ?? live.length;
      let reference: string | undefined;
      for (const n of live) {
        const info = await this.clusterInfo(n.addr);
        if (info.get('cluster_state') !== 'ok' || Number(info.get('cluster_known_nodes')) !== want) return false;
        const lines = await this.clusterNodes(n.addr);
        if (lines.some((l) => l.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr') || l.link !== 'connected')) return false;
        const roles = lines.map((l) => `${l.id}:${l.flags.includes('master') ? 'm' : 's'}:${l.masterId ?? ''}:${l.slots}`).sort().join(',');
        if (reference === undefined) reference = roles;
        else if (reference !== roles) return false;
        const repl = String(await this.cmd(n.addr, 'INFO', 'replication'));
        if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
      }
      return true;
    }, timeoutMs, 'a healthy redis cluster', 250);
  }

  /** Waits until every running node's view satisfies `probe` (given the node's CLUSTER NODES and CLUSTER INFO). */
  async waitViews(what: string, probe: (lines: ClusterNodeLine[], info: Map<string, string>, addr: string) => boolean, timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      for (const n of this.liveNodes()) {
        if (!probe(await this.clusterNodes(n.addr), await this.clusterInfo(n.addr), n.addr)) return false;
      }
      return true;
    }, timeoutMs, what, 200);
  }

  /** `CLUSTER FAILOVER` on a replica: it becomes master, its master becomes its replica. */
  async failover(replicaAddr: string): Promise<void> {
    await this.cmd(replicaAddr, 'CLUSTER', 'FAILOVER');
    const id = await this.nodeId(replicaAddr);
    await this.waitViews(`${replicaAddr} to be master everywhere`, (lines) => {
      const me = lines.find((l) => l.id === id);
      return !!me && me.flags.includes('master') && me.slots > 0;
    });
    await this.waitHealthy();
  }

  /** kill -9 of one node. */
  async kill(addr: string): Promise<void> {
    await this.node(addr).daemon?.kill();
  }

  /** Starts a stopped or killed node again from its folder (same nodes.conf, same id). */
  async restart(addr: string): Promise<void> {
    const n = this.node(addr);
    if (n.running) await n.daemon!.stop();
    await this.startNode(n);
  }

  /** Stops a node, deletes its nodes.conf and data (a lost disk), and starts it: it comes back with a new id, alone. */
  async restartWithLostNodesConf(addr: string): Promise<{ oldId: string; newId: string }> {
    const n = this.node(addr);
    const oldId = await this.nodeId(addr);
    await n.daemon?.stop();
    rmSync(n.nodesConf, { force: true });
    rmSync(join(n.dir, 'dump.rdb'), { force: true });
    await this.startNode(n);
    return { oldId, newId: await this.nodeId(addr) };
  }

  /** `CLUSTER FORGET id` on every running node that knows it (the runbook's forget-noaddr). */
  async forget(id: string): Promise<void> {
    for (const n of this.liveNodes()) {
      const lines = await this.clusterNodes(n.addr);
      if (lines.some((l) => l.id === id && !l.flags.includes('myself'))) await this.cmd(n.addr, 'CLUSTER', 'FORGET', id);
    }
  }

  /** `CLUSTER MEET` from a member to `addr`; waits until everyone knows it. */
  async meet(addr: string, via: string): Promise<void> {
    const n = this.node(addr);
    await this.cmd(via, 'CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort);
    const id = await this.nodeId(addr);
    await this.waitViews(`${addr} to be known everywhere`, (lines) => lines.some((l) => l.id === id && !l.flags.includes('handshake')));
  }

  /** `CLUSTER REPLICATE` of `addr` to `masterAddr`; waits until the cluster is healthy again. */
  async replicate(addr: string, masterAddr: string): Promise<void> {
    await this.cmd(addr, 'CLUSTER', 'REPLICATE', await this.nodeId(masterAddr));
    await this.waitHealthy();
  }

  /** A new node joined with `redis-cli --cluster add-node`: a master without slots. */
  async addEmptyMaster(): Promise<ClusterNode> {
    const node = await this.newNode();
    const via = this.liveNodes()[0]!.addr;
    await run('redis-cli', ['--cluster', 'add-node', node.addr, via, ...this.cliAuth()], { timeoutMs: 60_000 });
    await this.waitHealthy();
    return node;
  }

  /** `redis-cli --cluster del-node`: forgets a (slot-less) node everywhere and shuts it down. */
  async removeNode(addr: string): Promise<void> {
    const id = await this.nodeId(addr);
    const via = this.liveNodes().find((n) => n.addr !== addr)!.addr;
    await run('redis-cli', ['--cluster', 'del-node', via, id, ...this.cliAuth()], { timeoutMs: 60_000 });
    const n = this.node(addr);
    await n.daemon?.stop();
    this.nodes.splice(this.nodes.indexOf(n), 1);
    await this.waitHealthy();
  }

  /**
   * Cuts the cluster bus towards a node: it announces a bus port nobody listens on, so its peers
   * cannot dial it (link-state disconnected) while it still reaches them and answers clients.
   * `undefined` restores its real bus port.
   */
  async cutBus(addr: string, closedPort: number | undefined): Promise<void> {
    await this.cmd(addr, 'CONFIG', 'SET', 'cluster-announce-bus-port', closedPort ?? 0);
    if (closedPort === undefined) await this.waitHealthy();
  }

  /**
   * Makes a node announce a client port nobody listens on: the cluster still sees it healthy
   * (the bus is untouched), but clients that dial the address in CLUSTER NODES are refused.
   * `undefined` restores its real port.
   */
  async announcePort(addr: string, port: number | undefined): Promise<void> {
    const id = await this.nodeId(addr);
    const want = `127.0.0.1:${port ?? this.node(addr).port}`;
    await this.cmd(addr, 'CONFIG', 'SET', 'cluster-announce-port', port ?? 0);
    // Peers re-dial a node whose announced address changed: wait until every link is back,
    // or the next assertion sees a transient "disconnected".
    await this.waitViews(`${addr} announced as ${want}`, (lines) => lines.some((l) => l.id === id && l.addr === want) && lines.every((l) => l.link === 'connected'));
  }

  /**
   * Cuts one node off the cluster bus both ways while clients still reach it: every node's bus
   * goes through a TcpProxy (announced as its bus port), the node dials its peers from 127.0.0.2
   * (bind-source-addr), then its own proxy drops everything and the others drop what comes from
   * 127.0.0.2. Any bus packet from a node counts as a sign of life, so cutting one direction
   * only (as cutBus does) never makes it pfail.
   */
  async isolateBus(addr: string): Promise<() => Promise<void>> {
    const node = this.node(addr);
    const proxies = new Map<ClusterNode, TcpProxy>();
    for (const n of this.liveNodes()) proxies.set(n, await TcpProxy.start(n.busPort));
    const undo = async () => {
      for (const p of proxies.values()) p.restore();
      await this.waitHealthy();
      await this.cmd(addr, 'CONFIG', 'SET', 'bind-source-addr', '');
      for (const n of proxies.keys()) await this.cmd(n.addr, 'CONFIG', 'SET', 'cluster-announce-bus-port', 0);
      // Every node must know every real bus port before the proxies go: two nodes that each
      // still dial the other's closed proxy would never meet again.
      await this.waitBusPorts(new Map([...proxies.keys()].map((n) => [n, n.busPort])));
      await this.waitHealthy();
      for (const p of proxies.values()) await p.close();
    };
    try {
      await this.cmd(addr, 'CONFIG', 'SET', 'bind-source-addr', ISOLATED_SOURCE);
      // A node whose peer announces a new bus port drops its link and dials the new one.
      for (const [n, p] of proxies) await this.cmd(n.addr, 'CONFIG', 'SET', 'cluster-announce-bus-port', p.port);
      // A healthy view is not enough: a node may still hold a link to a real bus port.
      await this.waitBusPorts(new Map([...proxies].map(([n, p]) => [n, p.port])));
      await this.waitHealthy();
      for (const [n, p] of proxies) {
        if (n === node) p.cut();
        else p.cut((from) => from === ISOLATED_SOURCE || from === `::ffff:${ISOLATED_SOURCE}`);
      }
    } catch (e) {
      await undo();
      throw e;
    }
    return undo;
  }

  /** Waits until every node's CLUSTER NODES gives each node in `ports` that bus port. */
  private async waitBusPorts(ports: ReadonlyMap<ClusterNode, number>): Promise<void> {
    const want = [...ports].map(([n, p]) => `${n.addr}@${p} `);
    await waitFor(async () => {
      for (const n of ports.keys()) {
        const text = String(await this.cmd(n.addr, 'CLUSTER', 'NODES'));
        if (!want.every((w) => text.includes(w))) return false;
      }
      return true;
    }, 30_000, 'every node to know the announced bus ports', 200);
  }

  /** Turns on requirepass (and masterauth, so replicas keep syncing) on every running node. */
  async setPassword(password: string | undefined): Promise<void> {
    for (const n of this.liveNodes()) {
      await this.cmd(n.addr, 'CONFIG', 'SET', 'masterauth', password ?? '', 'requirepass', password ?? '');
      // The connection that set it is already authenticated; later ones need it.
    }
    this.password = password;
  }

  private cliAuth(): string[] {
    const pki = this.tls;
    const tls = pki ? ['--tls', '--cacert', pki.caFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile] : [];
    return [...(this.password ? ['-a', this.password, '--no-auth-warning'] : []), ...tls];
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.daemon?.stop(5000)));
    removeDir(this.root);
  }
}

export function byPort(a: string, b: string): number {
  return Number(a.slice(a.lastIndexOf(':') + 1)) - Number(b.slice(b.lastIndexOf(':') + 1));
}
