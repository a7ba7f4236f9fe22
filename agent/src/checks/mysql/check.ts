import type { Connection } from 'mysql2/promise';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable } from '../../core/abort.js';
import { reasonOf, redact } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import type { HostPort } from '../../config/types.js';
import type { MysqlInstance } from './schema.js';
import { showMasterStatus, showReplicaChannels, showServerState, type MasterStatus } from './queries.js';
import { masterLines, replicaLines, type Line, type LineOptions } from './lines.js';
import { loadTls, tlsNotices, type LoadedTls } from '../../core/tls/index.js';
import { openConnection, type Opened } from './connect.js';
import { serverTls, type ServerTls } from './tls.js';

const CHECK = 'mysql';

/** `Master=`/`Slave=` carry the host as configured; the port only when it is not 3306, so loopback test pairs stay distinguishable. */
export function displayHost(hp: HostPort): string {
  return hp.port === 3306 ? hp.host : hp.text;
}

/**
 * One reusable connection per server: reconnects after any error, destroyed on abort. Its socket
 * is guarded (guarded-socket.ts): at most `max_reply_bytes` per run, and a parse error of mysql2
 * destroys this connection instead of the agent. TLS as the instance's `tls` says (connect.ts).
 */
class ServerConnection {
  private opened: Opened | undefined;
  private readonly tls: ServerTls | undefined;
  constructor(private readonly hp: HostPort, private readonly inst: MysqlInstance, loaded: LoadedTls | undefined) {
    this.tls = inst.tls && loaded ? serverTls(inst.tls.mode, loaded, hp.host) : undefined;
  }

  /** The server's certificate on the current connection (TLS only). */
  get peer(): Opened['peer'] {
    return this.opened?.peer;
  }

  async use<T>(ctx: RunContext, fn: (c: Connection) => Promise<T>): Promise<T> {
    const onAbort = () => this.drop();
    this.opened?.socket.resetCount();
    try {
      if (!this.opened) {
        this.opened = await openConnection({
          host: this.hp.host, port: this.hp.port, user: this.inst.user, password: this.inst.password,
          maxReplyBytes: this.inst.max_reply_bytes, tls: this.tls,
        }, ctx.signal, ctx.timeoutMs);
        this.opened.conn.on('error', () => this.drop());
      }
      return await abortable(fn(this.opened.conn), ctx.signal, onAbort);
    } catch (e) {
      const cause = this.opened?.socket.failure();
      this.drop();
      throw cause ?? e;
    }
  }

  drop(): void {
    const o = this.opened;
    this.opened = undefined;
    o?.conn.destroy();
    // The sockets too: destroy() of a connection that never finished its login may leave them.
    o?.socket.destroy();
  }
}

/**
 * The primary's status is needed by the primary's own line and by every replica line.
 * Fetches started within `shareMs` of each other share one query.
 */
class MasterStatusSource {
  private last: { at: number; p: Promise<MasterStatus | undefined> } | undefined;
  constructor(private readonly conn: ServerConnection, private readonly shareMs: number) {}
  get(ctx: RunContext): Promise<MasterStatus | undefined> {
    const now = Date.now();
    if (!this.last || now - this.last.at > this.shareMs) {
      const p = this.conn.use(ctx, showMasterStatus);
      p.catch(() => undefined);
      this.last = { at: now, p };
    }
    return this.last.p;
  }
}

/** How long a replica waits for the primary's position after its own status is in: a hung primary never delays replica lines by more. */
const MASTER_GRACE_MS = 1000;

export function mysqlTargets(inst: MysqlInstance, _ctx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password];
  // Read here, at start and on every reload, never per connection.
  const loaded = inst.tls && inst.tls.mode !== 'disabled' ? loadTls(inst.tls) : undefined;
  const masterConn = new ServerConnection(inst.master, inst, loaded);
  const master = new MasterStatusSource(masterConn, 2000);
  const masterName = displayHost(inst.master);

  const options: LineOptions = {
    maxSecondsBehindMaster: inst.max_seconds_behind_master,
    maxConnectionsRatio: inst.max_connections_ratio,
    allowWritableReplicas: inst.allow_writable_replicas,
  };
  /** The TLS notices of a server's connection: a key readable by others, our certificate or the server's expiring. */
  const notices = (conn: ServerConnection, hp: HostPort): string[] =>
    loaded ? tlsNotices(loaded, conn.peer ? [{ of: `server ${hp.text}`, ...conn.peer }] : []) : [];
  // Server error texts (Last_IO_Error) go into lines: the password must not, should a server quote it.
  const toResults = (target: string, lines: Line[]) =>
    lines.map((l) => r.fields(target, l.status, l.fields.map(([k, v]) => [k, typeof v === 'string' ? redact(v, secrets) : v] as const)));

  const masterTarget: Target = {
    id: `${CHECK}/${inst.name}/master/${inst.master.text}`,
    target: inst.master.text,
    async run(ctx) {
      const st = await master.get(ctx);
      const state = await masterConn.use(ctx, showServerState);
      return toResults(inst.master.text, masterLines(masterName, st, state, options, notices(masterConn, inst.master)));
    },
    failure(reason, time) {
      return [r.fields(inst.master.text, 'ERROR', [['Master', masterName], ['Error', reasonOf(reason, secrets)]], time)];
    },
    async close() { masterConn.drop(); },
  };

  const slaveTargets = inst.slaves.map((hp): Target => {
    const conn = new ServerConnection(hp, inst, loaded);
    const name = displayHost(hp);
    return {
      id: `${CHECK}/${inst.name}/slave/${hp.text}`,
      target: hp.text,
      async run(ctx) {
        const masterP = master.get(ctx).catch(() => undefined);
        const { channels, state } = await conn.use(ctx, async (c) => ({ channels: await showReplicaChannels(c), state: await showServerState(c) }));
        const m = await Promise.race([masterP, delay(MASTER_GRACE_MS, undefined)]);
        return toResults(hp.text, replicaLines(name, inst.master, m, channels, state, options, notices(conn, hp)));
      },
      failure(reason, time) {
        return [r.fields(hp.text, 'ERROR', [['Slave', name], ['Error', reasonOf(reason, secrets)]], time)];
      },
      async close() { conn.drop(); },
    };
  });
  return [masterTarget, ...slaveTargets];
}

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((res) => setTimeout(res, ms, value).unref());
}

export type { CheckResult };
