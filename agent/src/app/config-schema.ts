import { z } from 'zod';
import { CHECKS } from '../checks/registry.js';
import { OUTPUT_SCHEMAS } from '../outputs/registry.js';
import { duration, isValidTimeZone } from './types.js';

function checksSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const c of CHECKS) {
    shape[c.name] = z
      .array(c.schema)
      .optional()
      .superRefine((items, ctx) => {
        const seen = new Set<string>();
        (items as { name: string }[] | undefined)?.forEach((it, i) => {
          if (seen.has(it.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate instance name "${it.name}"` });
          seen.add(it.name);
        });
      })
      .meta({ description: c.description });
  }
  return z.object(shape).strict();
}

export const configSchema = z
  .object({
    env: z.string().min(1).default('prod').meta({ description: 'Environment label (prod, stage, dev)' }),
    host: z.string().min(1).default('auto').meta({ description: 'Host label; "auto" uses the OS hostname' }),
    interval: duration.prefault('60s'),
    timeout: duration.prefault('10s').meta({ description: 'Per-target timeout' }),
    time_zone: z
      .string()
      .default('local')
      .refine(isValidTimeZone, 'expected "local" or an IANA time zone such as Asia/Seoul')
      .meta({ description: 'Time zone of the LOG_FILE and syslog timestamps' }),
    state_dir: z.string().min(1).default('/var/lib/imom').meta({ description: 'Where checks keep state across restarts' }),
    outputs: z.object(OUTPUT_SCHEMAS).strict().prefault({}),
    checks: checksSchema().prefault({}),
  })
  .strict();

export type AgentConfig = z.output<typeof configSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
