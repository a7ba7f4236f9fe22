/**
 * `npm run bench -- alert-latency`: how long from a CRITICAL check line written to its chat
 * message received, through the real chain Promtail → Loki ruler → Alertmanager → imom relay →
 * a local HTTP server standing in for chat (test/harness/chat.ts). Three stacks run side by side
 * in the same run, all on Alertmanager 0.35 (.cache/bin/alertmanager-0.35, scripts/setup/alertmanager.sh),
 * and every fault is written to each at the same instant:
 *
 *   ours      ruler/rules as shipped (group `imom-checks` evaluated every 5s) and
 *             ruler/alertmanager.yml as shipped (critical: group_wait 1s, group_interval 10s)
 *   ha        the same files on two Alertmanagers in a gossip cluster (loopback), both fed by
 *             the one Loki ruler and both posting to the one relay (test/e2e/alertmanager-ha.test.ts)
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
 * Isolated lines: before the faults, 5 more checks (redis_iNN) each get one ERROR line between
 * OK lines (a timeout, 5 s later OK again); every notification about them is counted (target 0).
 *
 *   IMOM_BENCH_ALERT_FAULTS       faults per variant (20)
 *   IMOM_BENCH_ALERT_STAGGER_MS   gap between faults (3000)
 *   IMOM_BENCH_ALERT_TIMEOUT_S    give up on a fault this long after it was written (ours 120, defaults 360)
 * Target: p95 < 10 s with ours and ha; 0 notifications for the isolated lines.
 */
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { stackDown, stackUp, type StackState, type StackUpOptions } from '../agent/src/stack/stack.js';
import { logFileTimestamp } from '../agent/src/core/format.js';
import { startAlertmanager, type AlertmanagerHandle } from '../test/harness/alertmanager.js';
import { startChat, type ChatServer } from '../test/harness/chat.js';
import { waitForCount } from '../test/harness/loki.js';
import { freePorts, REPO_ROOT, removeDir, sleep, tempDir } from '../test/harness/proc.js';

type Variant = string;
const AM_035 = join(REPO_ROOT, '.cache', 'bin', 'alertmanager-0.35');

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

/** Two 0.35 members gossiping on loopback, both posting to the relay that will listen on relayPort. */
async function haPair(relayPort: number, tokenFile: string): Promise<AlertmanagerHandle[]> {
  const [a, b] = (await freePorts(2)) as [number, number];
  const relayUrl = `http://127.0.0.1:${relayPort}/alertmanager`;
  return Promise.all([
    startAlertmanager({ relayUrl, tokenFile, binary: AM_035, cluster: { listenPort: a, peerPorts: [b] } }),
    startAlertmanager({ relayUrl, tokenFile, binary: AM_035, cluster: { listenPort: b, peerPorts: [a] } }),
  ]);
}

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

