/**
 * Footprint against Telegraf: Telegraf v1.37 (built by scripts/setup/telegraf.sh with only
 * inputs.mysql, inputs.redis and outputs.file) and `imom agent` (bin/imom.js with the launcher's V8
 * flags, on this project's Node) watch the same 50 redis-server processes and MariaDB pair at the
 * same interval, one after the other, for the same number of cycles counted from the lines each
 * writes. CPU is utime+stime from /proc; idle RSS is sampled half an interval after a cycle's line.
 * Telegraf runs a second time without SHOW GLOBAL VARIABLES, to see how much of its CPU is data
 * iMom does not read.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONITOR_PASSWORD, MONITOR_USER } from '../test/harness/mariadb.js';
import { CACHE_BIN, removeDir, sleep, startDaemon, tempDir, REPO_ROOT } from '../test/harness/proc.js';
import { writeConfig } from '../test/harness/cli.js';
import { launcherFlags } from './launcher-flags.js';
import { procUsage, type ProcUsage } from './proc-usage.js';
import { startBenchServers, type BenchServers } from './servers.js';

const INTERVAL_S = Number(process.env.IMOM_BENCH_FOOTPRINT_INTERVAL_S ?? 1);
const CYCLES = Number(process.env.IMOM_BENCH_FOOTPRINT_CYCLES ?? 100);
// Cycles let pass before measuring: the first opens every connection and both runtimes warm up.
const WARMUP_CYCLES = 5;
// Flags added to the launcher's for the agent only, to try one (e.g. --lite-mode); none by default.
const EXTRA_NODE_FLAGS = (process.env.IMOM_BENCH_FOOTPRINT_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
// How often the output file and /proc are read: 20 per 1 s interval, cheap for the bench process.
const POLL_MS = 50;

interface Contender {
  name: string;
  cmd: string;
  args: string[];
  /** The file its lines go to. */
  out: string;
  /** One line per cycle: the first Redis master's. */
  cycleLine: RegExp;
  /** The replica's replication line, to show it is checked too. */
  replicaLine: RegExp;
  /** A line saying a check failed or was skipped (must be none). */
  problemLine?: RegExp;
}

type Rss = Pick<ProcUsage, 'rssMb' | 'rssAnonMb' | 'rssFileMb'>;

interface Footprint {
  cpuPer100: number;
  startupCpu: number;
  idle: Rss;
  peakRssMb: number;
  problems: string[];
  linesPerCycle: number;
  replicaLines: number;
  cycles: number;
}

/** New whole lines appended to a file since the last call. */
function tailer(path: string): () => string[] {
  let offset = 0;
  let rest = '';
  const buf = Buffer.alloc(1 << 20);
  return () => {
    let fd: number;
    try { fd = openSync(path, 'r'); } catch { return []; } // not created yet
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0;) { offset += n; rest += buf.toString('utf8', 0, n); }
    } finally { closeSync(fd); }
    const lines = rest.split('\n');
    rest = lines.pop()!;
    return lines;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(c: Contender, dir: string): Promise<Footprint> {
  const daemon = startDaemon(`footprint-${c.name}`, c.cmd, c.args, { logFile: join(dir, `${c.name}.stderr.log`) });
  try {
    const read = tailer(c.out);
    const deadline = Date.now() + (WARMUP_CYCLES + CYCLES) * INTERVAL_S * 3_000 + 60_000;
    let cycles = 0;
    let lines = 0;
    let replicaLines = 0;
    let start: { cpu: number; lines: number } | undefined;
    let idleAt: number | undefined;
    const idle: ProcUsage[] = [];
    const problems: string[] = [];
    for (;;) {
      if (!daemon.alive()) throw new Error(`${c.name} exited; see ${daemon.logFile}`);
      if (Date.now() > deadline) throw new Error(`${c.name}: ${cycles} cycles by the deadline; see ${daemon.logFile}`);
      for (const l of read()) {
        lines++;
        if (c.replicaLine.test(l)) replicaLines++;
        if (c.problemLine?.test(l)) problems.push(l);
        if (!c.cycleLine.test(l)) continue;
        cycles++;
        if (cycles === WARMUP_CYCLES) start = { cpu: procUsage(daemon.pid).cpuSeconds, lines };
        if (cycles > WARMUP_CYCLES) idleAt = Date.now() + (INTERVAL_S * 1000) / 2;
      }
      if (idleAt !== undefined && Date.now() >= idleAt) { idle.push(procUsage(daemon.pid)); idleAt = undefined; }
      if (start && cycles >= WARMUP_CYCLES + CYCLES) {
        const end = procUsage(daemon.pid);
        if (replicaLines === 0) throw new Error(`${c.name} wrote no replica line: is the replica checked?`);
        return {
          cpuPer100: ((end.cpuSeconds - start.cpu) * 100) / (cycles - WARMUP_CYCLES),
          startupCpu: start.cpu,
          idle: { rssMb: median(idle.map((u) => u.rssMb)), rssAnonMb: median(idle.map((u) => u.rssAnonMb)), rssFileMb: median(idle.map((u) => u.rssFileMb)) },
          problems,
          peakRssMb: end.peakRssMb,
          linesPerCycle: (lines - start.lines) / (cycles - WARMUP_CYCLES),
          replicaLines,
          cycles: cycles - WARMUP_CYCLES,
        };
      }
      await sleep(POLL_MS);
    }
  } finally {
    await daemon.stop();
  }
}

