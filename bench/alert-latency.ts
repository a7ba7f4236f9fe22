/**
 * `npm run bench -- alert-latency`: how long from a CRITICAL check line written to its chat
 * message received, through the real chain Promtail → Loki ruler → Alertmanager → imom relay →
 * a local HTTP server standing in for chat (test/harness/chat.ts). Two stacks run side by side
 * in the same run, and every fault is written to both at the same instant:
 *
 *   ours      ruler/rules as shipped (group `imom-checks` evaluated every 5s) and
 *             ruler/alertmanager.yml as shipped (critical: group_wait 1s, group_interval 10s)
 *   defaults  the same rules with every group `interval:` line removed and the Loki ruler's
 *             evaluation_interval set explicitly to Loki's default, 1m
 *             (LOKI_RULER_EVALUATION_INTERVAL=1m; loki/loki.yaml's own fallback is 15s), and
 *             ruler/alertmanager.yml with every group_wait / group_interval / repeat_interval
 *             removed, so Alertmanager's defaults apply (30s / 5m / 4h). Routing, grouping,
 *             inhibition and receivers are unchanged. Both files go to a temporary folder;
 *             the repository's files are not touched.
 *
 * Faults: one stack carries one host label (Promtail's IMOM_HOST), so each fault gets its own
 * check instead: fault i is a line appended to <checkLogDir>/redis_fNN.log, which Promtail
 * labels check="redis_fNN". Alertmanager groups by (alertname, env, host, check), so each fault
 * is its own alert group and pays its own group_wait, as a fault on a distinct target would.
 * Each file first gets an OK line (an agent writes one every interval), and the run waits until
 * Loki has all of them, so Promtail is already tailing every file when the faults start.
 * The fault line is the agent's own format (agent/src/core/format.ts, logFileLine, local time):
 *   2024-09-02 08:45:32 | CRITICAL: Node 127.0.0.1:<7000+i> is expected to be slave but found master
 * Faults are staggered (IMOM_BENCH_ALERT_STAGGER_MS, 3000 ms), so they overlap in flight and,
 * 20 × 3 s spanning one 1m evaluation period (and cycling through the 5s one), the write times
 * sample the evaluation phase evenly in both variants instead of hitting one or two phases.
 * Latency = time the chat server received the firing message for that check − time the line
 * was appended. The message must carry the line itself in `lines` (counted otherwise).
 *
 *   IMOM_BENCH_ALERT_FAULTS       faults per variant (20)
 *   IMOM_BENCH_ALERT_STAGGER_MS   gap between faults (3000)
 *   IMOM_BENCH_ALERT_TIMEOUT_S    give up on a fault this long after it was written (ours 120, defaults 360)
 * Target: p95 ≤ 15 s with ours.
 */
import { appendFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { stackDown, stackUp, type StackState, type StackUpOptions } from '../agent/src/stack/stack.js';
import { logFileTimestamp } from '../agent/src/core/format.js';
import { startChat, type ChatServer } from '../test/harness/chat.js';
import { waitForCount } from '../test/harness/loki.js';
import { REPO_ROOT, removeDir, sleep, tempDir } from '../test/harness/proc.js';

type Variant = string;

const num = (v: string | undefined, d: number) => (v && Number(v) > 0 ? Number(v) : d);

interface Fault {
  readonly i: number;
  readonly check: string;
  readonly text: string;
  readonly writtenAt: Record<Variant, number>;
  readonly arrivedAt: Partial<Record<Variant, number>>;
  readonly lineInMessage: Partial<Record<Variant, boolean>>;
}

interface Message { status?: string; alertname?: string; check?: string; lines?: { line: string }[] }

/** The shipped rules with every group's `interval:` removed, so the ruler's evaluation_interval applies. */
function defaultRules(dest: string): string {
  cpSync(join(REPO_ROOT, 'ruler/rules'), dest, { recursive: true });
  let removed = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        const before = readFileSync(p, 'utf8');
        const after = before.replace(/^[ \t]*interval:.*\r?\n/gm, () => { removed++; return ''; });
        writeFileSync(p, after);
      }
    }
  };
  walk(dest);
  if (removed === 0) throw new Error('no group `interval:` line found in ruler/rules: the defaults variant would equal ours');
  return dest;
}

/** ruler/alertmanager.yml with every timing override removed from the route tree. */
function defaultAlertmanager(file: string): string {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'ruler/alertmanager.yml'), 'utf8'));
  let removed = 0;
  const strip = (route: unknown): void => {
    if (!isMap(route)) return;
    for (const k of ['group_wait', 'group_interval', 'repeat_interval']) if ((route as YAMLMap).delete(k)) removed++;
    const routes = (route as YAMLMap).get('routes', true);
    if (isSeq(routes)) for (const r of routes.items) strip(r);
  };
  strip(doc.get('route', true));
  if (removed === 0) throw new Error('no timing override found in ruler/alertmanager.yml');
  writeFileSync(file, `# ruler/alertmanager.yml without group_wait/group_interval/repeat_interval (Alertmanager defaults 30s/5m/4h)\n${doc.toString()}`);
  return file;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

