import { join } from 'node:path';
import type { z } from 'zod';
import { tlsFilesDigest } from '../config/tls.js';
import { CHECK_NAMES, CHECKS, type CheckName } from '../checks/all.js';
import type { CheckDefinition } from '../core/check.js';
import type { ScheduledTarget } from '../core/scheduler.js';
import type { AgentConfig } from './config-schema.js';

/** One configured instance, before its targets are built: what a reload compares. */
export interface InstancePlan {
  /** `check/instance`: unique, since instance names are unique within a check. */
  readonly key: string;
  /** Everything its targets are built from; equal fingerprints build equal targets. */
  readonly fingerprint: string;
  build(): Promise<ScheduledTarget[]>;
}

/** Every configured instance of every check (or of `only`). */
export function instancePlans(cfg: AgentConfig, only?: readonly string[]): InstancePlan[] {
  return CHECK_NAMES.filter((name) => !only || only.includes(name)).flatMap((name) => checkPlans(name, cfg));
}

/** Every configured target of every check (or of `only`), each with its interval and timeout. */
export async function buildTargets(cfg: AgentConfig, only?: readonly string[]): Promise<ScheduledTarget[]> {
  const out: ScheduledTarget[] = [];
  for (const plan of instancePlans(cfg, only)) out.push(...(await plan.build()));
  return out;
}

function checkPlans<K extends CheckName>(name: K, cfg: AgentConfig): InstancePlan[] {
  type Schema = (typeof CHECKS)[K]['schema'];
  const def: CheckDefinition<Schema> = CHECKS[name];
  // TypeScript cannot correlate cfg.checks[K] with CHECKS[K] for a generic K (a union on each
  // side); zod validated these instances against exactly CHECKS[K].schema.
  const instances = (cfg.checks[name] ?? []) as z.output<Schema>[];
  return instances.map((inst) => {
    // One folder per instance, so two instances (or two checks) never share a state file.
    const stateDir = join(cfg.state_dir, name, inst.name);
    const intervalMs = inst.interval ?? cfg.interval;
    const timeoutMs = inst.timeout ?? cfg.timeout;
    return {
      key: `${name}/${inst.name}`,
      // The TLS files' content too: a reload reads a certificate replaced under the same path.
      fingerprint: JSON.stringify({ inst, stateDir, intervalMs, timeoutMs, tls: tlsFilesDigest(inst) }),
      build: async () => (await def.targets(inst, { stateDir })).map((target) => ({ check: name, instance: inst.name, target, intervalMs, timeoutMs })),
    };
  });
}
