/**
 * A real 3-broker Kafka cluster in KRaft mode on loopback, run from the jars that
 * scripts/setup/maven.sh resolves into .cache/jars/kafka-<version>/.
 *
 * Topology: one dedicated controller (node id 100) and three brokers (node ids 1, 2, 3),
 * each a JVM with its own data folder under one temp folder. A dedicated controller
 * (rather than three combined broker+controller nodes) keeps the metadata quorum alive
 * when tests stop two brokers at once, which the "partition without a leader" case needs.
 *
 * The cluster is tuned for tests: small heaps (-Xmx256m), C1 only, six offsets-topic
 * partitions, no automatic preferred-leader rebalancing (so an unbalanced leadership
 * stays unbalanced until a test fixes it) and no unclean leader election.
 *
 * startSecureKafka (below) is a separate single node with SASL and TLS listeners.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePorts, removeDir, run, startDaemon, tempDir, waitFor, waitForPort, type Daemon } from './proc.js';
import { formatLine } from '../../agent/src/core/format.js';
import { kafkaTargets } from '../../agent/src/checks/kafka/check.js';
import type { KafkaInstance } from '../../agent/src/checks/kafka/schema.js';
import { testPki, type TestCert, type TestPki } from './pki.js';

/** One check cycle without the CLI, as the scheduler runs it (the signal aborts after `timeoutMs`), formatted. */
export async function kafkaCycle(inst: KafkaInstance, timeoutMs = 10_000): Promise<string[]> {
  const [t] = kafkaTargets(inst, { stateDir: '/nonexistent' });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`timeout after ${timeoutMs}ms`)), timeoutMs);
  try {
    return (await t!.run({ signal: ac.signal, timeoutMs })).map(formatLine);
  } finally {
    clearTimeout(timer);
  }
}

export type KafkaVersion = '3.9' | '4';

export const KAFKA_VERSIONS: readonly KafkaVersion[] = ['3.9', '4'];

/** The folder of jars for a version, as the Maven profile names it. */
export function kafkaJars(version: KafkaVersion): string {
  const dir = join(REPO_ROOT, '.cache', 'jars', `kafka-${version}`);
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run scripts/setup/maven.sh (npm run setup)`);
  return dir;
}

/** JVM options of every Kafka process the harness starts: small and quick to start on a shared 2-core box. */
const JVM_OPTS = ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k', '-Djava.awt.headless=true'];

/** Writes the log configuration files javaArgs points the JVM at into `dir`. */
export function writeLogConfigs(dir: string): void {
  writeFileSync(join(dir, 'log4j.properties'), LOG4J1);
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
  // Tools print their answer on stdout: their own log goes to stderr, warnings only.
  writeFileSync(join(dir, 'tools-log4j.properties'), 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n');
  writeFileSync(join(dir, 'tools-log4j2.properties'), 'status = warn\nappender.stderr.type = Console\nappender.stderr.name = STDERR\nappender.stderr.target = SYSTEM_ERR\nappender.stderr.layout.type = PatternLayout\nrootLogger.level = warn\nrootLogger.appenderRef.stderr.ref = STDERR\n');
}

const LOG4J1 = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
`;

const LOG4J2 = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
`;

/** `java -cp '<jars>/*' <jvm opts> <main> args...` with the version's log configuration. */
export function javaArgs(version: KafkaVersion, dir: string, main: string, args: readonly string[], opts: { tool?: boolean } = {}): string[] {
  const prefix = opts.tool ? 'tools-' : '';
  const log = version === '3.9'
    ? `-Dlog4j.configuration=file:${join(dir, `${prefix}log4j.properties`)}`
    : `-Dlog4j2.configurationFile=${join(dir, `${prefix}log4j2.properties`)}`;
  return [...JVM_OPTS, log, '-cp', `${kafkaJars(version)}/*`, main, ...args];
}

export interface KafkaBroker {
  readonly id: number;
  readonly port: number;
  /** `127.0.0.1:<port>`, as a config would list it. */
  readonly hostPort: string;
  readonly running: boolean;
}

