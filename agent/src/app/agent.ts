/**
 * The composition root: the one place that reads the config into checks, outputs and a
 * scheduler and wires them check → result → formatter → outputs. Nothing below imports it.
 */
import { mkdirSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { resolveHost } from '../config/load.js';
import { tlsFilesDigest } from '../config/tls.js';
import type { ScheduledTarget } from '../core/scheduler.js';
import { Scheduler } from '../core/scheduler.js';
import { OutputPipeline, type PipelineConfig } from '../outputs/pipeline.js';
import type { AgentMetrics } from '../metrics/registry.js';
import type { MetricsServer } from '../metrics/server.js';
import type { AgentConfig } from './config-schema.js';
import { heartbeatLine } from './heartbeat.js';
import { instancePlans, type InstancePlan } from './targets.js';

export interface AgentOptions {
  /** Only these checks (`--only mysql,redis`). */
  only?: readonly string[];
  /** Also print LOG_FILE lines to stdout (`imom check`). */
  stdout?: boolean;
  /** stdout and nothing else: no file, syslog or Loki output is built (`imom check --test`). */
  stdoutOnly?: boolean;
  /** Serve the config's `metrics:` (`imom agent`); a one-shot `imom check` does not. */
  serveMetrics?: boolean;
}

/** What a reload changed. */
export interface ReloadSummary {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly outputsReopened: boolean;
}

interface RunningInstance {
  readonly fingerprint: string;
  readonly targets: readonly ScheduledTarget[];
}

/** What the outputs are built from: a change in any of it reopens them. */
const pipelineConfig = (cfg: AgentConfig): PipelineConfig => ({ outputs: cfg.outputs, env: cfg.env, time_zone: cfg.time_zone });

async function buildAll(plans: readonly InstancePlan[]): Promise<Map<string, RunningInstance>> {
  const out = new Map<string, RunningInstance>();
  for (const p of plans) out.set(p.key, { fingerprint: p.fingerprint, targets: await p.build() });
  return out;
}

export class Agent {
  readonly outputs: OutputPipeline;
  /** tlsFilesDigest of the outputs' TLS files when they were built. */
  private outputsTls: string;
  readonly scheduler: Scheduler;

  static async create(cfg: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
    const host = resolveHost(cfg.host);
    mkdirSync(cfg.state_dir, { recursive: true });
    // Targets first: a check that cannot be built leaves no output (a spool lock) open.
    const running = await buildAll(instancePlans(cfg, opts.only));
    // prom-client (with @opentelemetry/api) is ~7 MB of heap: loaded only when metrics are served.
    const metrics = opts.serveMetrics && cfg.metrics ? new (await import('../metrics/registry.js')).AgentMetrics() : undefined;
    const outputs = new OutputPipeline(pipelineConfig(cfg), host, { stdout: opts.stdout, stdoutOnly: opts.stdoutOnly, observer: metrics });
    const agent = new Agent(cfg, host, opts, running, outputs, metrics);
    if (metrics && cfg.metrics) {
      metrics.watchLoki(() => outputs.lokiStats());
      try {
        const { serveMetrics } = await import('../metrics/server.js');
        agent.metricsServer = await serveMetrics(metrics, cfg.metrics.listen, () => !agent.stopping);
      } catch (e) {
        await agent.stop();
        throw new Error(`metrics.listen ${cfg.metrics.listen.text}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return agent;
  }

  private metricsServer: MetricsServer | undefined;
  private stopping = false;
  private heartbeat: { timer: NodeJS.Timeout; everyMs: number } | undefined;

  /**
   * `imom retire`: one `Agent=retired` heartbeat line through the config's outputs, so
   * AgentSilent stops expecting this host (its rule keeps hosts whose last heartbeat is alive).
   */
  static async retire(cfg: AgentConfig): Promise<string> {
    if (!cfg.outputs.loki && !cfg.outputs.file?.path.includes('{check}')) {
      throw new ConfigError('outputs: no output carries the heartbeat line (outputs.loki, or outputs.file.path with {check}): nothing to retire with');
    }
    const host = resolveHost(cfg.host);
    const outputs = new OutputPipeline(pipelineConfig(cfg), host);
    outputs.writeOwnStream(heartbeatLine('retired', host));
    await outputs.close();
    return host;
  }

  /** Writes the heartbeat line now and every heartbeat_interval (`imom agent` only; a one-shot check writes none). */
  startHeartbeat(): void {
    if (this.heartbeat?.everyMs === this.cfg.heartbeat_interval) return;
    clearInterval(this.heartbeat?.timer);
    const beat = () => this.outputs.writeOwnStream(heartbeatLine('alive', this.hostName));
    beat();
    this.heartbeat = { timer: setInterval(beat, this.cfg.heartbeat_interval), everyMs: this.cfg.heartbeat_interval };
  }

  /** The port /metrics is served on, if it is. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  private constructor(
    private cfg: AgentConfig,
    private hostName: string,
    private readonly opts: AgentOptions,
    private readonly running: Map<string, RunningInstance>,
    outputs: OutputPipeline,
    metrics: AgentMetrics | undefined,
  ) {
    this.outputs = outputs;
    this.outputsTls = tlsFilesDigest(cfg.outputs);
    this.scheduler = new Scheduler([...running.values()].flatMap((r) => r.targets), (results) => this.outputs.write(results), metrics);
  }

  get host(): string {
    return this.hostName;
  }

  /**
   * Applies a new, validated config without a restart. New instances' targets are built first
   * (a check that cannot be built changes nothing), then the outputs are replaced if what they
   * are built from changed, then removed and changed instances stop (a run in flight finishes
   * and reports) and new and changed ones start on their own timers. Unchanged instances keep
   * running untouched. Callers serialise reloads.
   */
  async reload(next: AgentConfig): Promise<ReloadSummary> {
    const host = resolveHost(next.host);
    mkdirSync(next.state_dir, { recursive: true });
    const plans = instancePlans(next, this.opts.only);
    const wanted = new Set(plans.map((p) => p.key));
    const toStart = plans.filter((p) => this.running.get(p.key)?.fingerprint !== p.fingerprint);
    const toStop = [...this.running.keys()].filter((key) => !wanted.has(key) || toStart.some((p) => p.key === key));
    const started = await buildAll(toStart);

    // The TLS files' content too (outputs.loki.tls): a certificate replaced under the same path is read again.
    const tls = tlsFilesDigest(next.outputs);
    const outputsReopened = host !== this.hostName || tls !== this.outputsTls || JSON.stringify(pipelineConfig(next)) !== JSON.stringify(pipelineConfig(this.cfg));
    if (outputsReopened) await this.outputs.replace(pipelineConfig(next), host);
    this.outputsTls = tls;
    this.cfg = next;
    this.hostName = host;

    await this.scheduler.remove(toStop.flatMap((key) => this.running.get(key)!.targets));
    const changed = toStop.filter((key) => wanted.has(key)).length;
    for (const key of toStop) this.running.delete(key);
    for (const [key, r] of started) this.running.set(key, r);
    this.scheduler.add([...started.values()].flatMap((r) => r.targets));
    if (this.heartbeat) this.startHeartbeat();
    return { added: toStart.length - changed, removed: toStop.length - changed, changed, outputsReopened };
  }

  /** Graceful stop: in-flight checks finish, every output is flushed. */
  async stop(): Promise<void> {
    // /healthz says 503 while the agent drains, so a supervisor sees it going.
    this.stopping = true;
    clearInterval(this.heartbeat?.timer);
    await this.scheduler.stop();
    await this.outputs.close();
    await this.metricsServer?.close();
  }
}
