/**
 * One full check cycle over 50 real redis-server processes (25 masters, 25 replicas) and a
 * MariaDB primary/replica pair: the agent against today's shell loop (redis-cli / mysql per node).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MONITOR_PASSWORD, MONITOR_USER } from '../test/harness/mariadb.js';
import { removeDir, tempDir, REPO_ROOT } from '../test/harness/proc.js';
import { writeConfig } from '../test/harness/cli.js';
import { launcherFlags } from './launcher-flags.js';
import { REDIS_PAIRS as PAIRS, startBenchServers, type BenchServers } from './servers.js';

export async function run(): Promise<void> {
  const dir = tempDir('bench-checks');
  let servers: BenchServers | undefined;
  try {
    servers = await startBenchServers(dir);
    const { masters, replicas, mysql } = servers;

    const cfg = writeConfig(dir, `
host: bench
state_dir: ${dir}/state
outputs:
  file: { path: ${dir}/check.log }
checks:
  mysql:
    - name: bench-db
      user: ${MONITOR_USER}
      password: ${MONITOR_PASSWORD}
      master: ${mysql.primary.address}
      slaves: [${mysql.replica.address}]
  redis:
    - name: bench
      masters: [${masters.map((n) => n.address).join(', ')}]
      slaves: [${replicas.map((n) => n.address).join(', ')}]
`);
    // Today's way: one client process per node, as the cron'd scripts do.
    const shell = `
set -u
for p in ${masters.map((n) => n.port).join(' ')}; do
  role=$(redis-cli -h 127.0.0.1 -p $p INFO replication | grep '^role:' | tr -d '\\r'); [ "$role" = "role:master" ] || echo "CRITICAL $p"
done
for p in ${replicas.map((n) => n.port).join(' ')}; do
  role=$(redis-cli -h 127.0.0.1 -p $p INFO replication | grep '^role:' | tr -d '\\r'); [ "$role" = "role:slave" ] || echo "CRITICAL $p"
done
mysql -h127.0.0.1 -P${mysql.primary.port} -u${MONITOR_USER} -p'${MONITOR_PASSWORD}' -N -e 'SHOW MASTER STATUS' >/dev/null
mysql -h127.0.0.1 -P${mysql.replica.port} -u${MONITOR_USER} -p'${MONITOR_PASSWORD}' -e 'SHOW SLAVE STATUS\\G' | grep -E 'Seconds_Behind_Master|Slave_(IO|SQL)_Running:' >/dev/null
`;
    const shellRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', shell], { encoding: 'utf8' });
      shellRuns.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0 || r.stdout.includes('CRITICAL')) throw new Error(`shell loop failed: ${r.stderr || r.stdout}`);
    }
    const agentRuns: { coldMs: number; warmMs: number; idleRssMb: number; peakRssMb: number; lines: number; problems: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const child = spawnSync(process.execPath, [...launcherFlags(), '--expose-gc', join(REPO_ROOT, 'dist/bench/checks-child.js'), cfg], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`agent child failed: ${child.stderr}`);
      agentRuns.push(JSON.parse(child.stdout.trim().split('\n').at(-1)!));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const shellMs = median(shellRuns);
    const cold = median(agentRuns.map((r) => r.coldMs));
    const warm = median(agentRuns.map((r) => r.warmMs));
    const a = agentRuns[0]!;
    const f = (n: number) => n.toFixed(1);
    process.stdout.write([
      `targets: ${PAIRS * 2} redis nodes + MariaDB primary and replica; ${a.lines / 2} lines per cycle, ${a.problems} problem lines (must be 0)`,
      `node flags (from bin/imom.js): ${launcherFlags().join(' ') || '(none)'}`,
      `shell loop (redis-cli/mysql per node), median of 3 : ${f(shellMs)} ms`,
      `agent, first cycle (connects to every node)       : ${f(cold)} ms   ratio ${f(shellMs / cold)}x`,
      `agent, steady-state cycle (kept connections)       : ${f(warm)} ms   ratio ${f(shellMs / warm)}x`,
      `agent RSS idle / peak during cycles                : ${f(median(agentRuns.map((r) => r.idleRssMb)))} MB / ${f(median(agentRuns.map((r) => r.peakRssMb)))} MB`,
      `targets: cycle < 1000 ms, >= 20x the shell loop, RSS < 80 MB`,
      '',
    ].join('\n'));
  } finally {
    await servers?.stop();
    removeDir(dir);
  }
}
