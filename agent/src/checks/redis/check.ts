import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import type { HostPort } from '../../config/types.js';
import type { RedisInstance } from './schema.js';
import { NodeConnection } from '../../common/redis/connection.js';
import { parseInfo } from '../../common/redis/info.js';

const CHECK = 'redis';

/** Reads INFO <section> over the node's one reusable connection; a dead node fails fast, by its cause. */
async function readInfo(conn: NodeConnection, ctx: RunContext, section: string): Promise<string> {
  const onAbort = () => conn.drop();
  try {
    const c = await abortable(conn.open(ctx.timeoutMs), ctx.signal, onAbort);
    return await abortable(c.text(['INFO', section]), ctx.signal, onAbort);
  } catch (e) {
    conn.drop();
    throw e;
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
    const conn = new NodeConnection({ host: hp.host, port: hp.port, username: inst.username, password: inst.password }, inst.max_reply_bytes);
    const node = hp.text;
    return {
      id: `${CHECK}/${inst.name}/${node}`,
      target: node,
      async run(ctx): Promise<CheckResult[]> {
        const info = parseInfo(await readInfo(conn, ctx, 'replication'));
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
