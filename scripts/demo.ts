/**
 * `npm run demo`: real servers on loopback, the agent running every few seconds, a real fault,
 * and what the operator sees: the log file, syslog, Loki, and the alert in chat.
 * `npm run demo -- --all` adds Kafka, SolrCloud and a Redis Cluster.
 * `npm run demo -- --shipper otelcol` ships the log files with the OpenTelemetry Collector instead of Promtail.
 * `npm run demo -- --ha` runs it on the HA cluster (loki/loki-ha.yaml: versitygw, three members, nginx),
 * kills one member with -9 while the agent runs, and counts at the end that no line was lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ReplicationPair, MONITOR_PASSWORD } from '../test/harness/mariadb.js';
import { RedisPair } from '../test/harness/redis.js';
import { Rsyslog } from '../test/harness/rsyslog.js';
import { REPO_ROOT, removeDir, tempDir, waitFor } from '../test/harness/proc.js';
import { startChat } from '../test/harness/chat.js';
import { pairChecks, writeConfig } from '../test/harness/cli.js';
import { queryAll, queryRange } from '../test/harness/loki.js';
import { linesIn } from '../test/promtail/util.js';
import { stackDown, stackUp, type Shipper } from '../agent/src/stack/stack.js';

const INTERVAL_S = 5;
const HOST = 'demo-host';
const ALL = process.argv.includes('--all');
const HA = process.argv.includes('--ha');
const SHIPPER = shipperOf(process.argv);
function shipperOf(argv: readonly string[]): Shipper {
  const i = argv.indexOf('--shipper');
  const v = i < 0 ? 'promtail' : argv[i + 1];
  if (v === 'promtail' || v === 'otelcol') return v;
  process.stderr.write(`demo: --shipper ${v ?? ''}: must be promtail or otelcol\n`);
  process.exit(2);
}
const SHIPPER_NAME = SHIPPER === 'otelcol' ? 'the OpenTelemetry Collector' : 'Promtail';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const red = (s: string) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const say = (s: string) => process.stdout.write(`\n${bold(`==> ${s}`)}\n`);
const show = (l: string) => process.stdout.write(`    ${/ERROR|CRITICAL/.test(l) ? red(l) : l}\n`);

/** The agent's config for the demo's servers; LOG_FILEs go where the stack's Promtail tails them. */
function agentConfig(dir: string, logDir: string, mysql: ReplicationPair, redis: RedisPair, syslog: Rsyslog): string {
  return writeConfig(dir, `# written by the demo
env: demo
host: ${HOST}
interval: ${INTERVAL_S}s
timeout: 3s
state_dir: ${dir}/state
outputs:
  file: { path: "${logDir}/{check}.log" }
  syslog: { enabled: true, address: "${syslog.socket}" }
${pairChecks(mysql, redis)}`);
}