/** A stack's options; alertmanagerPair: two Alertmanager 0.35 in a gossip cluster instead of the stack's one. */
export type VariantSetup = Omit<StackUpOptions, 'dir' | 'relay'> & { readonly alertmanagerPair?: boolean };

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
  readonly variants: Readonly<Record<Variant, VariantSetup>>;
  readonly n: number;
  readonly staggerMs: number;
  readonly timeoutMs: Readonly<Record<Variant, number>>;
  /** Checks that get one isolated ERROR line each (between OK lines) before the faults: their notifications are counted. */
  readonly isolated?: number;
}): Promise<{ stats: Record<Variant, LatencyStats>; faults: Fault[]; isolatedNotifications: Record<Variant, number> }> {
  const VARIANTS = Object.keys(o.variants);
  const { n, staggerMs, timeoutMs, chat } = o;
  const ISOLATED = o.isolated ?? 0;
  const stacks: Partial<Record<Variant, StackState>> = {};
  const pairs: AlertmanagerHandle[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = () => (cleaned ??= (async () => {
    for (const v of VARIANTS) {
      const s = stacks[v];
      if (s) await stackDown(s.dir).catch((e: unknown) => process.stderr.write(`stack down ${v}: ${String(e)}\n`));
    }
    await Promise.allSettled(pairs.map((a) => a.stop()));
  })());
  const onSignal = (sig: NodeJS.Signals) => { void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = Date.now();
    for (const v of VARIANTS) {
      const { alertmanagerPair, ...setup } = o.variants[v]!;
      const stackDir = join(o.dir, `stack-${v}`);
      let pair: { lokiEnv: Record<string, string>; port: number } | undefined;
      if (alertmanagerPair) {
        const [relayPort] = (await freePorts(1)) as [number];
        const members = await haPair(relayPort, join(stackDir, 'relay.token'));
        pairs.push(...members);
        pair = { lokiEnv: { LOKI_ALERTMANAGER_URL: members.map((a) => a.url).join(',') }, port: relayPort };
      }
      stacks[v] = await stackUp({
        readyTimeoutMs: 180_000,
        ...setup,
        ...(pair ? { alertmanager: false, lokiEnv: { ...setup.lokiEnv, ...pair.lokiEnv } } : {}),
        dir: stackDir,
        labels: { env: `bench-${v}`, host: 'bench.example.com' },
        relay: { ...(pair ? { port: pair.port } : {}), targets: [{ name: 'chat', type: 'webhook', url: `${chat.url}/${v}`, send_resolved: false }] },
      });
    }
    console.log(`  stacks up in ${s1(Date.now() - t0)}`);

    const checks = Array.from({ length: n }, (_, i) => `redis_f${String(i).padStart(2, '0')}`);
    const isolated = Array.from({ length: ISOLATED }, (_, i) => `redis_i${String(i).padStart(2, '0')}`);
    const file = (v: Variant, check: string) => join(stacks[v]!.promtail!.checkLogDir, `${check}.log`);
    const lokiUrl = (v: Variant) => stacks[v]!.ha?.entry ?? stacks[v]!.components.find((c) => c.name === 'loki')!.url;
    // Warm-up: one OK line per check file, as a running agent would have written; wait until
    // Loki has every one, so Promtail tails all files before the first fault.
    for (const v of VARIANTS) {
      for (const [i, c] of checks.entries()) {
        appendFileSync(file(v, c), `${logFileTimestamp(new Date(), 'local')} | OK: Node 127.0.0.1:${7000 + i} is slave as expected\n`);
      }
      for (const [i, c] of isolated.entries()) appendFileSync(file(v, c), `${logFileTimestamp(new Date(), 'local')} | Status=OK, Node=127.0.0.1:${8000 + i}, Role=master\n`);
    }
    await Promise.all(VARIANTS.map((v) => waitForCount(lokiUrl(v), '{job="imom", level="OK"}', n + ISOLATED, { timeoutMs: 120_000 })));

    // One isolated bad line per isolated check (a timeout), OK again 5 s later, as a 5 s check would.
    const isolatedLine = (state: 'bad' | 'ok', i: number) => `${logFileTimestamp(new Date(), 'local')} | ${state === 'bad' ? `Status=ERROR, Node=127.0.0.1:${8000 + i}, Error=timeout after 5s` : `Status=OK, Node=127.0.0.1:${8000 + i}, Role=master`}\n`;
    for (const v of VARIANTS) for (const [i, c] of isolated.entries()) appendFileSync(file(v, c), isolatedLine('bad', i));
    if (ISOLATED > 0) await sleep(5_000);
    for (const v of VARIANTS) for (const [i, c] of isolated.entries()) appendFileSync(file(v, c), isolatedLine('ok', i));
    // Loki has every isolated ERROR line: a 0 below is the rules' verdict, not lines still in flight.
    if (ISOLATED > 0) await Promise.all(VARIANTS.map((v) => waitForCount(lokiUrl(v), '{job="imom", check=~"redis_i.+", level="ERROR"}', ISOLATED, { timeoutMs: 60_000 })));

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
    // Isolated lines: any notification about their checks, over the whole run (≥ the faults' 60 s).
    const isolatedNotifications = {} as Record<Variant, number>;
    for (const v of VARIANTS) isolatedNotifications[v] = chat.delivered(`/${v}`).filter((r) => isolated.includes((r.json as Message)?.check ?? '')).length;
    return { stats, faults, isolatedNotifications };
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
    ha: num(process.env.IMOM_BENCH_ALERT_TIMEOUT_S, 120) * 1000,
    defaults: num(process.env.IMOM_BENCH_ALERT_TIMEOUT_S, 360) * 1000,
  };
  const ISOLATED = 5;
  const dir = tempDir('bench-alert-latency');
  let chat: ChatServer | undefined;
  try {
    if (!existsSync(AM_035)) throw new Error(`${AM_035} not found; run bash scripts/setup/alertmanager.sh`);
    // The stacks' Alertmanager (stackUp finds it through this variable) is 0.35 too.
    process.env.IMOM_ALERTMANAGER_BIN = AM_035;
    chat = await startChat();
    console.log(`  ${n} faults per variant, one every ${staggerMs} ms, written to every stack at the same instant`);
    console.log('  ours:     rule group interval 5s; Alertmanager 0.35 critical route group_wait 1s, group_interval 10s');
    console.log('  ha:       as ours, on two Alertmanager 0.35 in a cluster, one relay (its dedupe makes each state change one message)');
    console.log('  defaults: no group interval, LOKI_RULER_EVALUATION_INTERVAL=1m (Loki default); Alertmanager defaults group_wait 30s, group_interval 5m');
    const shipped = { rulesDir: join(REPO_ROOT, 'ruler/rules'), alertmanager: true, alertmanagerConfig: join(REPO_ROOT, 'ruler/alertmanager.yml'), lokiEnv: {} };
    const { stats, faults, isolatedNotifications } = await faultToChat({
      dir, chat, n, staggerMs, timeoutMs, isolated: ISOLATED,
      variants: {
        ours: shipped,
        ha: { ...shipped, alertmanagerPair: true },
        defaults: {
          rulesDir: defaultRules(join(dir, 'rules-defaults')), alertmanager: true,
          alertmanagerConfig: defaultAlertmanager(join(dir, 'alertmanager-defaults.yml')),
          lokiEnv: { LOKI_RULER_EVALUATION_INTERVAL: '1m' },
        },
      },
    });
    const VARIANTS = ['ours', 'ha', 'defaults'];
    latencyTable(stats, n);
    const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '—');
    for (const base of ['ours', 'ha']) {
      console.log(`  ${`ratio defaults/${base}`.padEnd(27)} ${ratio(stats.defaults!.p50, stats[base]!.p50).padStart(8)} ${ratio(stats.defaults!.p95, stats[base]!.p95).padStart(8)} ${ratio(stats.defaults!.max, stats[base]!.max).padStart(8)}`);
    }
    for (const v of VARIANTS) {
      console.log(`  ${v} latencies in injection order (s): ${faults.map((f) => (f.arrivedAt[v] === undefined ? '—' : ((f.arrivedAt[v]! - f.writtenAt[v]!) / 1000).toFixed(1))).join(' ')}${stats[v]!.missing ? `; ${stats[v]!.missing} not received within ${timeoutMs[v]! / 1000} s` : ''}`);
    }
    console.log(`  notifications for ${ISOLATED} isolated ERROR lines (target 0): ${VARIANTS.map((v) => `${v} ${isolatedNotifications[v]}`).join(', ')}`);
    for (const v of ['ours', 'ha']) {
      const s = stats[v]!;
      const ok = s.missing === 0 && s.p95 < 10_000 && isolatedNotifications[v] === 0;
      console.log(`  target with ${v} (p95 < 10 s, 0 for isolated lines): ${ok ? 'met' : 'NOT met'} (${s1(s.p95)}${s.missing ? `, ${s.missing} missing` : ''}, ${isolatedNotifications[v]} isolated)`);
    }
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
