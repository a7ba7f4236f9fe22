/**
 * The composition root: the one place that reads the config into checks, outputs and a
 * scheduler and wires them check → result → formatter → outputs. Nothing below imports it.
 */
import { mkdirSync } from 'node:fs';
import { resolveHost } from '../config/load.js';
import { Scheduler } from '../core/scheduler.js';
import { OutputPipeline } from '../outputs/pipeline.js';
import type { AgentConfig } from './config-schema.js';
import { buildTargets } from './targets.js';

export interface AgentOptions {
  /** Only these checks (`--only mysql,redis`). */
  only?: readonly string[];
  /** Also print LOG_FILE lines to stdout (`imom check`). */
  stdout?: boolean;
}

export class Agent {
  readonly outputs: OutputPipeline;
  readonly scheduler: Scheduler;
  readonly host: string;

  static async create(cfg: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
    const host = resolveHost(cfg.host);
    mkdirSync(cfg.state_dir, { recursive: true });
    // Targets first: a check that cannot be built leaves no output (a spool lock) open.
    const targets = await buildTargets(cfg, opts.only);
    const outputs = new OutputPipeline({ outputs: cfg.outputs, env: cfg.env, time_zone: cfg.time_zone }, host, { stdout: opts.stdout });
    return new Agent(host, outputs, new Scheduler(targets, (results) => outputs.write(results)));
  }

  private constructor(host: string, outputs: OutputPipeline, scheduler: Scheduler) {
    this.host = host;
    this.outputs = outputs;
    this.scheduler = scheduler;
  }

  /** Graceful stop: in-flight checks finish, every output is flushed. */
  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.outputs.close();
  }
}