/** New lines of every LOG_FILE since the last call, in time order (one file per check); reads only what was appended. */
class LogTail {
  private readonly offsets = new Map<string, number>();
  constructor(private readonly dir: string) {}
  next(): string[] {
    if (!existsSync(this.dir)) return [];
    const out: string[] = [];
    for (const f of readdirSync(this.dir).filter((n) => n.endsWith('.log')).sort()) {
      const path = join(this.dir, f);
      const from = this.offsets.get(f) ?? 0;
      const size = statSync(path).size;
      if (size <= from) continue;
      const fd = openSync(path, 'r');
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      closeSync(fd);
      const text = buf.toString('utf8');
      const complete = text.lastIndexOf('\n') + 1; // a line still being written waits for the next call
      this.offsets.set(f, from + Buffer.byteLength(text.slice(0, complete)));
      out.push(...text.slice(0, complete).split('\n').filter(Boolean).map((l) => `${f.padEnd(10)} ${l}`));
    }
    return out.sort((x, y) => x.slice(11, 30).localeCompare(y.slice(11, 30)));
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = tempDir('demo');
  say(`iMom demo in ${dir}`);
  say('Starting real servers on loopback: MariaDB primary + replica (replicating), Redis master + replica, rsyslogd,');
  say(`and the pipeline: ${HA ? 'the HA Loki cluster (versitygw, three members with RF 3, nginx; rules loaded into the ruler bucket)' : 'Loki (ruler on ruler/rules)'}, ${SHIPPER_NAME}, Alertmanager, the chat relay, and a local stand-in for chat`);
  const chat = await startChat();
  // Started together; if one fails, the ones that came up are stopped before the demo exits.
  const [mysqlR, redisR, syslogR, stackR] = await Promise.allSettled([
    ReplicationPair.start(), RedisPair.start(), Rsyslog.start(),
    stackUp({
      dir: join(dir, 'stack'), labels: { env: 'demo', host: HOST }, lokiEnv: { LOKI_RULER_POLL_INTERVAL: '2s' }, shipper: SHIPPER, ha: HA,
      relay: { grafanaUrl: 'http://127.0.0.1:3000', targets: [{ name: 'ops-chat', type: 'webhook', url: `${chat.url}/ops`, send_resolved: true }] },
    }),
  ]);
  if (mysqlR.status === 'rejected' || redisR.status === 'rejected' || syslogR.status === 'rejected' || stackR.status === 'rejected') {
    const up = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
    const stops: (() => Promise<unknown> | undefined)[] = [() => chat.stop(), () => { const st = up(stackR); return st ? stackDown(st.dir) : undefined; }, () => up(syslogR)?.stop(), () => up(redisR)?.stop(), () => up(mysqlR)?.stop()];
    for (const stop of stops) await Promise.resolve().then(stop).catch(() => undefined);
    removeDir(dir);
    throw [mysqlR, redisR, syslogR, stackR].map((r) => (r.status === 'rejected' ? r.reason : undefined)).find((e) => e !== undefined);
  }
  const [mysql, redis, syslog, stack] = [mysqlR.value, redisR.value, syslogR.value, stackR.value];
  const logDir = stack.promtail!.checkLogDir;
  const cleanups = [() => chat.stop(), () => stackDown(stack.dir), () => syslog.stop(), () => redis.stop(), () => mysql.stop()];
  // Once, from the finally below or from an agent that died: the stack's processes are detached.
  let cleaned: Promise<void> | undefined;
  const cleanupAll = () => (cleaned ??= (async () => {
    say('Stopping the servers');
    for (const c of cleanups) await c().catch(() => undefined);
    removeDir(dir);
  })());
  show(`MariaDB primary ${mysql.primary.address}, replica ${mysql.replica.address}; Redis master ${redis.master.address}, replica ${redis.replica.address}`);
  for (const c of stack.components) show(`${(c.instance ?? c.name).padEnd(12)} ${c.url}  (log: ${c.logFile})`);
  const loki = stack.ha?.entry ?? stack.components.find((c) => c.name === 'loki')!.url;

  let agent: ChildProcess | undefined;
  try {
    const cfg = agentConfig(dir, logDir, mysql, redis, syslog);
    say(`Starting the agent: imom agent --config ${cfg} (every ${INTERVAL_S}s)`);
    agent = spawn(process.execPath, [join(REPO_ROOT, 'bin/imom.js'), 'agent', '--config', cfg], {
      env: { ...process.env, IMOM_MYSQL_PASSWORD: MONITOR_PASSWORD }, stdio: ['ignore', 'inherit', 'inherit'],
    });
    agent.once('exit', (code) => {
      if (!code) return;
      process.stderr.write(`demo: the agent exited with ${code}\n`);
      void cleanupAll().finally(() => process.exit(1));
    });
    const tail = new LogTail(logDir);
    const collected: string[] = [];
    const collect = (pred: (l: string) => boolean, n: number, what: string) => waitFor(() => {
      collected.push(...tail.next());
      return collected.filter(pred).length >= n ? collected.splice(0) : undefined;
    }, 30_000, what);
    (await collect(() => true, 8, 'two healthy cycles')).forEach(show);

    if (HA) {
      const victim = stack.components.find((c) => c.instance === 'loki-2')!;
      say(`Killing Loki member loki-2 (pid ${victim.pid}) with -9; the cluster goes on with two (RF 3: every stream is on all three)`);
      process.kill(victim.pid, 'SIGKILL');
    }

    if (ALL) {
      const { heavyDemo } = await import('./demo-heavy.js');
      await heavyDemo({ say, show, dir: join(dir, 'heavy') });
    }

    say('Breaking things for real: REPLICAOF NO ONE on the Redis replica, STOP SLAVE SQL_THREAD on the MariaDB replica');
    const brokeAt = Date.now();
    await redis.replica.cli('REPLICAOF', 'NO', 'ONE');
    await mysql.replica.sql('STOP SLAVE SQL_THREAD');
    const bad = await collect((l) => /ERROR|CRITICAL/.test(l), 2, 'the agent to report');
    const lineAt = Date.now();
    say(`The agent's next cycle, ${((lineAt - brokeAt) / 1000).toFixed(1)}s after the fault (LOG_FILE lines):`);
    bad.forEach(show);
    const sys = await waitFor(() => { const l = syslog.lines().filter((x) => /_check: /.test(x)); return l.length >= 2 ? l : undefined; }, 10_000, 'syslog');
    say('The same ERROR/CRITICAL lines in syslog (tagged <check>_check, as logger(1) wrote them), as rsyslogd received them:');
    sys.slice(0, 2).forEach(show);

    for (const q of [`{job="imom", env="demo", level=~"ERROR|CRITICAL"}`, `{job="imom", host="${HOST}", check="mysql", level="ERROR"} |= "Slave_SQL_Running=No"`]) {
      const got = await waitFor(async () => { const r = await queryRange(loki, q, { limit: 4 }); return r.length ? r : undefined; }, 30_000, `Loki: ${q}`);
      say(`In Loki (shipped by ${SHIPPER_NAME}): ${q}`);
      got.forEach((e) => show(`${JSON.stringify(e.labels)}  ${e.line}`));
    }

    say('Waiting for the alert in chat (Loki ruler → Alertmanager → imom relay → chat)...');
    // HA: the rule group may have been loki-2's; the others take it once its heartbeats are 30 s old.
    const msg = await waitFor(() => chat.delivered('/ops').find((r) => (r.json as { alertname?: string; check?: string }).alertname === 'CheckError'), HA ? 240_000 : 120_000, 'the chat message');
    const m = msg.json as { summary: string; severity: string; host: string; check: string; lines: { line: string }[]; explore_url: string | null; status: string };
    say(`The chat message (as the chat service received it), ${((msg.at - lineAt) / 1000).toFixed(1)}s after the line was written (${((msg.at - brokeAt) / 1000).toFixed(1)}s after the fault):`);
    show(`[${m.severity.toUpperCase()}] ${m.summary}  (${m.status})`);
    show(`host=${m.host} check=${m.check}`);
    m.lines.slice(0, 3).forEach((l) => show(`  ${l.line}`));
    show(`Explore: ${m.explore_url ?? '(no Grafana configured)'}`);
    for (const r of chat.delivered('/ops').filter((x) => x !== msg)) {
      const o = r.json as { summary: string; severity: string };
      show(`also: [${o.severity.toUpperCase()}] ${o.summary}, ${((r.at - lineAt) / 1000).toFixed(1)}s after the line`);
    }
    if (HA) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
      const files = readdirSync(logDir).filter((f) => f.endsWith('.log'));
      const written = files.reduce((n, f) => n + linesIn(join(logDir, f)), 0);
      const sel = `{job="imom", host="${HOST}"}`;
      const key = (e: { labels: Record<string, string>; line: string }) => `${e.labels.check}\u0000${e.line}`;
      let got = await queryAll(loki, sel);
      got = await waitFor(async () => { got = await queryAll(loki, sel); return got.length >= written ? got : undefined; }, 60_000, 'every line in Loki').catch(() => got);
      const twice = got.length - new Set(got.map(key)).size;
      say(`loki-2 was killed -9 at the start: the agent wrote ${written} lines to ${files.join(', ')}; through nginx Loki returns ${got.length}: ${Math.max(0, written - got.length)} lost, ${twice} twice`);
    }
    say('The replica is left broken; stopping everything.');
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await cleanupAll();
    say(`Done in ${((Date.now() - started) / 1000).toFixed(0)}s.`);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
