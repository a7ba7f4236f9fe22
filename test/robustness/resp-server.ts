/**
 * Just enough RESP2 for startHostile, answering as a one-node Redis (Cluster) master does: AUTH,
 * INFO replication and memory, CLUSTER NODES and CLUSTER INFO. Requests are arrays of bulk
 * strings (what every client sends); anything else gets an error reply.
 */
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { parseReply } from '../../agent/src/common/redis/resp.js';
import type { Protocol } from './hostile.js';

/** Far above any request of the checks (AUTH with a long password is under 1 KiB). */
const MAX_REQUEST_BYTES = 1024 * 1024;

const bulk = (text: string) => Buffer.from(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
const lines = (...l: string[]) => `${l.join('\r\n')}\r\n`;

/** A node that does not know its own ip (`:0@0`): the checks take the address they dialled. */
export const SELF_LINE = '07c37dfeb235213a872192d90877d0cd55635b91 :0@0 myself,master - 0 0 1 connected 0-16383';

export interface RespOptions {
  /** CLUSTER NODES; one master serving every slot by default. */
  readonly clusterNodes?: string;
  /**
   * How the oversized reply starts: a bulk header announcing the size (`$2147483648`), or an
   * error line that never ends (no size to refuse up front: only the byte count stops it).
   */
  readonly oversized?: 'bulk' | 'endless-line';
}

export function respProtocol(opts: RespOptions = {}): Protocol {
  const answer = (args: readonly string[]): Buffer => {
    const [cmd = '', sub = ''] = args.map((a) => a.toUpperCase());
    if (cmd === 'AUTH') return Buffer.from('+OK\r\n');
    // The redis check sends INFO (default sections); redis_cluster INFO memory.
    if (cmd === 'INFO' && (sub === 'REPLICATION' || sub === '')) return bulk(lines('# Replication', 'role:master', 'connected_slaves:0'));
    if (cmd === 'INFO' && sub === 'MEMORY') return bulk(lines('# Memory', 'used_memory:1000000', 'maxmemory:0', 'maxmemory_policy:noeviction'));
    if (cmd === 'CLUSTER' && sub === 'NODES') return bulk(opts.clusterNodes ?? `${SELF_LINE}\n`);
    if (cmd === 'CLUSTER' && sub === 'INFO') {
      return bulk(lines('cluster_state:ok', 'cluster_slots_assigned:16384', 'cluster_slots_ok:16384', 'cluster_slots_pfail:0',
        'cluster_slots_fail:0', 'cluster_known_nodes:1', 'cluster_size:1', 'cluster_current_epoch:1'));
    }
    return Buffer.from(`-ERR unknown command '${args[0] ?? ''}'\r\n`);
  };
  return {
    reply(pending) {
      const p = parseReply(pending, 0, MAX_REQUEST_BYTES);
      if ('need' in p) return undefined;
      const args = Array.isArray(p.value) ? p.value.filter((v): v is string => typeof v === 'string') : [];
      return { reply: answer(args), consumed: p.end };
    },
    oversizedHeader: (size) => Buffer.from(opts.oversized === 'endless-line' ? '-' : `$${size}\r\n`),
    /** A null bulk string nobody asked for (the reply that made ioredis throw outside any promise). */
    extra: () => Buffer.from('$-1\r\n'),
  };
}

/** A well-behaved server for `protocol`: every request gets its valid reply (a view too large, a confused view). */
export async function startAnswering(protocol: Protocol): Promise<{ readonly address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      for (let r = protocol.reply(pending); r; r = protocol.reply(pending)) {
        pending = pending.subarray(r.consumed);
        s.write(r.reply);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
