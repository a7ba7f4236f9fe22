import type { z } from 'zod';
import type { CheckResult, Field, Status } from './result.js';

/** What every target run gets from the agent. */
export interface RunContext {
  /**
   * Aborted when the target's timeout expires, and only then: stopping the agent does not abort
   * a run. Stop lets in-flight runs finish (each bounded by its timeout) so that their lines are
   * written, as the SIGTERM test in test/agent/agent.test.ts shows.
   */
  readonly signal: AbortSignal;
  /** Per-target timeout in milliseconds. */
  readonly timeoutMs: number;
}

/** One independently scheduled unit: a node, a server, a cluster. */
export interface Target {
  /** Unique across the agent, used to skip overlapping runs: "mysql/order-db/10.0.0.2:3306". */
  readonly id: string;
  /** The target as configured, for lines about it. */
  readonly target: string;
  run(ctx: RunContext): Promise<CheckResult[]>;
  /** The line(s) for a run that failed without results: timeout, skipped overlap, crash. */
  failure(reason: string, time: Date): CheckResult[];
  /** Release connections when the agent stops. */
  close?(): Promise<void>;
}

export interface InstanceContext {
  /**
   * This instance's own folder for state kept across restarts (e.g. an observed layout):
   * `<state_dir>/<check>/<instance>`. Created by the check when it first writes there.
   */
  readonly stateDir: string;
}

/**
 * A check: a config key under `checks:`, the zod schema of one instance,
 * and how an instance becomes targets. Listed once in `checks/all.ts`.
 */
/** What every instance of every check has (config/types.ts instanceBase). */
export interface InstanceBase {
  readonly name: string;
  /** ms; overrides the agent's interval. */
  readonly interval?: number | undefined;
  /** ms; overrides the agent's per-target timeout. */
  readonly timeout?: number | undefined;
}

export type InstanceSchema = z.ZodType<InstanceBase>;

export interface CheckDefinition<S extends InstanceSchema = InstanceSchema> {
  /** Config key and line tag: "mysql" → syslog tag "mysql_check". */
  readonly name: string;
  readonly description: string;
  /** Schema of one entry of `checks.<name>[]`. */
  readonly schema: S;
  /** May be async, so a check loads its client library only when it is configured (agent RSS). */
  targets(instance: z.output<S>, ctx: InstanceContext): Target[] | Promise<Target[]>;
}

/** Helper so each check's definition keeps its schema's inferred type. */
export function defineCheck<S extends InstanceSchema>(def: CheckDefinition<S>): CheckDefinition<S> {
  return def;
}

/** Convenience for building results inside a check. */
export function resultFactory(check: string, instance: string) {
  return {
    fields(target: string, status: Status, fields: readonly Field[], time = new Date()): CheckResult {
      return { check, instance, target, status, fields, time };
    },
    message(target: string, status: Status, message: string, time = new Date()): CheckResult {
      return { check, instance, target, status, message, time };
    },
  };
}
