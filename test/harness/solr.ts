/**
 * Real Solr 9 nodes on loopback, from the jars that scripts/setup/maven.sh resolves into
 * .cache/jars/solr/ (Maven profile `solr` of test/pom.xml).
 *
 * Solr publishes no runnable server artifact, so each node is a JVM running
 * test/solr/SolrNode.java (compiled into .cache/solr-launcher/ by scripts/setup/solr.sh):
 * JettySolrRunner from solr-test-framework, i.e. the SolrDispatchFilter and CoreContainer
 * that bin/solr runs, on one port under the "/solr" context. node_name is
 * `127.0.0.1:<port>_solr`, as a production node started with SOLR_HOST=127.0.0.1 reports it.
 *
 * - SolrCloud: a Debian ZooKeeper (./zookeeper.ts) and N nodes with zkHost set; the
 *   configset test/solr/configsets/minimal is uploaded to ZooKeeper by the first node.
 * - Standalone: one node without ZooKeeper whose cores live in its Solr home, optionally
 *   with a core that fails to load (CoreAdmin STATUS initFailures) and basic auth.
 *
 * - HTTPS (`tls`): Jetty with a PKCS12 keystore from test/harness/pki.ts and, with
 *   needClientAuth, client certificates required from the test CA; SolrCloud gets the cluster
 *   property urlScheme=https before any node starts, so nodes call each other over HTTPS too.
 *
 * Heaps are small (-Xmx384m) because the machine is shared; stop() ends every JVM.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { javaTruststore, testPki, type TestCert } from './pki.js';
import { REPO_ROOT, freePorts, removeDir, run, startDaemon, tempDir, waitFor, type Daemon } from './proc.js';
import { ZOOKEEPER_JAR, ZooKeeper } from './zookeeper.js';
import { Scheduler } from '../../agent/src/core/scheduler.js';
import { formatLine } from '../../agent/src/core/format.js';
import { solrCheck } from '../../agent/src/checks/solr/index.js';

const SOLR_DIR = join(REPO_ROOT, 'test', 'solr');
export const CONFIGSET = join(SOLR_DIR, 'configsets', 'minimal', 'conf');

/** The folder of Solr jars, as the Maven profile names it. */
export function solrJars(): string {
  const dir = join(REPO_ROOT, '.cache', 'jars', 'solr');
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run scripts/setup/maven.sh (npm run setup)`);
  return dir;
}

function launcherDir(): string {
  const dir = join(REPO_ROOT, '.cache', 'solr-launcher');
  if (!existsSync(join(dir, 'SolrNode.class'))) throw new Error(`${dir}/SolrNode.class is missing: run scripts/setup/solr.sh (npm run setup)`);
  return dir;
}

const JVM_OPTS = ['-Xms64m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k', '-Djava.awt.headless=true'];

/** The credential Solr's BasicAuthPlugin stores: base64(sha256(sha256(salt + password))) + " " + base64(salt). */
export function basicAuthCredential(password: string, salt = randomBytes(32)): string {
  const once = createHash('sha256').update(salt).update(password, 'utf8').digest();
  const twice = createHash('sha256').update(once).digest();
  return `${twice.toString('base64')} ${salt.toString('base64')}`;
}

/** security.json with basic auth that blocks every unauthenticated request. */
export function securityJson(user: string, password: string): string {
  return JSON.stringify({
    authentication: { blockUnknown: true, class: 'solr.BasicAuthPlugin', forwardCredentials: false, credentials: { [user]: basicAuthCredential(password) } },
  }, null, 2);
}

export interface Auth {
  readonly user: string;
  readonly password: string;
}

/** One cycle of the solr check in-process, through the agent's scheduler and formatter: the lines in the order written. */
export async function solrCycle(dir: string, instance: Record<string, unknown>, timeoutMs = 10_000): Promise<string[]> {
  const inst = solrCheck.schema.parse({ name: 'search', ...instance });
  const targets = await solrCheck.targets(inst, { stateDir: dir });
  const lines: string[] = [];
  const s = new Scheduler(targets.map((target) => ({ check: 'solr', instance: 'search', target, intervalMs: 60_000, timeoutMs })),
    (rs) => lines.push(...rs.map(formatLine)));
  await s.runOnce();
  await s.stop();
  return lines;
}

/** HTTPS on a node: the certificate it shows, whether it requires a client certificate, the TLS versions it allows. */
export interface SolrTls {
  readonly cert: TestCert;
  readonly needClientAuth: boolean;
  /** e.g. `TLSv1.3`: Jetty refuses any other version. */
  readonly protocols?: string;
}

/** What the harness itself connects to an HTTPS node with: the test CA and the `client` certificate. */
let harnessAgent: Promise<Dispatcher> | undefined;
function harnessDispatcher(): Promise<Dispatcher> {
  harnessAgent ??= testPki().then((pki) => new Agent({ connect: { ca: readFileSync(pki.caFile), cert: readFileSync(pki.client.certFile), key: readFileSync(pki.client.keyFile) } }));
  return harnessAgent;
}

/** GET a Solr admin path (`/admin/cores?action=STATUS`) as JSON; throws on a non-2xx answer. */
export async function solrGet(baseUrl: string, path: string, auth?: Auth, timeoutMs = 60_000): Promise<any> {
  const sep = path.includes('?') ? '&' : '?';
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  const dispatcher = baseUrl.startsWith('https:') ? await harnessDispatcher() : undefined;
  const res = await undiciFetch(`${baseUrl}${path}${sep}wt=json`, { headers, signal: AbortSignal.timeout(timeoutMs), dispatcher });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** One Solr JVM. Its Solr home and port survive stop()/start(), like a restarted server. */
export class SolrNode {
  private daemon: Daemon | undefined;

  constructor(
    readonly home: string,
    readonly port: number,
    /** ZooKeeper connect string; cloud mode when set. */
    readonly zkHost?: string,
    readonly tls?: SolrTls,
  ) {
    mkdirSync(home, { recursive: true });
    if (!existsSync(join(home, 'solr.xml'))) {
      // Standalone: no zkHost entry at all (an empty one makes Solr try ZooKeeper anyway).
      let xml = readFileSync(join(SOLR_DIR, 'solr.xml'), 'utf8');
      if (!zkHost) xml = xml.replace(/^.*name="zkHost".*\n/m, '');
      writeFileSync(join(home, 'solr.xml'), xml);
    }
  }

  /** `127.0.0.1:<port>`: what the check's lines call the Solr instance. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The base URL a config lists: `http://127.0.0.1:<port>/solr` (https with tls). */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${this.address}/solr`;
  }

  /** As Solr names the node in live_nodes and in replicas. */
  get nodeName(): string {
    return `${this.address}_solr`;
  }

  get running(): boolean {
    return this.daemon !== undefined && this.daemon.alive();
  }

  get logFile(): string {
    return join(this.home, 'solr.log');
  }

  /** Starts the JVM and resolves once it serves requests (SolrNode prints SOLR_NODE_READY). */
  async start(extraArgs: readonly string[] = []): Promise<void> {
    if (this.running) return;
    const from = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const args = [
      ...JVM_OPTS,
      `-Dlog4j2.configurationFile=${join(SOLR_DIR, 'log4j2.xml')}`,
      `-Dsolr.log.dir=${this.home}`,
      '-cp', `${solrJars()}/*:${launcherDir()}`,
      'SolrNode', '--home', this.home, '--port', String(this.port), '--host', '127.0.0.1',
      ...(this.zkHost ? ['--zk', this.zkHost] : []),
      ...(await this.tlsArgs()),
      ...extraArgs,
    ];
    const env = this.tls ? { IMOM_SOLR_SSL_PASSWORD: (await testPki()).password } : undefined;
    const d = startDaemon(`solr-${this.port}`, 'java', args, { cwd: this.home, logFile: this.logFile, env });
    this.daemon = d;
    try {
      let exited = false;
      void d.exited.then(() => (exited = true));
      await waitFor(() => {
        if (exited) return 'exited';
        return readFileSync(this.logFile, 'utf8').slice(from).includes('SOLR_NODE_READY');
      }, 120_000, `solr on ${this.address}`, 250);
      if (exited) throw new Error(`solr on ${this.address} exited while starting; see ${this.logFile}`);
    } catch (e) {
      await d.kill();
      throw e;
    }
  }

  private async tlsArgs(): Promise<string[]> {
    if (!this.tls) return [];
    return ['--ssl-keystore', this.tls.cert.p12File, '--ssl-truststore', await javaTruststore(),
      '--ssl-need-client-auth', String(this.tls.needClientAuth), ...(this.tls.protocols ? ['--ssl-protocols', this.tls.protocols] : [])];
  }

  /** SIGTERM: a controlled shutdown, in which the node publishes its replicas as down. */
  async stop(): Promise<void> {
    await this.daemon?.stop(30_000);
  }

  /** SIGKILL: the node vanishes from live_nodes, its replicas keep their last published state. */
  async kill(): Promise<void> {
    await this.daemon?.kill();
  }
}

