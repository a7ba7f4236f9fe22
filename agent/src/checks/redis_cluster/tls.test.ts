import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisCluster, byPort } from '../../../../test/harness/redis-cluster.js';
import { testPki, type TestPki } from '../../../../test/harness/pki.js';
import { removeDir, tempDir } from '../../../../test/harness/proc.js';
import type { Target } from '../../core/check.js';
import { formatLine } from '../../core/format.js';
import { redisClusterSchema } from './schema.js';
import { redisClusterTargets } from './check.js';

let pki: TestPki;
let c: RedisCluster;
let dir: string;

function target(cfg: Record<string, unknown>, state: string): Target {
  const inst = redisClusterSchema.parse({ name: 'cache', ...cfg });
  return redisClusterTargets(inst, { stateDir: join(dir, state) })[0]!;
}

async function lines(t: Target): Promise<string[]> {
  const res = await t.run({ signal: new AbortController().signal, timeoutMs: 5000 });
  return res.map(formatLine).map((l) => l.replace(/Used_Memory=\d+/, 'Used_Memory=*'));
}

describe('redis_cluster check over TLS against a real 6-node cluster (port 0, tls-port, tls-cluster yes, tls-replication yes, tls-auth-clients yes)', () => {
  let m1: string, r1: string, all: string[];
  let observed: Target;
  const tls = () => ({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile });

  before(async () => {
    dir = tempDir('redis-cluster-tls');
    pki = await testPki();
    c = await RedisCluster.start({ tls: pki });
    const layout = await c.layout();
    m1 = layout[0]!.master;
    r1 = layout[0]!.replicas[0]!;
    all = layout.flatMap((x) => [x.master, ...x.replicas]).sort(byPort);
    observed = target({ nodes: [m1], single_server: true, tls: tls() }, 'state');
  });
  after(async () => {
    await observed?.close?.();
    await c?.stop();
    removeDir(dir);
  });

  const memOk = () => all.map((a) => `Status=OK, Cluster=cache, Node=${a}, Used_Memory=*, Maxmemory=0, Used_Ratio=NULL`);
  const healthy = () => [
    'Status=OK, Cluster=cache, Cluster_State=ok, Nodes=6, Reachable_Nodes=6, Masters=3, Slaves=3, Slots_Assigned=16384, Slots_OK=16384, Slots_Pfail=0, Slots_Fail=0',
    'Status=OK, Cluster=cache, Server=127.0.0.1, Masters=3, Slaves=3, Even_Share=3',
    ...memOk(),
  ];

  test('healthy over TLS: every node found from one seed through CLUSTER NODES (its TLS ports), the OK lines', async () => {
    assert.deepEqual(await lines(observed), healthy());
  });

  test('a failover over TLS (CLUSTER FAILOVER): the replica failovered, the old master failbacked, then back', async () => {
    await c.failover(r1);
    try {
      assert.deepEqual(await lines(observed), [
        ...healthy().slice(0, 2),
        `ERROR: Node ${r1} is expected to be slave but found master (failovered)`,
        `ERROR: Node ${m1} is expected to be master but found slave (failbacked)`,
        ...memOk(),
      ]);
    } finally {
      await c.failover(m1);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('another CA: the cluster is unreachable, in words', async () => {
    const t = target({ nodes: [m1], tls: { ...tls(), ca_file: pki.otherCaFile } }, 'state-otherca');
    try {
      assert.deepEqual(await lines(t), [`CRITICAL: Cluster cache is unreachable, tried ${m1} (TLS handshake failed: the server certificate is not trusted: signed by an unknown CA)`]);
    } finally {
      await t.close?.();
    }
  });

  test('our client certificate expires within expiry_warning: one ERROR line after the cluster lines', async () => {
    const t = target({ nodes: [m1], single_server: true, tls: { ...tls(), cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile } }, 'state-soon');
    try {
      const got = await lines(t);
      assert.deepEqual(got.slice(0, -1), healthy());
      assert.match(got.at(-1)!, new RegExp(`^ERROR: TLS certificate ${pki.soonExpiringClient.certFile} \\(CN=imom-agent\\) expires \\S+Z, in \\d days?$`));
    } finally {
      await t.close?.();
    }
  });

  test('without a client certificate: the cluster is unreachable, in words', async () => {
    const t = target({ nodes: [m1], tls: { ca_file: pki.caFile } }, 'state-nocert');
    try {
      assert.deepEqual(await lines(t), [`CRITICAL: Cluster cache is unreachable, tried ${m1} (TLS handshake failed: the server requires a client certificate (cert_file and key_file are not set))`]);
    } finally {
      await t.close?.();
    }
  });
});
