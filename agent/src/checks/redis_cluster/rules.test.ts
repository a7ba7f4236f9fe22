/** The rules over literal cluster views: no server, no file, no clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLine } from '../../core/format.js';
import type { LayoutFile } from './layout.js';
import type { NodeLine } from './parse.js';
import {
  clusterState, distribution, evaluate, failbacked, failovered, intendedLayout, memory, noSlave, noSlot, nodeStates, outsiders, unreachable,
} from './rules.js';
import { buildView, type ClusterSettings, type ClusterView, type Snapshot } from './view.js';

const settings: ClusterSettings = {
  name: 'cache', target: '127.0.0.1:7000', serverOf: new Map(), serverOrder: [], maxMasterSkew: 1, maxMemoryRatio: 0.9, singleServer: false,
};

const node = (id: string, port: number, flags: string, masterId?: string, slots = 0, link = 'connected'): NodeLine =>
  ({ id, addr: `127.0.0.1:${port}`, port, flags: new Set(flags.split(',')), masterId, link, slots });

/** m1..m3 on 7000..7002 with 5462/5461/5461 slots; s1..s3 on 7003..7005, s<i> the replica of m<i>. */
const healthyLines = (): NodeLine[] => [
  node('m1', 7000, 'master', undefined, 5462), node('m2', 7001, 'master', undefined, 5461), node('m3', 7002, 'master', undefined, 5461),
  node('s1', 7003, 'slave', 'm1'), node('s2', 7004, 'slave', 'm2'), node('s3', 7005, 'slave', 'm3'),
];

const okInfo = (known = 6) => new Map([
  ['cluster_state', 'ok'], ['cluster_known_nodes', String(known)], ['cluster_current_epoch', '6'],
  ['cluster_slots_assigned', '16384'], ['cluster_slots_ok', '16384'], ['cluster_slots_pfail', '0'], ['cluster_slots_fail', '0'],
]);
const noMemory = new Map([['used_memory', '1000'], ['maxmemory', '0']]);

/** Node `id`'s answer: every line as given, its own marked myself. */
function answer(id: string, lines: readonly NodeLine[], info = okInfo(lines.length), mem: ReadonlyMap<string, string> = noMemory): Snapshot {
  const nodes = lines.map((l) => (l.id === id ? { ...l, flags: new Set([...l.flags, 'myself']) } : l));
  const self = nodes.find((l) => l.id === id)!;
  return { via: self.addr, addr: self.addr, self, nodes, info, memory: mem };
}

function viewOf(snaps: Snapshot[], failed = new Map<string, string>(), s = settings): ClusterView {
  const v = buildView(s, { snaps, failed, tried: snaps.map((x) => x.via) });
  assert.ok(v);
  return v;
}

const healthy = () => viewOf(healthyLines().map((l) => answer(l.id, healthyLines())));
const text = (results: readonly Parameters<typeof formatLine>[0][]) => results.map(formatLine);