export interface ReplicaInfo {
  readonly collection: string;
  readonly shard: string;
  readonly core: string;
  readonly nodeName: string;
  readonly state: string;
  readonly leader: boolean;
}

/** ZooKeeper plus N Solr nodes in cloud mode; one per test file. */
export class SolrCloud {
  private constructor(
    readonly dir: string,
    readonly zk: ZooKeeper,
    readonly nodes: readonly SolrNode[],
  ) {}

  /** `tls`: one per node, all HTTPS (urlScheme=https), each with its own certificate and versions. */
  static async start(opts: { nodes?: number; tls?: readonly SolrTls[] } = {}): Promise<SolrCloud> {
    solrJars();
    launcherDir();
    const dir = tempDir('solrcloud');
    let zk: ZooKeeper | undefined;
    const nodes: SolrNode[] = [];
    try {
      zk = await ZooKeeper.start({ dir: join(dir, 'zookeeper') });
      const ports = await freePorts(opts.tls?.length ?? opts.nodes ?? 2);
      for (const [i, port] of ports.entries()) nodes.push(new SolrNode(join(dir, `node${i + 1}`), port, zk.address, opts.tls?.[i]));
      const cloud = new SolrCloud(dir, zk, nodes);
      if (opts.tls) {
        // urlScheme before any node registers, or the nodes would publish http:// base URLs.
        const props = join(dir, 'clusterprops.json');
        writeFileSync(props, JSON.stringify({ urlScheme: 'https' }));
        await cloud.zkOnly(['--configset', `minimal=${CONFIGSET}`, '--zk-file', `/clusterprops.json=${props}`]);
        await Promise.all(nodes.map((n) => n.start()));
      } else {
        // The first node uploads the configset before it starts; the others start alongside it.
        await Promise.all(nodes.map((n, i) => n.start(i === 0 ? ['--configset', `minimal=${CONFIGSET}`] : [])));
      }
      await waitFor(async () => (await cloud.liveNodes()).length === nodes.length, 60_000, 'every node in live_nodes');
      return cloud;
    } catch (e) {
      await Promise.allSettled(nodes.map((n) => n.kill()));
      await zk?.stop();
      removeDir(dir);
      throw e;
    }
  }

