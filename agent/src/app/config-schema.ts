/**
 * The agent's config file: the top-level keys, every output's schema and every check's, put
 * together here because this is the one place that knows all of them.
 */
import { z } from 'zod';
import { CHECKS } from '../checks/all.js';
import type { CheckDefinition, InstanceSchema } from '../core/check.js';
import { outputsSchema } from '../outputs/registry.js';
import { duration, hostPort, isValidTimeZone } from '../config/types.js';

/** `checks.<name>`: a list of that check's instances, their names unique. */
function instanceList<S extends InstanceSchema>(def: CheckDefinition<S>): z.ZodOptional<z.ZodArray<S>> {
  return z
    .array(def.schema)
    .optional()
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items?.forEach((it, i) => {
        if (seen.has(it.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate instance name "${it.name}"` });
        seen.add(it.name);
      });
    })
    .meta({ description: def.description });
}

type Checks = typeof CHECKS;
type ChecksShape = { [K in keyof Checks]: z.ZodOptional<z.ZodArray<Checks[K]['schema']>> };

function checksSchema() {
  // Object.entries forgets which schema goes with which key; ChecksShape restores it.
  const shape = Object.fromEntries(Object.entries(CHECKS).map(([name, def]) => [name, instanceList(def as CheckDefinition)])) as unknown as ChecksShape;
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
    heartbeat_interval: duration
      .prefault('60s')
      .meta({ description: 'How often the agent writes its heartbeat line (check "heartbeat", `Status=OK, Agent=alive`), the one stream AgentSilent reads: keep it below AgentSilent\'s 5m' }),
    state_dir: z.string().min(1).default('/var/lib/imom').meta({ description: 'Where checks keep state across restarts: <state_dir>/<check>/<instance>/' }),
    outputs: outputsSchema.prefault({}),
    checks: checksSchema().prefault({}),
    metrics: z
      .object({
        listen: hostPort.prefault('127.0.0.1:9464').meta({ description: 'host:port of GET /metrics and /healthz; keep it on loopback (the numbers name your hosts)' }),
      })
      .strict()
      .optional()
      .meta({ description: 'The agent\'s own metrics (Prometheus text) and a health check; read at start, a reload does not move them' }),
  })
  .strict();

export type AgentConfig = z.output<typeof configSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