const s1 = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '—');

export interface LatencyStats { got: number[]; p50: number; p95: number; max: number; missing: number; noLine: number }

/**
 * The measurement itself, for any set of stacks: each variant's stack is started (one after the
 * other: stackUp probes for free ports) with its options plus a relay posting to
 * `<chat>/<variant>`, `n` faults are written to all of them at the same instant, `staggerMs`
 * apart, and each fault's first firing CheckCritical message per variant is timed. Every stack
 * is stopped before it returns. bench/ha.ts runs it for the single binary and the HA cluster.
 */
export async function faultToChat(o: {
  readonly dir: string;
  readonly chat: ChatServer;
  readonly variants: Readonly<Record<Variant, Omit<StackUpOptions, 'dir' | 'relay'>>>;
  readonly n: number;
  readonly staggerMs: number;
  readonly timeoutMs: Readonly<Record<Variant, number>>;
}): Promise<{ stats: Record<Variant, LatencyStats>; faults: Fault[] }> {
  const VARIANTS = Object.keys(o.variants);
  const { n, staggerMs, timeoutMs, chat } = o;
  const stacks: Partial<Record<Variant, StackState>> = {};
  let cleaned: Promise<void> | undefined;
  const cleanup = () => (cleaned ??= (async () => {
    for (const v of VARIANTS) {
      const s = stacks[v];
      if (s) await stackDown(s.dir).catch((e: unknown) => process.stderr.write(`stack down ${v}: ${String(e)}\n`));
    }
  })());
  const onSignal = (sig: NodeJS.Signals) => { void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = Date.now();
    for (const v of VARIANTS) {
      stacks[v] = await stackUp({
        readyTimeoutMs: 180_000,
        ...o.variants[v],
        dir: join(o.dir, `stack-${v}`),
        labels: { env: `bench-${v}`, host: 'bench.example.com' },
        relay: { targets: [{ name: 'chat', type: 'webhook', url: `${chat.url}/${v}`, send_resolved: false }] },
      });
    }
    console.log(`  stacks up in ${s1(Date.now() - t0)}`);

    const checks = Array.from({ length: n }, (_, i) => `redis_f${String(i).padStart(2, '0')}`);
    const file = (v: Variant, check: string) => join(stacks[v]!.promtail!.checkLogDir, `${check}.log`);
    const lokiUrl = (v: Variant) => stacks[v]!.ha?.entry ?? stacks[v]!.components.find((c) => c.name === 'loki')!.url;
    // Warm-up: one OK line per check file, as a running agent would have written; wait until
    // Loki has every one, so Promtail tails all files before the first fault.
    for (const v of VARIANTS) {
      for (const [i, c] of checks.entries()) {
        appendFileSync(file(v, c), `${logFileTimestamp(new Date(), 'local')} | OK: Node 127.0.0.1:${7000 + i} is slave as expected\n`);
      }
    }
    await Promise.all(VARIANTS.map((v) => waitForCount(lokiUrl(v), '{job="imom", level="OK"}', n, { timeoutMs: 120_000 })));

    // Inject.
    const faults: Fault[] = [];
    const tInject = Date.now();
    for (const [i, check] of checks.entries()) {
      const due = tInject + i * staggerMs;
      if (due > Date.now()) await sleep(due - Date.now());
      const text = `CRITICAL: Node 127.0.0.1:${7000 + i} is expected to be slave but found master`;
      const line = `${logFileTimestamp(new Date(), 'local')} | ${text}\n`;
      const writtenAt = {} as Record<Variant, number>;
      for (const v of VARIANTS) {
        writtenAt[v] = Date.now();
        appendFileSync(file(v, check), line);
      }
      faults.push({ i, check, text, writtenAt, arrivedAt: {}, lineInMessage: {} });
    }

    // Collect: the first delivered firing CheckCritical message per check and variant.
    const pending = () => faults.flatMap((f) => VARIANTS.filter((v) => f.arrivedAt[v] === undefined && Date.now() - f.writtenAt[v]! < (timeoutMs[v] ?? 120_000)).map((v) => [f, v] as const));
    for (;;) {
      for (const v of VARIANTS) {
        for (const r of chat.delivered(`/${v}`)) {
          const m = r.json as Message;
          if (m?.status !== 'firing' || m.alertname !== 'CheckCritical') continue;
          const f = faults.find((x) => x.check === m.check);
          if (!f || f.arrivedAt[v] !== undefined) continue;
          f.arrivedAt[v] = r.at;
          f.lineInMessage[v] = (m.lines ?? []).some((l) => l.line.includes(f.text));
        }
      }
      if (pending().length === 0) break;
      await sleep(250);
    }

    // Report.
    const stats = {} as Record<Variant, LatencyStats>;
    for (const v of VARIANTS) {
      const got = faults.filter((f) => f.arrivedAt[v] !== undefined).map((f) => f.arrivedAt[v]! - f.writtenAt[v]!).sort((a, b) => a - b);
      stats[v] = {
        got, p50: percentile(got, 0.5), p95: percentile(got, 0.95), max: got.length ? got[got.length - 1]! : NaN,
        missing: n - got.length, noLine: faults.filter((f) => f.arrivedAt[v] !== undefined && !f.lineInMessage[v]).length,
      };
    }
    return { stats, faults };
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function run(): Promise<void> {
  const n = num(process.env.IMOM_BENCH_ALERT_FAULTS, 20);
  const staggerMs = num(process.env.IMOM_BENCH_ALERT_STAGGER_MS, 3_000);
  const timeoutMs: Record<Variant, number> = {
    ours: num(process.env.IMOM_BENCH_ALERT_TIMEOUT_S, 120) * 1000,
    defaults: num(process.env.IMOM_BENCH_ALERT_TIMEOUT_S, 360) * 1000,
  };
  const dir = tempDir('bench-alert-latency');
  let chat: ChatServer | undefined;
  try {
    chat = await startChat();
    console.log(`  ${n} faults per variant, one every ${staggerMs} ms, written to both stacks at the same instant`);
    console.log('  ours:     rule group interval 5s; Alertmanager critical route group_wait 1s, group_interval 10s');
    console.log('  defaults: no group interval, LOKI_RULER_EVALUATION_INTERVAL=1m (Loki default); Alertmanager defaults group_wait 30s, group_interval 5m');
    const { stats, faults } = await faultToChat({
      dir, chat, n, staggerMs, timeoutMs,
      variants: {
        ours: { rulesDir: join(REPO_ROOT, 'ruler/rules'), alertmanager: true, alertmanagerConfig: join(REPO_ROOT, 'ruler/alertmanager.yml'), lokiEnv: {} },
        defaults: {
          rulesDir: defaultRules(join(dir, 'rules-defaults')), alertmanager: true,
          alertmanagerConfig: defaultAlertmanager(join(dir, 'alertmanager-defaults.yml')),
          lokiEnv: { LOKI_RULER_EVALUATION_INTERVAL: '1m' },
        },
      },
    });
    const VARIANTS = ['ours', 'defaults'];
    latencyTable(stats, n);
    const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '—');
    console.log(`  ${'ratio defaults/ours'.padEnd(27)} ${ratio(stats.defaults!.p50, stats.ours!.p50).padStart(8)} ${ratio(stats.defaults!.p95, stats.ours!.p95).padStart(8)} ${ratio(stats.defaults!.max, stats.ours!.max).padStart(8)}`);
    for (const v of VARIANTS) {
      console.log(`  ${v} latencies in injection order (s): ${faults.map((f) => (f.arrivedAt[v] === undefined ? '—' : ((f.arrivedAt[v]! - f.writtenAt[v]!) / 1000).toFixed(1))).join(' ')}${stats[v]!.missing ? `; ${stats[v]!.missing} not received within ${timeoutMs[v]! / 1000} s` : ''}`);
    }
    const ok = stats.ours!.missing === 0 && stats.ours!.p95 <= 15_000;
    console.log(`  target p95 ≤ 15 s with ours: ${ok ? 'met' : 'NOT met'} (${s1(stats.ours!.p95)}${stats.ours!.missing ? `, ${stats.ours!.missing} missing` : ''})`);
  } finally {
    await chat?.stop().catch(() => undefined);
    removeDir(dir);
  }
}

/** n, p50, p95, max and "line in message" per variant, one row each. */
export function latencyTable(stats: Readonly<Record<Variant, LatencyStats>>, n: number): void {
  console.log('');
  console.log(`  ${'variant'.padEnd(20)} ${'n'.padStart(6)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)}   line in message`);
  for (const [v, s] of Object.entries(stats)) {
    console.log(`  ${v.padEnd(20)} ${`${s.got.length}/${n}`.padStart(6)} ${s1(s.p50).padStart(8)} ${s1(s.p95).padStart(8)} ${s1(s.max).padStart(8)}   ${s.got.length - s.noLine}/${s.got.length}`);
  }
}