  /** A node that answers, to send admin requests to. */
  private anyRunning(): SolrNode {
    const n = this.nodes.find((x) => x.running);
    if (!n) throw new Error('no Solr node is running');
    return n;
  }

  async clusterStatus(): Promise<any> {
    return (await solrGet(this.anyRunning().url, '/admin/collections?action=CLUSTERSTATUS')).cluster;
  }

  async liveNodes(): Promise<string[]> {
    return (await this.clusterStatus()).live_nodes ?? [];
  }

  async replicas(collection?: string): Promise<ReplicaInfo[]> {
    const cs = await this.clusterStatus();
    const out: ReplicaInfo[] = [];
    for (const [c, col] of Object.entries<any>(cs.collections ?? {})) {
      if (collection && c !== collection) continue;
      for (const [s, shard] of Object.entries<any>(col.shards ?? {})) {
        for (const r of Object.values<any>(shard.replicas ?? {})) {
          out.push({ collection: c, shard: s, core: r.core, nodeName: r.node_name, state: r.state, leader: r.leader === 'true' });
        }
      }
    }
    return out;
  }

  /**
   * Creates a collection with `replicationFactor` replicas of each shard (Solr spreads
   * them over the nodes) and waits until every replica is active and every shard has a leader.
   */
  async createCollection(name: string, opts: { numShards?: number; replicationFactor?: number; onNodes?: readonly SolrNode[] } = {}): Promise<void> {
    const q = new URLSearchParams({
      action: 'CREATE', name, 'collection.configName': 'minimal',
      numShards: String(opts.numShards ?? 1), replicationFactor: String(opts.replicationFactor ?? this.nodes.length),
      ...(opts.onNodes ? { createNodeSet: opts.onNodes.map((n) => n.nodeName).join(',') } : {}),
    });
    await solrGet(this.anyRunning().url, `/admin/collections?${q}`, undefined, 120_000);
    await this.waitHealthy(name);
  }

  /** Until every replica of `collection` is active on a live node and each shard has a leader. */
  async waitHealthy(collection: string, timeoutMs = 90_000): Promise<void> {
    await waitFor(async () => {
      const live = new Set(await this.liveNodes());
      const rs = await this.replicas(collection);
      const leaders = new Set(rs.filter((r) => r.leader && r.state === 'active').map((r) => r.shard));
      return rs.length > 0 && rs.every((r) => r.state === 'active' && live.has(r.nodeName)) && new Set(rs.map((r) => r.shard)).size === leaders.size;
    }, timeoutMs, `collection ${collection} healthy`, 300);
  }

