/**
 * `npm run bench -- ha`: what replication costs. The same 1,000,000 lines, from the agent's
 * direct push (LokiTransport over HTTP, bench/push-child.ts), into
 *   single   the single binary (loki/loki.yaml, filesystem)
 *   ha       the HA cluster (loki/loki-ha.yaml: three members, RF 3, versitygw, nginx in front)
 * one after the other on this machine, so they do not share its cores. Printed side by side:
 * lines/s (first line written → last line countable), server CPU seconds per million lines and
 * peak RSS (single: the Loki process; ha: the three members + nginx + the store, summed), lines
 * lost (counted in Loki). Then the fault-to-chat latency of bench/alert-latency.ts (the same
 * machinery: a CRITICAL line → Promtail → ruler → Alertmanager → relay → chat) for a single-binary
 * stack beside an `--ha` stack, ruler/rules and ruler/alertmanager.yml as shipped.
 *
 *   IMOM_BENCH_HA_LINES    lines per side (1,000,000)
 *   IMOM_BENCH_HA_FAULTS   faults per side for the latency (20; 0 skips it)
 * No target beyond 0 lost.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { countLines, startLoki } from '../test/harness/loki.js';
import { startLokiHa } from '../test/harness/loki-ha.js';
import { startChat } from '../test/harness/chat.js';
import { REPO_ROOT, removeDir, sleep, tempDir } from '../test/harness/proc.js';
import { faultToChat, latencyTable } from './alert-latency.js';
import { procUsage } from './proc-usage.js';
import { endChild, startChild } from './push.js';

const num = (v: string | undefined, d: number) => (v !== undefined && v !== '' && Number(v) >= 0 ? Number(v) : d);

/** Every process working in `dir` (or below: versitygw moves into its data folder) whose command line names `name` (nginx's master and workers too). */
function pidsIn(dir: string, name: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(name)) out.push(Number(p));
    } catch { /* gone or not ours */ }
  }
  if (out.length === 0) throw new Error(`no ${name} process in ${dir}`);
  return out;
}

interface Side { name: string; lines: number; counted: number; seconds: number; cpuS: number; rssMB: number }

const usage = (pids: readonly number[]) => pids.map(procUsage).reduce((a, u) => ({ cpu: a.cpu + u.cpuSeconds, rss: a.rss + u.peakRssMb }), { cpu: 0, rss: 0 });

/** Pushes `n` lines through a push child into `url` and measures `pids` while it does. */
async function pushInto(name: string, url: string, pids: () => number[], work: string, n: number): Promise<Side> {
  const host = `bench-ha-${name}`;
  const dir = join(work, host);
  mkdirSync(dir, { recursive: true });
  const procs = pids();
  const before = usage(procs);
  const child = startChild({ mode: 'ours-http', lokiUrl: url, grpcUrl: '', host, lines: n, spoolDir: join(dir, 'spool'), file: '', spreadMs: 0 });
  try {
    const t0 = await child.started;
    await child.done;
    let counted = 0;
    let at = Date.now();
    let since = Date.now();
    // Until all are countable, or nothing moved for 30 s (a loss would show as fewer).
    for (;;) {
      let c = counted;
      try { c = await countLines(url, `{host="${host}"}`); } catch { /* busy */ }
      if (c !== counted) { counted = c; at = Date.now(); since = at; }
      if (counted >= n || Date.now() - since > 30_000) break;
      await sleep(250);
    }
    const after = usage(procs);
    const r = { name, lines: n, counted, seconds: Math.max(0.001, (at - t0) / 1000), cpuS: after.cpu - before.cpu, rssMB: after.rss };
    console.log(`  ${name}: ${counted}/${n} in Loki after ${r.seconds.toFixed(1)} s, ${r.cpuS.toFixed(1)} CPU s, ${r.rssMB.toFixed(0)} MB peak RSS (${procs.length} processes)`);
    return r;
  } finally {
    await endChild(child);
  }
}

export async function run(): Promise<void> {
  const n = num(process.env.IMOM_BENCH_HA_LINES, 1_000_000);
  const faults = num(process.env.IMOM_BENCH_HA_FAULTS, 20);
  const work = tempDir('bench-ha');
  try {
    console.log(`ha: ${n} lines from the agent's direct push (HTTP) into the single binary, then into the HA cluster (3 members, RF 3, versitygw, nginx)`);
    const rows: Side[] = [];
    const single = await startLoki();
    try {
      rows.push(await pushInto('single', single.url, () => pidsIn(single.dataDir, 'loki'), work, n));
    } finally {
      await single.close();
    }
    const ha = await startLokiHa();
    try {
      const pids = () => [
        ...ha.members.flatMap((m) => pidsIn(m.dataDir, 'loki')),
        ...pidsIn(join(ha.dir, 'nginx'), 'nginx'),
        ...pidsIn(join(ha.dir, 'store'), 'versitygw'),
      ];
      rows.push(await pushInto('ha', ha.url, pids, work, n));
    } finally {
      await ha.close();
    }
    const head = ['side', 'lines/s', 'CPU s / 1M lines', 'peak RSS MB', 'in Loki', 'lost'];
    const body = rows.map((r) => [r.name, (r.counted / r.seconds).toFixed(0), ((r.cpuS * 1e6) / r.lines).toFixed(1), r.rssMB.toFixed(0), String(r.counted), String(r.lines - r.counted)]);
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    for (const row of [head, ...body]) console.log('  ' + row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
    const [s, h] = rows as [Side, Side];
    console.log(`  ha / single: lines/s ${((h.counted / h.seconds) / (s.counted / s.seconds)).toFixed(2)}×, CPU per line ${(h.cpuS / s.cpuS).toFixed(2)}×, RSS ${(h.rssMB / s.rssMB).toFixed(2)}× (RF 3: every line is ingested, kept and flushed three times)`);

    if (faults > 0) {
      console.log(`\nfault to chat: ${faults} CRITICAL lines, one every 3 s, written to a single-binary stack and an --ha stack at the same instant`);
      const chat = await startChat();
      try {
        const shipped = { rulesDir: join(REPO_ROOT, 'ruler/rules'), alertmanager: true, alertmanagerConfig: join(REPO_ROOT, 'ruler/alertmanager.yml') } as const;
        const { stats } = await faultToChat({
          dir: join(work, 'latency'), chat, n: faults, staggerMs: 3_000, timeoutMs: { single: 180_000, ha: 180_000 },
          variants: { single: shipped, ha: { ...shipped, ha: true } },
        });
        latencyTable(stats, faults);
      } finally {
        await chat.stop();
      }
    }
  } finally {
    removeDir(work);
  }
}
