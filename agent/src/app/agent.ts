import { mkdirSync } from 'node:fs';
import type TransportStream from 'winston-transport';
import { CHECKS } from '../checks/registry.js';
import { resolveHost } from '../config/load.js';
import type { AgentConfig } from '../config/schema.js';
import { OutputPipeline } from '../outputs/pipeline.js';
import type { CheckResult } from './result.js';
import { Scheduler, type ScheduledTarget } from './scheduler.js';

export interface AgentOptions {
  /** Only these checks (`--only mysql,redis`). */
  only?: readonly string[];
  /** Also print LOG_FILE lines to stdout (`--once`). */
  stdout?: boolean;
  /** Extra transports (e.g. the Loki push output). */
  extraTransports?: TransportStream[];
  onResults?: (results: CheckResult[]) => void;
}

/** Builds every configured target from the registry: the agent never names a check. */
export async function buildTargets(cfg: AgentConfig, only?: readonly string[]): Promise<ScheduledTarget[]> {
  const out: ScheduledTarget[] = [];
  const checks = cfg.checks as Record<string, { name: string; interval?: number; timeout?: number }[] | undefined>;
  for (const def of CHECKS) {
    if (only && !only.includes(def.name)) continue;
    for (const inst of checks[def.name] ?? []) {
      const stateDir = `${cfg.state_dir}/${def.name}/${inst.name}`;
      for (const target of await def.targets(inst, { stateDir })) {
        out.push({ check: def.name, instance: inst.name, target, intervalMs: inst.interval ?? cfg.interval, timeoutMs: inst.timeout ?? cfg.timeout });
      }
    }
  }
  return out;
}

export class Agent {
  readonly outputs: OutputPipeline;
  readonly scheduler: Scheduler;
  readonly host: string;

  static async create(cfg: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
    return new Agent(cfg, opts, await buildTargets(cfg, opts.only));
  }

  private constructor(readonly cfg: AgentConfig, opts: AgentOptions, targets: ScheduledTarget[]) {
    this.host = resolveHost(cfg.host);
    mkdirSync(cfg.state_dir, { recursive: true });
    this.outputs = new OutputPipeline(cfg, this.host, { stdout: opts.stdout, extra: opts.extraTransports });
    this.scheduler = new Scheduler(targets, (results) => {
      this.outputs.write(results);
      opts.onResults?.(results);
    });
  }

  /** Graceful stop: in-flight checks finish, every output is flushed. */
  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.outputs.close();
  }
}
