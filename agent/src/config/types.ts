import { z } from 'zod';

/** `60s`, `1m30s`, `500ms`, `2h` → milliseconds. Same units as Loki and Promtail. */
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

export const duration = z
  .string()
  .transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 10s, 1m or 500ms` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'A duration: 500ms, 10s, 1m, 1h30m' });

export interface HostPort {
  host: string;
  port: number;
  /** As written in the config: lines carry it unchanged. */
  text: string;
}

const HOSTPORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

export function parseHostPort(s: string): HostPort | undefined {
  const m = HOSTPORT.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port, text: s.trim() };
}

export const hostPort = z
  .string()
  .transform((s, ctx) => {
    const hp = parseHostPort(s);
    if (!hp) {
      ctx.addIssue({ code: 'custom', message: 'expected host:port' });
      return z.NEVER;
    }
    return hp;
  })
  .meta({ description: 'host:port', examples: ['10.100.21.230:3306'] });

/** A secret: its value never appears in an error, a line or a snapshot. */
export const secret = z.string().meta({ description: 'A secret; use ${file:/path}, ${credential:NAME} or ${ENV_VAR} substitution, or <key>_file: /path in its place', writeOnly: true });

export const hostPortList = z.array(hostPort);

/** Keys every check instance has: spread into each check's schema. */
export const instanceBase = {
  name: z.string().min(1).meta({ description: 'Instance name, unique within the check (e.g. order-db)' }),
  interval: duration.optional().meta({ description: 'Overrides the top-level interval for this instance' }),
  timeout: duration.optional().meta({ description: 'Overrides the top-level per-target timeout for this instance' }),
};

/**
 * `max_reply_bytes`: the cap on what one reply may hold, defaulting to `defaultBytes`. At least
 * 1 KiB, so that no cap is too small for a healthy server's smallest answer.
 */
export function maxReplyBytes(defaultBytes: number, description: string) {
  return z.number().int().min(1024).default(defaultBytes).meta({ description });
}

export function isValidTimeZone(tz: string): boolean {
  if (tz === 'local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isHostPort(v: unknown): v is HostPort {
  return typeof v === 'object' && v !== null && typeof (v as HostPort).host === 'string' && typeof (v as HostPort).port === 'number' && typeof (v as HostPort).text === 'string';
}

/**
 * A refinement for an instance whose `keys` each give a role to nodes (a host:port or a list):
 * the same host:port twice among them is an error naming both places. The same Redis node under
 * `masters` and `slaves` validated before, then wrote a false "run skipped" ERROR every cycle and
 * never checked the slave role. The loader prints the other place with its line (params.also,
 * relative to the instance; depth: how many path elements of this issue are the instance's).
 */
export function distinctNodes(...keys: string[]) {
  return (inst: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const seen = new Map<string, PropertyKey[]>();
    for (const key of keys) {
      const v = inst[key];
      const places: Array<[PropertyKey[], unknown]> = Array.isArray(v) ? v.map((x, i) => [[key, i], x]) : [[[key], v]];
      for (const [path, hp] of places) {
        if (!isHostPort(hp)) continue;
        const id = `${hp.host.toLowerCase()}:${hp.port}`;
        const first = seen.get(id);
        if (first) ctx.addIssue({ code: 'custom', path, message: 'the same node as', params: { also: first, depth: path.length } });
        else seen.set(id, path);
      }
    }
  };
}