export interface KafkaCluster {
  readonly version: KafkaVersion;
  readonly dir: string;
  readonly brokers: readonly KafkaBroker[];
  /** Every broker's host:port. */
  readonly bootstrap: string[];
  /** Stops broker `id` (1..3): SIGTERM, so it shuts down in a controlled way; `hard` sends SIGKILL. */
  stopBroker(id: number, opts?: { hard?: boolean }): Promise<void>;
  /** Starts a stopped broker again on the same port and data folder, and waits until it has registered. */
  startBroker(id: number): Promise<void>;
  restartBroker(id: number): Promise<void>;
  /** Stops every process and removes the temp folder. */
  stop(): Promise<void>;
  /**
   * Runs one of Kafka's command-line tools from the same jars, in a fresh JVM as the
   * shell scripts do: e.g. consumerGroups(['--describe', '--group', 'g']) is
   * `kafka-consumer-groups.sh --bootstrap-server ... --describe --group g`.
   */
  consumerGroups(args: readonly string[]): Promise<string>;
  /** Any Kafka tool's main class the same way, with `--bootstrap-server <live brokers>` first. */
  tool(main: string, args: readonly string[], opts?: { allowFail?: boolean }): Promise<string>;
}

/** The main classes behind bin/kafka-get-offsets.sh and bin/kafka-console-consumer.sh (kafka-tools, 3.9 and 4.x). */
export const GET_OFFSET_SHELL = 'org.apache.kafka.tools.GetOffsetShell';
export const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer';

const CONTROLLER_ID = 100;

/** The main class behind bin/kafka-consumer-groups.sh in 3.9 and 4.x (moved to kafka-tools in 3.7). */
export const CONSUMER_GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';

/**
 * Kafka's cluster id: 16 random bytes, base64url without padding. Like Kafka's Uuid.randomUuid,
 * draw again when it starts with '-': the storage tool would take `-t -xyz` for an option.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

interface Node {
  id: number;
  port: number;
  dir: string;
  props: string;
  log: string;
  daemon?: Daemon;
}

export async function startKafka(version: KafkaVersion, opts: { brokers?: number } = {}): Promise<KafkaCluster> {
  const count = opts.brokers ?? 3;
  kafkaJars(version);
  const dir = tempDir(`kafka-${version}`);
  writeLogConfigs(dir);
  const ports = await freePorts(count + 1);
  const controllerPort = ports[0]!;
  const voters = `${CONTROLLER_ID}@127.0.0.1:${controllerPort}`;
  const common = [
    `controller.quorum.voters=${voters}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.enable=false',
  ];

  const mk = (id: number, port: number, lines: string[]): Node => {
    const nodeDir = join(dir, id === CONTROLLER_ID ? 'controller' : `broker-${id}`);
    mkdirSync(nodeDir, { recursive: true });
    const props = join(nodeDir, 'server.properties');
    writeFileSync(props, [`node.id=${id}`, `log.dirs=${join(nodeDir, 'data')}`, ...common, ...lines, ''].join('\n'));
    return { id, port, dir: nodeDir, props, log: join(nodeDir, 'server.log') };
  };

  const controller = mk(CONTROLLER_ID, controllerPort, [
    'process.roles=controller',
    `listeners=CONTROLLER://127.0.0.1:${controllerPort}`,
  ]);
  const brokers: Node[] = [];
  for (let i = 1; i <= count; i++) {
    const port = ports[i]!;
    brokers.push(mk(i, port, [
      'process.roles=broker',
      `listeners=PLAINTEXT://127.0.0.1:${port}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      `offsets.topic.replication.factor=${Math.min(3, count)}`,
      'offsets.topic.num.partitions=6',
      `transaction.state.log.replication.factor=${Math.min(3, count)}`,
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=2',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'auto.leader.rebalance.enable=false',
      'unclean.leader.election.enable=false',
      'num.partitions=1',
      'log.flush.interval.messages=1000000',
      // Quicker reaction to a stopped broker, so tests wait less.
      'replica.lag.time.max.ms=5000',
      'broker.session.timeout.ms=6000',
      'broker.heartbeat.interval.ms=1000',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
    ]));
  }

  // Format every node's storage with one cluster id (one JVM per node, in parallel).
  const id = clusterId();
  await Promise.all([controller, ...brokers].map((n) =>
    run('java', javaArgs(version, dir, 'kafka.tools.StorageTool', ['format', '-t', id, '-c', n.props]), { timeoutMs: 120_000 })));

  const startNode = (n: Node) => {
    n.daemon = startDaemon(`kafka-${version}-${n.id}`, 'java', javaArgs(version, dir, 'kafka.Kafka', [n.props]), { cwd: n.dir, logFile: n.log });
  };
  /** Every start appends "Kafka Server started" to the node's log; wait for one more than before. */
  const startedCount = (n: Node) => (existsSync(n.log) ? readFileSync(n.log, 'utf8').split('Kafka Server started').length - 1 : 0);
  const waitStarted = async (n: Node, before: number) => {
    const exited = () => !!n.daemon && !n.daemon.alive();
    await waitFor(() => exited() || startedCount(n) > before, 120_000, `kafka ${version} node ${n.id} to start (log ${n.log})`, 250);
    if (exited()) throw new Error(`kafka ${version} node ${n.id} exited; see ${n.log}:\n${readFileSync(n.log, 'utf8').slice(-3000)}`);
    if (n.id !== CONTROLLER_ID) await waitForPort(n.port, 30_000, `kafka broker ${n.id}`);
  };

  const all = [controller, ...brokers];
  try {
    for (const n of all) startNode(n);
    await Promise.all(all.map((n) => waitStarted(n, 0)));
  } catch (e) {
    await Promise.all(all.map((n) => n.daemon?.kill()));
    throw e;
  }

  const byId = (bid: number): Node => {
    const n = brokers.find((b) => b.id === bid);
    if (!n) throw new Error(`no broker ${bid}`);
    return n;
  };
  const isRunning = (n: Node) => !!n.daemon && n.daemon.alive();

  const cluster: KafkaCluster = {
    version,
    dir,
    brokers: brokers.map((b) => ({
      id: b.id, port: b.port, hostPort: `127.0.0.1:${b.port}`,
      get running() { return isRunning(b); },
    })),
    bootstrap: brokers.map((b) => `127.0.0.1:${b.port}`),
    async stopBroker(bid, o = {}) {
      const n = byId(bid);
      if (!n.daemon) return;
      if (o.hard) await n.daemon.kill();
      else await n.daemon.stop(30_000);
    },
    async startBroker(bid) {
      const n = byId(bid);
      if (isRunning(n)) return;
      const before = startedCount(n);
      startNode(n);
      await waitStarted(n, before);
    },
    async restartBroker(bid) {
      await cluster.stopBroker(bid);
      await cluster.startBroker(bid);
    },
    async stop() {
      // Brokers first (their controlled shutdown needs the controller), then the controller.
      await Promise.all(brokers.map((b) => b.daemon?.stop(15_000)));
      await controller.daemon?.stop(15_000);
      removeDir(dir);
    },
    consumerGroups(args) {
      return cluster.tool(CONSUMER_GROUP_COMMAND, args);
    },
    async tool(main, args, opts = {}) {
      const live = brokers.filter(isRunning).map((b) => `127.0.0.1:${b.port}`);
      const r = await run('java', javaArgs(version, dir, main, ['--bootstrap-server', live.join(','), ...args], { tool: true }), { timeoutMs: 120_000, allowFail: opts.allowFail });
      return r.stdout;
    },
  };
  return cluster;
}