describe('redis_cluster rules over literal views', () => {
  test('a healthy cluster: one OK state line, OK distribution, no node lines, an OK memory line per node', () => {
    const v = healthy();
    assert.deepEqual(text(clusterState(v)), [
      'Status=OK, Cluster=cache, Cluster_State=ok, Nodes=6, Reachable_Nodes=6, Masters=3, Slaves=3, Slots_Assigned=16384, Slots_OK=16384, Slots_Pfail=0, Slots_Fail=0',
    ]);
    assert.deepEqual([...outsiders(v), ...nodeStates(v), ...noSlave(v), ...noSlot(v)], []);
    // Every node on one ip: one server holding every master and its own slave.
    assert.deepEqual(text(distribution(v)), ['Status=ERROR, Cluster=cache, Server=127.0.0.1, Masters=3, Slaves=3, Even_Share=3, Same_Server=127.0.0.1:7000>127.0.0.1:7003;127.0.0.1:7001>127.0.0.1:7004;127.0.0.1:7002>127.0.0.1:7005']);
    assert.equal(memory(v).length, 6);
    assert.equal(formatLine(memory(v)[0]!), 'Status=OK, Cluster=cache, Node=127.0.0.1:7000, Used_Memory=1000, Maxmemory=0, Used_Ratio=NULL');
  });

  test('no answer at all: one CRITICAL line with every address tried and each reason once', () => {
    const failed = new Map([['127.0.0.1:7000', 'connect ECONNREFUSED'], ['127.0.0.1:7001', 'connect ECONNREFUSED']]);
    assert.equal(buildView(settings, { snaps: [], failed, tried: [...failed.keys()] }), undefined);
    assert.deepEqual(text(unreachable(settings, { snaps: [], failed, tried: [...failed.keys()] })), [
      'CRITICAL: Cluster cache is unreachable, tried 127.0.0.1:7000, 127.0.0.1:7001 (connect ECONNREFUSED)',
    ]);
  });

  test('a master flagged fail: CRITICAL state and node lines; it is not alive for distribution or no-slave', () => {
    const seen = healthyLines().map((l) => (l.id === 'm3' ? { ...l, flags: new Set(['master', 'fail']), link: 'disconnected' } : l));
    const fail = new Map([...okInfo(), ['cluster_state', 'fail']]);
    const v = viewOf(healthyLines().filter((l) => l.id !== 'm3').map((l) => answer(l.id, seen, fail)), new Map([['127.0.0.1:7002', 'connect ECONNREFUSED']]));
    assert.deepEqual(text(clusterState(v)), ['CRITICAL: Cluster cache state is fail on 5 of 5 reachable nodes (127.0.0.1:7000, 127.0.0.1:7001, 127.0.0.1:7003, 127.0.0.1:7004, 127.0.0.1:7005)']);
    assert.deepEqual(text(nodeStates(v)), ['CRITICAL: Node 127.0.0.1:7002 is in fail state']);
    assert.deepEqual(v.alive.map((l) => l.id), ['m1', 'm2', 's1', 's2', 's3']);
    assert.deepEqual(noSlave(v), []);
  });

  test('node states: unreachable (by its reason) over pfail over disconnected; noaddr ids last, sorted', () => {
    const seen = [
      ...healthyLines().map((l) => (l.id === 's2' ? { ...l, flags: new Set(['slave', 'fail?']) } : l.id === 's3' ? { ...l, link: 'disconnected' } : l)),
      { ...node('zz-old', 0, 'slave,noaddr', 'm1'), addr: '' },
    ];
    const answering = ['m1', 'm2', 'm3', 's2', 's3'];
    const v = viewOf(answering.map((id) => answer(id, seen)), new Map([['127.0.0.1:7003', 'connect ECONNREFUSED 127.0.0.1:7003']]));
    assert.deepEqual(text(nodeStates(v)), [
      'ERROR: Node 127.0.0.1:7003 is unreachable (connect ECONNREFUSED 127.0.0.1:7003)',
      'ERROR: Node 127.0.0.1:7004 is in pfail state',
      'ERROR: Node 127.0.0.1:7005 is disconnected',
      'ERROR: Node zz-old is in noaddr state, remove it with CLUSTER FORGET',
    ]);
  });

  test('a node outside the cluster (lost nodes.conf) is its own ERROR line and not a member', () => {
    const lost: Snapshot = { ...answer('new', [node('new', 7004, 'master')], okInfo(1)) };
    const members = healthyLines();
    const v = viewOf([...members.filter((l) => l.id !== 's2').map((l) => answer(l.id, members)), lost]);
    assert.deepEqual(text(outsiders(v)), ['ERROR: Node 127.0.0.1:7004 is not part of cluster cache (cluster_known_nodes:1)']);
    assert.deepEqual(text(nodeStates(v)), ['ERROR: Node 127.0.0.1:7004 is unreachable (it answers as another node, new)']);
  });

  test('distribution: configured servers in config order, skew beyond max_master_skew is ERROR', () => {
    const lines = healthyLines();
    const piled: ClusterSettings = {
      ...settings, maxMasterSkew: 0, serverOrder: ['B', 'A'],
      serverOf: new Map([...['7000', '7001', '7002'].map((p) => [`127.0.0.1:${p}`, 'A'] as const), ...['7003', '7004', '7005'].map((p) => [`127.0.0.1:${p}`, 'B'] as const)]),
    };
    const v = viewOf(lines.map((l) => answer(l.id, lines)), new Map(), piled);
    assert.deepEqual(text(distribution(v)), [
      'Status=ERROR, Cluster=cache, Server=B, Masters=0, Slaves=3, Even_Share=1.5',
      'Status=ERROR, Cluster=cache, Server=A, Masters=3, Slaves=0, Even_Share=1.5',
    ]);
  });

  test('no-slave and no-slot: a master serving slots without a replica, a master without slots', () => {
    const lines = [...healthyLines().filter((l) => l.id !== 's3'), node('m4', 7006, 'master')];
    const v = viewOf(lines.map((l) => answer(l.id, lines)));
    assert.deepEqual(text(noSlave(v)), ['ERROR: Master 127.0.0.1:7002 has no slave']);
    assert.deepEqual(text(noSlot(v)), ['ERROR: Master 127.0.0.1:7006 has no slots']);
  });

  test('failovered and failbacked against an intended layout', () => {
    const lines = healthyLines().map((l) => (l.id === 'm1' ? { ...l, flags: new Set(['slave']), masterId: 's1', slots: 0 }
      : l.id === 's1' ? { ...l, flags: new Set(['master']), masterId: undefined, slots: 5462 } : l));
    const v = viewOf(lines.map((l) => answer(l.id, lines)));
    const intended = new Map([['127.0.0.1:7000', 'master'], ['127.0.0.1:7003', 'slave']] as const);
    assert.deepEqual(text(failovered(v, intended)), ['ERROR: Node 127.0.0.1:7003 is expected to be slave but found master (failovered)']);
    assert.deepEqual(text(failbacked(v, intended)), ['ERROR: Node 127.0.0.1:7000 is expected to be master but found slave (failbacked)']);
  });

  test('intended layout: a healthy cluster grows the observed baseline (sorted by address); a configured one is never saved', () => {
    const v = healthy();
    const now = new Date('2024-09-02T08:35:21.000Z');
    const first = intendedLayout(v, { kind: 'observed', file: undefined }, now);
    const saved: LayoutFile = first.save!;
    assert.deepEqual(first.save, {
      version: 1, cluster: 'cache', updated: '2024-09-02T08:35:21.000Z',
      nodes: { '127.0.0.1:7000': 'master', '127.0.0.1:7001': 'master', '127.0.0.1:7002': 'master', '127.0.0.1:7003': 'slave', '127.0.0.1:7004': 'slave', '127.0.0.1:7005': 'slave' },
    });
    // Nothing new: nothing to save; the file's roles stand, even where the cluster differs now.
    const file: LayoutFile = { ...saved, nodes: { ...saved.nodes, '127.0.0.1:7000': 'slave' } };
    const again = intendedLayout(v, { kind: 'observed', file }, now);
    assert.equal(again.save, undefined);
    assert.equal(again.intended?.get('127.0.0.1:7000'), 'slave');

    const configured = intendedLayout(v, { kind: 'configured', masters: new Set(['127.0.0.1:7003']) }, now);
    assert.equal(configured.save, undefined);
    assert.equal(configured.intended?.get('127.0.0.1:7003'), 'master');
    assert.equal(configured.intended?.get('127.0.0.1:7000'), 'slave');
    assert.deepEqual(intendedLayout(v, { kind: 'unreadable' }, now), { intended: undefined, save: undefined });
  });

  test('a cluster not ok is no baseline: nothing is added to the layout', () => {
    const fail = new Map([...okInfo(), ['cluster_state', 'fail']]);
    const v = viewOf(healthyLines().map((l) => answer(l.id, healthyLines(), fail)));
    assert.equal(intendedLayout(v, { kind: 'observed', file: undefined }, new Date()).save, undefined);
  });

  test('evaluate: rules 1-6 in head, failovered/failbacked and memory in tail; an unreadable layout checks neither', () => {
    const lines = healthyLines().map((l) => (l.id === 'm1' ? { ...l, flags: new Set(['slave']), masterId: 's1', slots: 0 }
      : l.id === 's1' ? { ...l, flags: new Set(['master']), masterId: undefined, slots: 5462 } : l));
    const v = viewOf(lines.map((l) => answer(l.id, lines)));
    const masters = new Set(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002']);
    const e = evaluate(v, { kind: 'configured', masters });
    assert.deepEqual(text(e.head), [...text(clusterState(v)), ...text(distribution(v))]);
    assert.deepEqual(text(e.tail).slice(0, 2), [
      'ERROR: Node 127.0.0.1:7003 is expected to be slave but found master (failovered)',
      'ERROR: Node 127.0.0.1:7000 is expected to be master but found slave (failbacked)',
    ]);
    assert.equal(e.tail.length, 2 + 6);
    assert.equal(evaluate(v, { kind: 'unreadable' }).tail.length, 6);
  });
});
