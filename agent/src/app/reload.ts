/**
 * What SIGHUP and SIGUSR1 do to a running agent. SIGUSR1 (the shipped logrotate's signal) only
 * reopens the log files, so a config half-edited at midnight is never loaded by a rotation.
 * SIGHUP (`systemctl reload`) reopens them too, then re-reads the main file and conf.d: a valid
 * config is applied live (Agent.reload); an invalid one leaves the running config in place and
 * is reported in one ERROR line with every `FILE:LINE: path: problem`.
 */
import { ConfigError } from '../config/errors.js';
import { AGENT_CHECK } from '../outputs/pipeline.js';
import type { Agent, ReloadSummary } from './agent.js';
import type { AgentConfig } from './config-schema.js';

export interface ReloaderOptions {
  /** Reads and validates the config afresh; throws a ConfigError when it is invalid. */
  readonly load: () => AgentConfig;
  /** The main config file, named in the ERROR line. */
  readonly file: string;
  /** The agent's own progress lines (stderr). */
  readonly say: (line: string) => void;
}

export class Reloader {
  /** Reloads run one after another: two SIGHUPs in a row apply the file twice, never interleaved. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly agent: Agent, private readonly opts: ReloaderOptions) {}

  /** SIGUSR1: reopen the log files, nothing else. */
  reopen(): void {
    this.agent.outputs.reopen();
  }

  /** SIGHUP: reopen the log files, then reload the config. */
  hangup(): void {
    this.agent.outputs.reopen();
    this.queue = this.queue.then(() => this.reload());
  }

  /** Before a graceful stop: no reload starts any more; resolves once the one under way is done. */
  close(): Promise<void> {
    this.closed = true;
    return this.queue;
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    let summary: ReloadSummary;
    try {
      // Read and validated before anything changes: a bad file leaves the running config as it is.
      summary = await this.agent.reload(this.opts.load());
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems : [e instanceof Error ? e.message : String(e)];
      this.opts.say(`imom: config reload failed, running config kept:\n${problems.join('\n')}`);
      // One line: the formatter would turn newlines into spaces; '; ' keeps the problems apart.
      this.agent.outputs.write([{ check: AGENT_CHECK, instance: 'config', target: this.opts.file, status: 'ERROR', time: new Date(),
        message: `config reload failed, running config kept: ${problems.join('; ')}` }]);
      return;
    }
    const s = summary;
    this.opts.say(`imom: config reloaded: ${this.agent.scheduler.size} targets, instances ${s.added} added, ${s.removed} removed, ${s.changed} changed, outputs ${s.outputsReopened ? 'reopened' : 'unchanged'}`);
  }
}
