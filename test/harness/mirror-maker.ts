/**
 * MirrorMaker 2 in dedicated mode (org.apache.kafka.connect.mirror.MirrorMaker, what
 * bin/connect-mirror-maker.sh runs) between two harness clusters, from the same jars
 * (connect-mirror and connect-runtime in test/pom.xml).
 *
 * One flow, <source alias> -> <target alias>. The reverse flow is disabled, but MM2 still runs its
 * heartbeat connector (emit.heartbeats for disabled flows is on by default), which writes
 * `heartbeats` on the source; the forward flow replicates it to `<source alias>.heartbeats` on the
 * target, where the check reads the replication latency.
 *
 * Tuned for tests: every internal topic with replication factor 1 (the target has one broker),
 * new topics found every 2 s (refresh.topics.interval.seconds, default 600), offsets committed
 * every second (<alias>.offset.flush.interval.ms, default 60000), no checkpoints or config/ACL sync
 * (not what the check reads; each is another connector on two shared cores), no REST server.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir, removeDir, waitFor, type Daemon } from './proc.js';
import { javaArgs, writeLogConfigs, type KafkaCluster } from './kafka.js';

export const MIRROR_MAKER_MAIN = 'org.apache.kafka.connect.mirror.MirrorMaker';
export const IDENTITY_POLICY = 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy';

export interface MirrorMakerOptions {
  source: KafkaCluster;
  target: KafkaCluster;
  sourceAlias: string;
  targetAlias: string;
  /** MM2's `topics` regex list for the flow, e.g. `web.*` */
  topics: string;
  policy?: 'default' | 'identity';
}

export interface MirrorMaker {
  readonly dir: string;
  readonly log: string;
  readonly running: boolean;
  /** SIGTERM; `hard` sends SIGKILL. */
  stop(opts?: { hard?: boolean }): Promise<void>;
  /** Starts it again with the same properties; waits until the source connector's task runs. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** The properties file of the flow, as an operator's mm2.properties. */
export function mirrorMakerProperties(o: MirrorMakerOptions): string {
  const s = o.sourceAlias;
  const t = o.targetAlias;
  return [
    `clusters=${s},${t}`,
    `${s}.bootstrap.servers=${o.source.bootstrap.join(',')}`,
    `${t}.bootstrap.servers=${o.target.bootstrap.join(',')}`,
    `${s}->${t}.enabled=true`,
    `${s}->${t}.topics=${o.topics}`,
    `${t}->${s}.enabled=false`,
    ...(o.policy === 'identity' ? [`replication.policy.class=${IDENTITY_POLICY}`] : []),
    'tasks.max=1',
    'replication.factor=1',
    'checkpoints.topic.replication.factor=1',
    'heartbeats.topic.replication.factor=1',
    'offset-syncs.topic.replication.factor=1',
    // On the target: on the source (the default) a killed source broker holding that one-partition
    // topic blocks the task's offset-sync producer for a minute (max.block.ms).
    'offset-syncs.topic.location=target',
    'offset.storage.replication.factor=1',
    'status.storage.replication.factor=1',
    'config.storage.replication.factor=1',
    'refresh.topics.interval.seconds=2',
    'refresh.groups.interval.seconds=600',
    'emit.heartbeats.interval.seconds=1',
    'emit.checkpoints.enabled=false',
    'sync.group.offsets.enabled=false',
    'sync.topic.configs.enabled=false',
    'sync.topic.acls.enabled=false',
    'dedicated.mode.enable.internal.rest=false',
    // Worker settings take the cluster's prefix (MM2 ignores a top-level one): offsets committed
    // every second (default 60000), and a restarted worker gets its tasks back at once, not after
    // up to 5 minutes (scheduled.rebalance.max.delay.ms, default 300000).
    ...[s, t].flatMap((alias) => [`${alias}.offset.flush.interval.ms=1000`, `${alias}.scheduled.rebalance.max.delay.ms=0`]),
    '',
  ].join('\n');
}

export async function startMirrorMaker(o: MirrorMakerOptions): Promise<MirrorMaker> {
  const version = o.source.version;
  const dir = tempDir(`mm2-${version}`);
  writeLogConfigs(dir);
  const props = join(dir, 'mm2.properties');
  writeFileSync(props, mirrorMakerProperties(o));
  const log = join(dir, 'mm2.log');
  let daemon: Daemon | undefined;
  const flow = `${o.sourceAlias}->${o.targetAlias}`;
  /** MirrorSourceTask logs this once its consumer is assigned: replication has begun. */
  const readyCount = () => (existsSync(log) ? readFileSync(log, 'utf8').split("{id=MirrorSourceConnector-0} Source task finished initialization").length - 1 : 0);

  const mm: MirrorMaker = {
    dir,
    log,
    get running() { return !!daemon && daemon.alive(); },
    async stop(opts = {}) {
      if (!daemon) return;
      if (opts.hard) await daemon.kill();
      else await daemon.stop(30_000);
      daemon = undefined;
    },
    async start() {
      if (mm.running) return;
      const before = readyCount();
      daemon = startDaemon(`mm2-${version}`, 'java', javaArgs(version, dir, MIRROR_MAKER_MAIN, [props]), { cwd: dir, logFile: log });
      const d = daemon;
      await waitFor(() => !d.alive() || readyCount() > before, 180_000, `MirrorMaker 2 ${flow} to start replicating (log ${log})`, 500);
      if (!d.alive()) throw new Error(`MirrorMaker 2 exited; see ${log}:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    },
    async close() {
      await mm.stop();
      removeDir(dir);
    },
  };
  try {
    await mm.start();
  } catch (e) {
    await mm.stop({ hard: true });
    throw e;
  }
  return mm;
}