/** Node itself with the launcher's flags and no code of ours: the floor under the agent's RSS. */
async function bareNode(dir: string): Promise<ProcUsage> {
  const daemon = startDaemon('footprint-bare-node', process.execPath, [...launcherFlags(), '-e', 'setInterval(() => {}, 1000)'], { logFile: join(dir, 'bare-node.log') });
  try {
    await sleep(2_000); // past start-up, as the agents' idle samples are
    return procUsage(daemon.pid);
  } finally {
    await daemon.stop();
  }
}

/**
 * Telegraf's defaults except: the bench's interval, flushed each interval (its default is 10 s) so
 * a cycle's lines are in the file when it ends, no jitter, and the replica's status. `lean` also
 * turns off SHOW GLOBAL VARIABLES (on by default, some 600 fields a server a cycle), a read iMom
 * does not make; in three runs its CPU stayed within the runs' spread (8.8-9.2 s against 8.4-9.2 s
 * per 100 cycles): the cost is INFO ALL of 50 nodes, which the redis input cannot narrow.
 */
function telegraf(dir: string, s: BenchServers, lean: boolean): Contender {
  const name = lean ? 'telegraf-lean' : 'telegraf';
  const dsn = (port: number) => `"${MONITOR_USER}:${MONITOR_PASSWORD}@tcp(127.0.0.1:${port})/?tls=false"`;
  const out = join(dir, `${name}.out`);
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, `
[agent]
  interval = "${INTERVAL_S}s"
  flush_interval = "${INTERVAL_S}s"
  collection_jitter = "0s"
  flush_jitter = "0s"
  hostname = "bench"
  quiet = true
[[inputs.mysql]]
  servers = [${dsn(s.mysql.primary.port)}, ${dsn(s.mysql.replica.port)}]
  metric_version = 2
  gather_slave_status = true
  gather_global_variables = ${!lean}
[[inputs.redis]]
  servers = [${[...s.masters, ...s.replicas].map((n) => `"tcp://${n.address}"`).join(', ')}]
[[outputs.file]]
  files = ["${out}"]
  data_format = "influx"
`);
  return {
    name, cmd: join(CACHE_BIN, 'telegraf'), args: ['--config', conf], out,
    cycleLine: new RegExp(`^redis,.*\\bport=${s.masters[0]!.port}[, ]`),
    replicaLine: new RegExp(`^mysql,.*\\bserver=127\\.0\\.0\\.1:${s.mysql.replica.port}[, ].*\\bslave_seconds_behind_master=`, 'i'),
  };
}

function imom(dir: string, s: BenchServers): Contender {
  const out = join(dir, 'imom.log');
  const cfg = writeConfig(dir, `
host: bench
interval: ${INTERVAL_S}s
state_dir: ${dir}/state
outputs:
  file: { path: ${out} }
checks:
  mysql:
    - name: bench-db
      user: ${MONITOR_USER}
      password: ${MONITOR_PASSWORD}
      master: ${s.mysql.primary.address}
      slaves: [${s.mysql.replica.address}]
  redis:
    - name: bench
      masters: [${s.masters.map((n) => n.address).join(', ')}]
      slaves: [${s.replicas.map((n) => n.address).join(', ')}]
`);
  return {
    name: 'imom', cmd: process.execPath, args: [...launcherFlags(), ...EXTRA_NODE_FLAGS, join(REPO_ROOT, 'bin/imom.js'), 'agent', '--config', cfg], out,
    cycleLine: new RegExp(`Node=${s.masters[0]!.address.replace(/\./g, '\\.')},`),
    replicaLine: new RegExp(`Slave=127\\.0\\.0\\.1:${s.mysql.replica.port},`),
    problemLine: / \| (?!Status=OK,)/,
  };
}

