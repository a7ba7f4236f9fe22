/**
 * The real OpenTelemetry Collector (otelcol-imom, scripts/setup/otelcol.sh) for tests, with
 * otelcol/otelcol.yaml and the same label and path options as startPromtail, on kernel-chosen
 * loopback ports, offsets and sending queue in a fresh folder under .tmp/.
 *
 *   const oc = await startOtelcol({ lokiUrl: loki.url, checkLogDir, consoleLog, queryLog, env, host, app, appHost, server, tenant?, vars? })
 *     oc.dataDir, oc.storageDir, oc.logFile, stop(), kill(), restart(), close(), metrics()
 *     start/restart resolve once the health_check extension answers 200 (pipelines running).
 *     await oc.accepted(receiver)  log records that receiver (file_log/checks|console|query) handed on
 *     await oc.sent()              log records the exporter has had accepted by Loki
 */
import { join } from 'node:path';
import { otelcolSpec, waitReady, type OtelcolSpecOptions } from '../../agent/src/stack/components.js';
import { logTail } from '../../agent/src/stack/process.js';
import { freePorts, tempDir } from './proc.js';
import { managed, type Managed } from './loki.js';

export interface StartOtelcolOptions extends Omit<OtelcolSpecOptions, 'dataDir' | 'healthPort' | 'metricsPort'> {
  readonly dataDir?: string;
  readonly readyTimeoutMs?: number;
}

export interface OtelcolHandle extends Managed {
  readonly dataDir: string;
  readonly storageDir: string;
  readonly metricsUrl: string;
  metrics(): Promise<string>;
  accepted(receiver: 'file_log/checks' | 'file_log/console' | 'file_log/query'): Promise<number>;
  sent(): Promise<number>;
}

/**
 * A counter's value from Prometheus text: the sum over series whose labels include `match`.
 * The collector 0.165 names its counters without the _total suffix; either is accepted.
 */
function counter(text: string, name: string, match = ''): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name}_total{`)) || !line.includes(match)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

export async function startOtelcol(opts: StartOtelcolOptions): Promise<OtelcolHandle> {
  const dataDir = opts.dataDir ?? tempDir('otelcol');
  const nowhere = join(dataDir, 'not-configured');
  // Two ports picked here and bound later by the collector: another test file may take one in
  // between (EADDRINUSE, seen with four files at once); then start again on new ports.
  for (let attempt = 1; ; attempt++) {
    const [healthPort, metricsPort] = (await freePorts(2)) as [number, number];
    const spec = otelcolSpec({
      ...opts, dataDir, healthPort, metricsPort,
      checkLogDir: opts.checkLogDir ?? nowhere,
      consoleLog: opts.consoleLog ?? join(nowhere, 'console.log'),
      queryLog: opts.queryLog ?? join(nowhere, 'query.log'),
      logFile: opts.logFile ?? join(dataDir, `otelcol.${attempt}.log`),
      vars: { OTELCOL_LOG_LEVEL: 'warn', ...opts.vars },
    });
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const m = managed(spec, (p) => waitReady(p, `http://127.0.0.1:${healthPort}/`, opts.readyTimeoutMs ?? 30_000), dataDir, opts.dataDir === undefined);
    try {
      await m.start();
    } catch (e) {
      await m.stop();
      if (attempt < 3 && /address already in use/.test(logTail(spec.logFile))) continue;
      throw e;
    }
    const metrics = async () => (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
    return {
      ...m, dataDir, storageDir: join(dataDir, 'storage'), metricsUrl, metrics,
      accepted: async (receiver) => counter(await metrics(), 'otelcol_receiver_accepted_log_records', `receiver="${receiver}"`),
      sent: async () => counter(await metrics(), 'otelcol_exporter_sent_log_records'),
    };
  }
}
