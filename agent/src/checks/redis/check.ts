import { Redis } from 'ioredis';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import type { HostPort } from '../../config/types.js';
import type { RedisInstance } from './schema.js';

const CHECK = 'redis';

/** Parses INFO output (`key:value` lines) into a map. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** One reusable connection per node; no auto-reconnect or offline queue, so a dead node fails fast. */
class NodeConnection {
  private client: Redis | undefined;
  constructor(private readonly hp: HostPort, private readonly inst: RedisInstance) {}

  /** ioredis rejects with "Connection is closed." and reports the cause only as an 'error' event. */
  private lastError: Error | undefined;

  async info(ctx: RunContext, section: string): Promise<string> {
    const onAbort = () => this.drop();
    this.lastError = undefined;
    try {
      if (!this.client) {
        const c = new Redis({
          host: this.hp.host, port: this.hp.port, username: this.inst.username, password: this.inst.password,
          lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null,
          connectTimeout: ctx.timeoutMs, enableReadyCheck: false,
        });
        c.on('error', (e: Error) => { this.lastError = e; });
        c.on('end', () => { if (this.client === c) this.client = undefined; });
        this.client = c;
        await abortable(c.connect(), ctx.signal, onAbort);
      }
      return await abortable(this.client.info(section), ctx.signal, onAbort);
    } catch (e) {
      this.drop();
      throw ctx.signal.aborted || !this.lastError ? e : this.lastError;
    }
  }

  drop(): void {
    const c = this.client;
    this.client = undefined;
    c?.disconnect(false);
  }
}

type Role = 'master' | 'slave';

export function redisTargets(inst: RedisInstance, _ctx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password];
  const expected: [HostPort, Role][] = [
    ...inst.masters.map((hp): [HostPort, Role] => [hp, 'master']),
    ...inst.slaves.map((hp): [HostPort, Role] => [hp, 'slave']),
  ];
  return expected.map(([hp, want]): Target => {
    const conn = new NodeConnection(hp, inst);
    const node = hp.text;
    return {
      id: `${CHECK}/${inst.name}/${node}`,
      target: node,
      async run(ctx): Promise<CheckResult[]> {
        const info = parseInfo(await conn.info(ctx, 'replication'));
        const role = info.get('role') ?? 'unknown';
        if (role !== want) {
          return [r.message(node, 'CRITICAL', `Node ${node} is expected to be ${want} but found ${role}`)];
        }
        if (role === 'slave') {
          const link = info.get('master_link_status') ?? 'unknown';
          const upstream = `${info.get('master_host') ?? '?'}:${info.get('master_port') ?? '?'}`;
          if (link !== 'up') {
            return [r.fields(node, 'ERROR', [
              ['Node', node], ['Role', role], ['Master', upstream], ['Master_Link_Status', link],
              ['Master_Link_Down_Since_Seconds', info.get('master_link_down_since_seconds') ?? null],
            ])];
          }
        }
        return [r.fields(node, 'OK', [['Node', node], ['Role', role]])];
      },
      failure(reason, time) {
        return [r.message(node, 'CRITICAL', `Node ${node} is unreachable (${reasonOf(reason, secrets)})`, time)];
      },
      async close() { conn.drop(); },
    };
  });
}