export async function run(): Promise<void> {
  const dir = tempDir('bench-footprint');
  let servers: BenchServers | undefined;
  try {
    servers = await startBenchServers(dir);
    const setup = spawnSync('bash', [join(REPO_ROOT, 'scripts/setup/telegraf.sh')], { stdio: 'inherit' });
    if (setup.status !== 0) throw new Error('scripts/setup/telegraf.sh failed');
    const t = telegraf(dir, servers, false);
    const i = imom(dir, servers);
    const tv = spawnSync(t.cmd, ['--version'], { encoding: 'utf8' }).stdout.trim();
    process.stdout.write(`${tv}; iMom on node ${process.version} ${[...launcherFlags(), ...EXTRA_NODE_FLAGS].join(' ')}\n`);
    process.stdout.write(`each runs alone (telegraf, telegraf lean, imom), interval ${INTERVAL_S}s, ${WARMUP_CYCLES} warm-up cycles then ${CYCLES} measured...\n`);
    const tf = await measure(t, dir);
    const lf = await measure(telegraf(dir, servers, true), dir);
    const mf = await measure(i, dir);
    const bare = await bareNode(dir);
    const f = (n: number, d = 2) => n.toFixed(d);
    const row = (what: string, a: number, b: number, unit: string, d = 2) =>
      `${what.padEnd(38)}${`${f(a, d)} ${unit}`.padStart(12)}${`${f(b, d)} ${unit}`.padStart(12)}${`${f(a / b)}x`.padStart(9)}\n`;
    const mb = (u: Rss) => `${f(u.rssMb, 1)} MB (${f(u.rssAnonMb, 1)} anon + ${f(u.rssFileMb, 1)} file)`;
    process.stdout.write([
      `targets: ${servers.masters.length + servers.replicas.length} redis nodes + MariaDB primary and replica`,
      `lines per cycle: imom ${f(mf.linesPerCycle, 1)}, telegraf ${f(tf.linesPerCycle, 1)} (replica lines: ${mf.replicaLines} / ${tf.replicaLines}); imom problem lines: ${mf.problems.length} (must be 0)`,
      ...mf.problems.slice(0, 3).map((l) => `  ${l}`),
      `${''.padEnd(38)}${'imom'.padStart(12)}${'telegraf'.padStart(12)}${'imom/tg'.padStart(9)}`,
      '',
    ].join('\n'));
    process.stdout.write(row(`CPU per 100 cycles (${mf.cycles}/${tf.cycles} measured)`, mf.cpuPer100, tf.cpuPer100, 's'));
    process.stdout.write(row('CPU to start + warm-up cycles', mf.startupCpu, tf.startupCpu, 's'));
    process.stdout.write(row('idle RSS (median between cycles)', mf.idle.rssMb, tf.idle.rssMb, 'MB', 1));
    process.stdout.write(row('peak RSS (VmHWM)', mf.peakRssMb, tf.peakRssMb, 'MB', 1));
    process.stdout.write([
      `idle RSS split: imom ${mb(mf.idle)}, telegraf ${mb(tf.idle)}`,
      `node alone with the launcher flags, idle: ${mb(bare)}: ${f(bare.rssMb / tf.idle.rssMb)}x telegraf before any code of ours`,
      `telegraf with gather_global_variables = false: ${f(lf.linesPerCycle, 1)} lines per cycle, CPU ${f(lf.cpuPer100)} s per 100 cycles (imom ${f(mf.cpuPer100 / lf.cpuPer100)}x), idle RSS ${mb(lf.idle)} (imom ${f(mf.idle.rssMb / lf.idle.rssMb)}x)`,
      `targets: CPU per cycle < telegraf's (ratio < 1), idle RSS <= 1.5x telegraf's`,
      '',
    ].join('\n'));
  } finally {
    await servers?.stop();
    removeDir(dir);
  }
}
