/**
 * The heavy part of `npm run demo -- --all`: a 3-broker KRaft Kafka 4, a 2-node SolrCloud with
 * ZooKeeper and a 6-node Redis Cluster on loopback, checked by the real CLI
 * (`node bin/imom.js check --config FILE --once --only <check>`) while healthy, then after real
 * faults, in two rounds:
 *
 * 1. Kafka: a consumer group left behind (lag over the threshold) and the broker that holds the
 *    only replica of some partitions stopped (offline, under-replicated).
 *    Solr: a node stopped (its replicas down, gone from live_nodes, unreachable).
 *    Redis Cluster: CLUSTER FAILOVER on a replica (failovered/failbacked), then a master killed
 *    while its replica is held back (cluster_state fail, node in fail state).
 * 2. Kafka: the last ISR member stopped and an out-of-sync replica back (partitions without a leader).
 *    Redis Cluster: the replica takes over (no-slave, failovered) and an empty master joins (no-slot).
 *
 * Every server is stopped and every temp folder removed in `finally`, whatever happened.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startKafka, type KafkaCluster } from '../test/harness/kafka.js';
import { SolrCloud } from '../test/harness/solr.js';
import { RedisCluster } from '../test/harness/redis-cluster.js';
import { REPO_ROOT, removeDir, run, waitFor } from '../test/harness/proc.js';

export interface HeavyIo {
  say(s: string): void;
  show(line: string): void;
  dir: string;
}

const GROUP = 'analysis-weblog';
const LAG_THRESHOLD = 100;
type CheckName = 'kafka' | 'solr' | 'redis_cluster';

/** `node bin/imom.js check --config FILE --once --only NAME`: the LOG_FILE lines it printed. */
async function checkOnce(cfg: string, only: CheckName): Promise<string[]> {
  const r = await run(process.execPath, [join(REPO_ROOT, 'bin/imom.js'), 'check', '--config', cfg, '--once', '--only', only],
    { cwd: REPO_ROOT, allowFail: true, timeoutMs: 60_000 });
  if (r.code !== 0 && r.code !== 1) throw new Error(`imom check --only ${only} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Runs the CLI until its lines satisfy `ok` (a cluster takes a moment to notice a stopped broker); returns them. */
function untilLines(cfg: string, only: CheckName, what: string, ok: (lines: string[]) => boolean): Promise<string[]> {
  return waitFor(async () => { const l = await checkOnce(cfg, only); return ok(l) ? l : undefined; }, 60_000, what, 500);
}

/**
 * The checks at once (one CLI process each, or lines already read by `untilLines`), printed
 * under one heading per system.
 */
async function showChecks(io: HeavyIo, cfg: string, titles: Partial<Record<CheckName, string>>, ready: Partial<Record<CheckName, string[]>> = {}): Promise<void> {
  const which = Object.keys(titles) as CheckName[];
  const out = await Promise.all(which.map((c) => ready[c] ?? checkOnce(cfg, c)));
  which.forEach((c, i) => {
    io.say(titles[c]!);
    out[i]!.forEach((l) => io.show(l));
  });
}

/** Starts all three in parallel; if one fails, stops the ones that started and rethrows. */
async function startAll(): Promise<[KafkaCluster, SolrCloud, RedisCluster]> {
  const started = await Promise.allSettled([startKafka('4'), SolrCloud.start({ nodes: 2 }), RedisCluster.start({ nodeTimeoutMs: 2000 })] as const);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [KafkaCluster, SolrCloud, RedisCluster];
}

export async function heavyDemo(io: HeavyIo): Promise<void> {
  const t0 = Date.now();
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  mkdirSync(io.dir, { recursive: true });
  io.say('Starting Kafka 4 (KRaft: 1 controller + 3 brokers), SolrCloud (ZooKeeper + 2 Solr 9 nodes) and a Redis Cluster (3 masters + 3 replicas), in parallel');
  const [kafka, solr, redis] = await startAll();
  let admin: Admin | undefined;
  try {
    // ---- fixtures -------------------------------------------------------------------------
    const client = new Kafka({ clientId: 'demo', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING });
    admin = client.admin();
    const kafkaFixtures = async () => {
      await admin!.connect();
      await admin!.createTopics({
        waitForLeaders: true,
        topics: [
          // web: one replica per partition, p0,p3 on broker 1, p1,p4 on 2, p2,p5 on 3.
          { topic: 'web', replicaAssignment: [[1], [2], [3], [1], [2], [3]].map((replicas, partition) => ({ partition, replicas })) },
          // pay: two replicas, on brokers 1 and 3.
          { topic: 'pay', replicaAssignment: [[1, 3], [3, 1]].map((replicas, partition) => ({ partition, replicas })) },
        ],
      });
      const p = client.producer();
      await p.connect();
      for (let partition = 0; partition < 6; partition++) {
        await p.send({ topic: 'web', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `m${i}` })) });
      }
      await p.disconnect();
      // The group has read everything so far: its committed offsets are the end offsets.
      await admin!.setOffsets({ groupId: GROUP, topic: 'web', partitions: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: '10' })) });
    };
    const [, , layout] = await Promise.all([
      kafkaFixtures(),
      solr.createCollection('web', { numShards: 2, replicationFactor: 2 }),
      redis.layout(),
    ]);
    const [m1, m2, m3] = layout.map((x) => x.master) as [string, string, string];
    const [r1, r2, r3] = layout.map((x) => x.replicas[0]!) as [string, string, string];
    const [solrA, solrB] = solr.nodes as [SolrCloud['nodes'][number], SolrCloud['nodes'][number]];
    io.show(`Kafka brokers ${kafka.bootstrap.join(', ')}: topic web (6 partitions, 1 replica each), topic pay (2 partitions on brokers 1 and 3), group ${GROUP} up to date`);
    io.show(`SolrCloud ${solrA.address}, ${solrB.address} (ZooKeeper ${solr.zk.address}): collection web, 2 shards x 2 replicas`);
    io.show(`Redis Cluster masters ${m1}, ${m2}, ${m3}; replicas ${r1} (of ${m1}), ${r2} (of ${m2}), ${r3} (of ${m3})`);
    io.show(`ready after ${secs()}`);

    // ---- config -------------------------------------------------------------------------------
    const cfg = join(io.dir, 'imom-heavy.yaml');
    writeFileSync(cfg, `# written by the demo (--all)
env: demo
host: demo-host
interval: 60s
timeout: 8s
state_dir: ${io.dir}/state
outputs:
  file: { path: "${io.dir}/log/{check}.log" }
checks:
  kafka:
    - name: weblog
      brokers: [${kafka.bootstrap.join(', ')}]
      topics: [web, pay]
      consumer_groups:
        - { name: ${GROUP}, topics: [web] }
      lag_threshold: ${LAG_THRESHOLD}
  solr:
    - name: search
      mode: cloud
      url: [${solrA.url}, ${solrB.url}]
  redis_cluster:
    - name: cache
      nodes: [${[m1, m2, m3, r1, r2, r3].join(', ')}]
      # three "servers" on one loopback ip, each with one master and another master's replica
      servers: { A: [${m1}, ${r2}], B: [${m2}, ${r3}], C: [${m3}, ${r1}] }
`);
    io.say(`Healthy: node bin/imom.js check --config ${cfg} --once --only <check> (the Redis Cluster layout seen now is kept in the state folder as the intended one)`);
    await showChecks(io, cfg, {
      kafka: 'kafka: an OK line per topic/group, the per-partition lag line (for Grafana), under-replication and leader skew per topic',
      solr: 'solr: an OK line per Solr instance',
      redis_cluster: 'redis_cluster: cluster state, check-distribution per server, memory per node',
    });

    // ---- round 1 ------------------------------------------------------------------------------
    io.say(`Round 1 of faults: Kafka — ${GROUP} left behind (150 + 120 new messages on p1, p4) and broker 3 stopped; Solr — node ${solrB.address} stopped; Redis — CLUSTER FAILOVER on ${r1}, then kill -9 of master ${m3} (its replica held back)`);
    const kafkaRound1 = async () => {
      const p = client.producer();
      await p.connect();
      await p.send({ topic: 'web', acks: -1, messages: Array.from({ length: 150 }, (_, i) => ({ partition: 1, value: `late${i}` })) });
      await p.send({ topic: 'web', acks: -1, messages: Array.from({ length: 120 }, (_, i) => ({ partition: 4, value: `late${i}` })) });
      await p.disconnect();
      await kafka.stopBroker(3);
      // Until the controller has fenced broker 3 and shrunk the ISRs.
      return untilLines(cfg, 'kafka', 'web p2,p5 offline and pay under-replicated', (l) =>
        l.some((x) => x.includes(`Topic=web, Offline_Partitions=2 across brokers`)) && l.some((x) => x.includes('Topic=pay, Partitions=2, Under_Replicated_Partitions=2')));
    };
    const solrRound1 = async () => {
      await solrB.stop();
      await waitFor(async () => (await solr.replicas('web')).filter((x) => x.nodeName === solrB.nodeName).every((x) => x.state === 'down'), 30_000, 'the stopped node\'s replicas down');
    };
    const redisRound1 = async () => {
      await redis.failover(r1);
      await redis.cmd(r3, 'CONFIG', 'SET', 'cluster-replica-no-failover', 'yes');
      await redis.kill(m3);
      await redis.waitViews(`${m3} flagged fail`, (ls, info) => info.get('cluster_state') === 'fail' && ls.some((l) => l.addr === m3 && l.flags.includes('fail')));
    };
    const [kafkaLines1] = await Promise.all([kafkaRound1(), solrRound1(), redisRound1()]);
    io.say(`check --once after the faults (${secs()} in):`);
    await showChecks(io, cfg, {
      kafka: 'kafka: offline partitions (their only replica was on broker 3), lag over the threshold on 1 broker (p1, p4 are both led by broker 2), pay under-replicated',
      solr: `solr: ${solrB.address} holds down replicas, is missing from live_nodes and does not answer`,
      redis_cluster: `redis_cluster: cluster_state fail, ${m3} in fail state, ${r1} failovered and ${m1} failbacked`,
    }, { kafka: kafkaLines1 });

    // ---- round 2 ------------------------------------------------------------------------------
    io.say(`Round 2: Kafka — broker 1 (pay's last in-sync replica) stopped, broker 3 (out of sync) started again; Redis — ${r3} allowed to take over, and an empty master joined with redis-cli --cluster add-node`);
    const kafkaRound2 = async () => {
      await kafka.stopBroker(1);
      await kafka.startBroker(3);
      // pay: no leader although broker 3 is back; web: p2,p5 back on broker 3, p0,p3 gone with broker 1.
      return untilLines(cfg, 'kafka', 'pay without a leader', (l) =>
        l.some((x) => x.includes('CRITICAL: Topic=pay, Partitions_without_Leader=2 across brokers'))
        && l.some((x) => x.includes(`Topic=web, Offline_Partitions=2 across brokers`)));
    };
    const redisRound2 = async () => {
      await redis.cmd(r3, 'CONFIG', 'SET', 'cluster-replica-no-failover', 'no');
      await redis.waitViews(`${r3} to take over`, (ls, info) => info.get('cluster_state') === 'ok' && ls.some((l) => l.addr === r3 && l.flags.includes('master') && l.slots > 0));
      const extra = await redis.newNode();
      await run('redis-cli', ['--cluster', 'add-node', extra.addr, m1], { timeoutMs: 60_000 });
      await redis.waitViews(`${extra.addr} known everywhere`, (ls) => ls.filter((l) => l.addr === extra.addr && !l.flags.includes('handshake')).length === 1);
      return extra.addr;
    };
    const [kafkaLines2, extra] = await Promise.all([kafkaRound2(), redisRound2()]);
    io.say(`check --once after round 2 (${secs()} in):`);
    await showChecks(io, cfg, {
      kafka: 'kafka: pay has a live replica but no leader (unclean election is off); web p0,p3 offline with broker 1',
      redis_cluster: `redis_cluster: ${r3} took over (failovered, no slave), ${m3} still fail, ${extra} is a master without slots`,
    }, { kafka: kafkaLines2 });
    io.say(`Heavy part done in ${secs()}; stopping Kafka, Solr, ZooKeeper and the Redis Cluster`);
  } finally {
    await admin?.disconnect().catch(() => undefined);
    await Promise.allSettled([kafka.stop(), solr.stop(), redis.stop()]);
    removeDir(io.dir);
  }
}
