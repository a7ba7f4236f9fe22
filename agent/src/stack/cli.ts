/**
 * imom stack up|down|status [--dir DIR]: the local Loki + Promtail (+ Alertmanager) stack.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { action, EXIT, type CommandModule } from '../command/command.js';
import { ConfigError } from '../config/errors.js';
import { tlsSchema } from '../config/tls.js';
import { defaults } from './paths.js';
import { stackDown, stackStatus, stackUp, type Shipper, type StackState, type StackUpOptions } from './stack.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: ${v}`);
  return n;
};

function dirOption(): Option {
  return new Option('--dir <dir>', 'stack folder (data, logs, state)').default(defaults.stackDir(), '$IMOM_STACK_DIR or ~/.local/state/imom/stack');
}

function printState(s: StackState, out: NodeJS.WritableStream): void {
  for (const c of s.components) out.write(`${(c.instance ?? c.name).padEnd(12)} pid ${String(c.pid).padEnd(8)} ${c.url}\n`);
  if (s.ha) {
    out.write(`entry point ${s.ha.entry} (gRPC 127.0.0.1:${s.ha.grpcPort}), round robin over ${s.ha.members.map((m) => m.id).join(', ')}; ${s.ha.rules} rule groups loaded through the ruler API\n`);
    out.write(`store buckets: ${s.ha.bucketDirs.join(', ')}\n`);
  }
  if (s.promtail) {
    out.write(`${s.promtail.shipper ?? 'promtail'} tails ${s.promtail.checkLogDir}/*.log (job=imom), ${s.promtail.consoleLog} (query="false") and ${s.promtail.queryLog} (query="true")\n`);
    const l = s.promtail.labels;
    out.write(`labels: env="${l.env}" host="${l.host}" (checks); job="${l.app}" host="${l.appHost}" server="${l.server}" (application)\n`);
  }
}

/** --loki-tls-dir: the stack's fixed file names; the `tls:` schema checks each file (exit 2 naming it). */
function lokiTlsFromDir(dir: string): NonNullable<StackUpOptions['lokiTls']> {
  const f = (name: string) => resolve(dir, name);
  const parsed = tlsSchema.safeParse({ ca_file: f('ca.pem'), cert_file: f('client.pem'), key_file: f('client.key') });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `--loki-tls-dir ${dir}: ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(problems.join('\n'), problems);
  }
  return {
    files: { caFile: f('ca.pem'), certFile: f('loki.pem'), keyFile: f('loki.key'), internalCertFile: f('client.pem'), internalKeyFile: f('client.key') },
    client: parsed.data,
  };
}

export const stackCommands: CommandModule = (program: Command) => {
  const stack = program.command('stack').description('start, stop and inspect the local Loki + Promtail (or the OpenTelemetry Collector) + Alertmanager stack (loopback only)');

  stack
    .command('up')
    .description('start the stack in the background and wait until it is ready')
    .addOption(dirOption())
    .option('--loki-port <port>', 'Loki HTTP port (default 3100, or a free one)', int)
    .option('--loki-grpc-port <port>', 'Loki gRPC port (default 9095, or a free one)', int)
    .option('--promtail-port <port>', 'Promtail HTTP port (default 9080, or a free one)', int)
    .option('--alertmanager-port <port>', 'Alertmanager port (default 9093, or a free one)', int)
    .option('--no-promtail', 'do not start a shipper (Promtail or the collector)')
    .addOption(new Option('--shipper <name>', 'what ships the log files to Loki').choices(['promtail', 'otelcol']).default('promtail'))
    .option('--otelcol-port <port>', 'the collector\'s health_check port (default 13133, or a free one)', int)
    .option('--otelcol-config <file>', 'collector config (default otelcol/otelcol.yaml)')
    .option('--no-alertmanager', 'do not start Alertmanager even if its config exists')
    .option('--loki-config <file>', 'Loki config (default loki/loki.yaml)')
    .option('--promtail-config <file>', 'Promtail config (default promtail/promtail.yaml)')
    .option('--alertmanager-config <file>', 'Alertmanager config (default ruler/alertmanager.yml; started only if it exists)')
    .option('--rules <dir>', 'Loki ruler rule files (default ruler/rules)')
    .option('--env <name>', 'env label', 'dev')
    .option('--host <name>', 'host label of check logs (default: this host name)')
    .option('--app <name>', 'job label of the application logs', 'app')
    .option('--app-host <name>', 'host label of the application logs (its domain)')
    .option('--server <name>', 'server label of the application logs')
    .option('--check-log-dir <dir>', 'folder of <check>.log files to ship (default <dir>/var/log/imom)')
    .option('--console-log <file>', 'application console log (default <dir>/var/log/app/console.log)')
    .option('--query-log <file>', 'application query log (default <dir>/var/log/app/query.log)')
    .option('--chat-webhook <url>', 'start the chat relay too, posting alerts to this generic JSON webhook (Alertmanager is wired to it)')
    .option('--grafana-url <url>', 'Grafana base URL for the Explore links in chat messages')
    .option('--loki-tls-dir <dir>', 'run Loki on mutual TLS (loki/loki-tls.yaml) with the files of <dir>: ca.pem (the CA), loki.pem/loki.key (Loki\'s certificate), client.pem/client.key (the client certificate of Loki\'s own clients, Promtail and the relay)')
    .option('--ha', 'the HA cluster (loki/loki-ha.yaml): versitygw as the S3 store, three Loki members, nginx as the entry point on the Loki ports')
    .option('--json', 'print the state as JSON')
    .action(action(async (o: {
      dir: string; lokiPort?: number; lokiGrpcPort?: number; promtailPort?: number; otelcolPort?: number; alertmanagerPort?: number; promtail: boolean; alertmanager: boolean;
      shipper: Shipper; lokiConfig?: string; promtailConfig?: string; otelcolConfig?: string; alertmanagerConfig?: string; rules?: string; env: string; host?: string; app: string; appHost?: string;
      server?: string; checkLogDir?: string; consoleLog?: string; queryLog?: string; json?: boolean; chatWebhook?: string; grafanaUrl?: string; lokiTlsDir?: string; ha?: boolean;
    }) => {
      const s = await stackUp({
        dir: o.dir,
        ports: { loki: o.lokiPort, lokiGrpc: o.lokiGrpcPort, promtail: o.promtailPort, otelcol: o.otelcolPort, alertmanager: o.alertmanagerPort },
        promtail: o.promtail, shipper: o.shipper, otelcolConfig: o.otelcolConfig,
        alertmanager: o.alertmanager ? 'auto' : false,
        lokiConfig: o.lokiConfig, promtailConfig: o.promtailConfig, alertmanagerConfig: o.alertmanagerConfig, rulesDir: o.rules,
        labels: { env: o.env, host: o.host, app: o.app, appHost: o.appHost, server: o.server },
        paths: { checkLogDir: o.checkLogDir, consoleLog: o.consoleLog, queryLog: o.queryLog },
        relay: o.chatWebhook ? { grafanaUrl: o.grafanaUrl, targets: [{ name: 'chat', type: 'webhook', url: o.chatWebhook, send_resolved: true }] } : undefined,
        ...(o.lokiTlsDir ? { lokiTls: lokiTlsFromDir(o.lokiTlsDir) } : {}),
        ...(o.ha ? { ha: true } : {}),
      });
      if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      else {
        process.stdout.write(s.alreadyRunning ? `stack already running in ${s.dir}\n` : `stack up in ${s.dir}\n`);
        printState(s, process.stdout);
      }
      return EXIT.OK;
    }));

  stack
    .command('down')
    .description('stop every component recorded in the stack folder (data is kept)')
    .addOption(dirOption())
    .action(action(async (o: { dir: string }) => {
      const r = await stackDown(o.dir);
      if (r.length === 0) process.stdout.write(`no stack recorded in ${o.dir}\n`);
      for (const c of r) process.stdout.write(`${c.name.padEnd(12)} pid ${String(c.pid).padEnd(8)} ${c.was}\n`);
      return EXIT.OK;
    }));

  stack
    .command('status')
    .description('each component, its pid, URL and whether it is ready; exits 1 if any is not')
    .addOption(dirOption())
    .option('--json', 'print as JSON')
    .action(action(async (o: { dir: string; json?: boolean }) => {
      const { state, components, ring } = await stackStatus(o.dir);
      if (o.json) process.stdout.write(JSON.stringify({ dir: o.dir, components, ...(ring ? { ring } : {}) }, null, 2) + '\n');
      else if (!state) process.stdout.write(`no stack recorded in ${o.dir} (imom stack up --dir ${o.dir})\n`);
      else {
        for (const c of components) {
          const st = !c.running ? 'not running' : c.ready ? 'ready' : 'not ready';
          process.stdout.write(`${c.name.padEnd(12)} pid ${String(c.pid).padEnd(8)} ${c.url.padEnd(24)} ${st.padEnd(11)} (${c.detail})\n`);
        }
        if (state.ha) process.stdout.write(`entry point  ${state.ha.entry} (gRPC 127.0.0.1:${state.ha.grpcPort})\n`);
        if (typeof ring === 'string') process.stdout.write(`ring         unknown (${ring})\n`);
        else for (const m of ring ?? []) process.stdout.write(`ring         ${m.id.padEnd(10)} ${m.state}${m.unhealthy ? ' (unhealthy: no heartbeat for over 1 min)' : ''} ${m.address}\n`);
      }
      const ringOk = ring === undefined || (typeof ring !== 'string' && ring.every((m) => m.state === 'ACTIVE' && !m.unhealthy));
      return state && components.every((c) => c.ready) && ringOk ? EXIT.OK : EXIT.PROBLEM;
    }));
};