// ---------------------------------------------------------------- secured single node

/** SASL users of startSecureKafka: PLAIN from the listener's JAAS, SCRAM from `kafka-storage format --add-scram`. */
export interface KafkaSecureUsers {
  plain: { username: string; password: string };
  scram: { username: string; password: string };
}

export interface SecureKafka {
  readonly version: KafkaVersion;
  readonly dir: string;
  /** `127.0.0.1:<port>` of each listener of the one broker. */
  readonly listeners: { plaintext: string; saslPlaintext: string; ssl: string; saslSsl: string; mtls: string; wrongHost: string; expired: string; tls13: string };
  readonly users: KafkaSecureUsers;
  /** The harness's test CA (test/harness/pki.ts): the broker shows `server` on every TLS listener but `wrongHost` and `expired`. */
  readonly pki: TestPki;
  stop(): Promise<void>;
}

/**
 * One Kafka node in combined mode (broker + controller, one JVM) with a listener of every
 * security protocol on loopback: PLAINTEXT (for fixtures), SASL_PLAINTEXT, SSL and SASL_SSL.
 * Both SASL listeners enable PLAIN (user from the listener's inline JAAS) and
 * SCRAM-SHA-256/512 (credentials written into the metadata log by `format --add-scram`).
 * The SSL listener asks for no client certificate; MTLS (an SSL listener too) requires one
 * signed by the test CA. WRONGHOST and EXPIRED show the PKI's wrong-host and expired server
 * certificates, TLS13 allows TLS 1.3 only: the rest of the TLS failure matrix.
 */