  /** Until every shard of `collection` has an active leader on `node` (after the other node went). */
  async waitLeadersOn(collection: string, node: SolrNode, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => {
      const rs = await this.replicas(collection);
      const shards = new Set(rs.map((r) => r.shard));
      return [...shards].every((s) => rs.some((r) => r.shard === s && r.leader && r.state === 'active' && r.nodeName === node.nodeName));
    }, timeoutMs, `every shard of ${collection} led from ${node.address}`, 300);
  }

  /** How many replicas each node holds: `{ '127.0.0.1:8983_solr': 2, ... }`. */
  async replicasPerNode(collection?: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.replicas(collection)) out[r.nodeName] = (out[r.nodeName] ?? 0) + 1;
    return out;
  }

  /** The data of a znode, read with Debian's ZooKeeper CLI. */
  async zkGet(path: string): Promise<string> {
    const r = await run('java', ['-Xmx64m', '-cp', ZOOKEEPER_JAR, 'org.apache.zookeeper.ZooKeeperMain', '-server', this.zk.address, 'get', path], { timeoutMs: 60_000 });
    // The CLI prints connection chatter first; the data (pretty-printed JSON) starts on a line of its own.
    const from = r.stdout.search(/^\{/m);
    const to = r.stdout.lastIndexOf('}');
    if (from < 0 || to < from) throw new Error(`zkGet ${path}: no JSON in ${r.stdout.slice(0, 500)}`);
    return r.stdout.slice(from, to + 1);
  }

  /** Writes a znode, with Solr's own ZooKeeper client (SolrNode --zk-only). */
  async zkPut(path: string, data: string): Promise<void> {
    const file = join(this.dir, `znode-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(file, data);
    await this.zkOnly(['--zk-file', `${path}=${file}`]);
  }

  /** SolrNode's ZooKeeper writes (--configset, --zk-file) without starting a node. */
  private async zkOnly(args: readonly string[]): Promise<void> {
    await run('java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${join(SOLR_DIR, 'log4j2.xml')}`,
      '-cp', `${solrJars()}/*:${launcherDir()}`, 'SolrNode', '--zk', this.zk.address, ...args, '--zk-only', 'true'], { timeoutMs: 60_000 });
  }

  /**
   * Publishes `state` for one replica the way the Overseer would, by rewriting the
   * collection's state.json in ZooKeeper. Solr's nodes pick it up through their watch,
   * so CLUSTERSTATUS reports it; nothing else about the replica changes. For states a test
   * cannot provoke on demand (recovery_failed takes hundreds of failed recoveries).
   */
  async publishReplicaState(collection: string, core: string, state: string): Promise<void> {
    const path = `/collections/${collection}/state.json`;
    const json = JSON.parse(await this.zkGet(path));
    let found = false;
    for (const sh of Object.values<any>(json[collection].shards)) {
      for (const rep of Object.values<any>(sh.replicas)) if (rep.core === core) { rep.state = state; found = true; }
    }
    if (!found) throw new Error(`no replica ${core} in ${collection}`);
    await this.zkPut(path, JSON.stringify(json));
    await waitFor(async () => (await this.replicas(collection)).some((r) => r.core === core && r.state === state), 30_000, `${core} ${state} in CLUSTERSTATUS`);
  }

  /** Stops every node, then ZooKeeper, and removes the folder. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    await this.zk.stop();
    removeDir(this.dir);
  }
}

/** One standalone node (no ZooKeeper): cores in its Solr home, for CoreAdmin STATUS. */
export class SolrStandalone {
  private constructor(
    readonly dir: string,
    readonly node: SolrNode,
  ) {}

  /**
   * `cores` load from the minimal configset; each of `brokenCores` has a solrconfig.xml that
   * does not parse, so it fails to load and CoreAdmin STATUS lists it under initFailures.
   * With `auth`, security.json turns on basic auth for every request.
   */
  static async start(opts: { cores?: readonly string[]; brokenCores?: readonly string[]; auth?: Auth; tls?: SolrTls } = {}): Promise<SolrStandalone> {
    solrJars();
    launcherDir();
    const dir = tempDir('solr-standalone');
    const [port] = await freePorts(1);
    const home = join(dir, 'home');
    const node = new SolrNode(home, port!, undefined, opts.tls);
    for (const core of opts.cores ?? ['main']) {
      cpSync(CONFIGSET, join(home, core, 'conf'), { recursive: true });
      writeFileSync(join(home, core, 'core.properties'), `name=${core}\n`);
    }
    for (const core of opts.brokenCores ?? []) {
      cpSync(CONFIGSET, join(home, core, 'conf'), { recursive: true });
      writeFileSync(join(home, core, 'conf', 'solrconfig.xml'), '<config><luceneMatchVersion>9.12</luceneMatchVersion>\n<this is not xml\n');
      writeFileSync(join(home, core, 'core.properties'), `name=${core}\n`);
    }
    if (opts.auth) writeFileSync(join(home, 'security.json'), securityJson(opts.auth.user, opts.auth.password));
    try {
      await node.start();
    } catch (e) {
      removeDir(dir);
      throw e;
    }
    return new SolrStandalone(dir, node);
  }

  async stop(): Promise<void> {
    await this.node.stop();
    removeDir(this.dir);
  }
}
