import { join } from 'node:path';
import type { z } from 'zod';
import { CHECK_NAMES, CHECKS, type CheckName } from '../checks/all.js';
import type { CheckDefinition } from '../core/check.js';
import type { ScheduledTarget } from '../core/scheduler.js';
import type { AgentConfig } from './config-schema.js';

/** Every configured target of every check (or of `only`), each with its interval and timeout. */
export async function buildTargets(cfg: AgentConfig, only?: readonly string[]): Promise<ScheduledTarget[]> {
  const out: ScheduledTarget[] = [];
  for (const name of CHECK_NAMES) {
    if (only && !only.includes(name)) continue;
    out.push(...(await checkTargets(name, cfg)));
  }
  return out;
}

async function checkTargets<K extends CheckName>(name: K, cfg: AgentConfig): Promise<ScheduledTarget[]> {
  type Schema = (typeof CHECKS)[K]['schema'];
  const def: CheckDefinition<Schema> = CHECKS[name];
  // TypeScript cannot correlate cfg.checks[K] with CHECKS[K] for a generic K (a union on each
  // side); zod validated these instances against exactly CHECKS[K].schema.
  const instances = (cfg.checks[name] ?? []) as z.output<Schema>[];
  const out: ScheduledTarget[] = [];
  for (const inst of instances) {
    // One folder per instance, so two instances (or two checks) never share a state file.
    const stateDir = join(cfg.state_dir, name, inst.name);
    for (const target of await def.targets(inst, { stateDir })) {
      out.push({ check: name, instance: inst.name, target, intervalMs: inst.interval ?? cfg.interval, timeoutMs: inst.timeout ?? cfg.timeout });
    }
  }
  return out;
}