export async function startSecureKafka(version: KafkaVersion): Promise<SecureKafka> {
  kafkaJars(version);
  const dir = tempDir(`kafka-secure-${version}`);
  writeLogConfigs(dir);
  const rnd = () => randomBytes(6).toString('hex');
  const users: KafkaSecureUsers = {
    plain: { username: 'alice', password: `plain-${rnd()}` },
    scram: { username: 'bob', password: `scram-${rnd()}` },
  };
  const [pki, [controllerPort, plaintext, saslPlaintext, ssl, saslSsl, mtls, wrongHost, expired, tls13]] = await Promise.all([testPki(), freePorts(9)]);
  const listeners = { PLAINTEXT: plaintext!, SASL_PLAINTEXT: saslPlaintext!, SSL: ssl!, SASL_SSL: saslSsl!, MTLS: mtls!, WRONGHOST: wrongHost!, EXPIRED: expired!, TLS13: tls13! };
  const keystore = (prefix: string, cert: TestCert) => [
    `${prefix}ssl.keystore.type=PKCS12`,
    `${prefix}ssl.keystore.location=${cert.p12File}`,
    `${prefix}ssl.keystore.password=${pki.password}`,
    `${prefix}ssl.key.password=${pki.password}`,
  ];
  const jaas = (l: string) => [
    `listener.name.${l}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${users.plain.username}="${users.plain.password}";`,
    `listener.name.${l}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
    `listener.name.${l}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
  ];
  const props = join(dir, 'server.properties');
  const log = join(dir, 'server.log');
  writeFileSync(props, [
    'node.id=1',
    'process.roles=broker,controller',
    `log.dirs=${join(dir, 'data')}`,
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    'controller.listener.names=CONTROLLER',
    `listeners=CONTROLLER://127.0.0.1:${controllerPort},${Object.entries(listeners).map(([n, p]) => `${n}://127.0.0.1:${p}`).join(',')}`,
    `advertised.listeners=${Object.entries(listeners).map(([n, p]) => `${n}://127.0.0.1:${p}`).join(',')}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,MTLS:SSL,WRONGHOST:SSL,EXPIRED:SSL,TLS13:SSL',
    'inter.broker.listener.name=PLAINTEXT',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    ...jaas('sasl_plaintext'),
    ...jaas('sasl_ssl'),
    ...keystore('', pki.server),
    ...keystore('listener.name.wronghost.', pki.wrongHost),
    ...keystore('listener.name.expired.', pki.expiredServer),
    'listener.name.tls13.ssl.enabled.protocols=TLSv1.3',
    'ssl.client.auth=none',
    // Kafka reads a PEM truststore itself (KIP-651): the CA file as the harness made it.
    'listener.name.mtls.ssl.client.auth=required',
    'listener.name.mtls.ssl.truststore.type=PEM',
    `listener.name.mtls.ssl.truststore.location=${pki.caFile}`,
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=2',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'num.partitions=1',
    '',
  ].join('\n'));
  const scram = (mech: string) => ['--add-scram', `${mech}=[name=${users.scram.username},password=${users.scram.password}]`];
  await run('java', javaArgs(version, dir, 'kafka.tools.StorageTool', [
    'format', '-t', clusterId(), '-c', props, ...scram('SCRAM-SHA-256'), ...scram('SCRAM-SHA-512'),
  ]), { timeoutMs: 120_000 });
  const daemon = startDaemon(`kafka-secure-${version}`, 'java', javaArgs(version, dir, 'kafka.Kafka', [props]), { cwd: dir, logFile: log });
  const exited = () => !daemon.alive();
  try {
    await waitFor(() => exited() || (existsSync(log) && readFileSync(log, 'utf8').includes('Kafka Server started')), 120_000, `secured kafka ${version} to start (log ${log})`, 250);
    if (exited()) throw new Error(`secured kafka ${version} exited; see ${log}:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    await Promise.all(Object.values(listeners).map((p) => waitForPort(p, 30_000, `kafka listener ${p}`)));
  } catch (e) {
    await daemon.kill();
    throw e;
  }
  const hp = (p: number) => `127.0.0.1:${p}`;
  return {
    version,
    dir,
    listeners: { plaintext: hp(plaintext!), saslPlaintext: hp(saslPlaintext!), ssl: hp(ssl!), saslSsl: hp(saslSsl!), mtls: hp(mtls!), wrongHost: hp(wrongHost!), expired: hp(expired!), tls13: hp(tls13!) },
    users,
    pki,
    async stop() {
      await daemon.stop(15_000);
      removeDir(dir);
    },
  };
}
