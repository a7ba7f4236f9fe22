import mysql, { type Connection } from 'mysql2/promise';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { abortable } from '../../core/abort.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult, Field } from '../../core/result.js';
import type { HostPort } from '../../config/types.js';
import type { MysqlInstance } from './schema.js';
import { showMasterStatus, showReplicaStatus, type MasterStatus } from './queries.js';
import { guardedSocket, type GuardedSocket } from './guarded-socket.js';

const CHECK = 'mysql';

/** `Master=`/`Slave=` carry the host as configured; the port only when it is not 3306, so loopback test pairs stay distinguishable. */
export function displayHost(hp: HostPort): string {
  return hp.port === 3306 ? hp.host : hp.text;
}

/**
 * One reusable connection per server: reconnects after any error, destroyed on abort. Its socket
 * is guarded (guarded-socket.ts): at most `max_reply_bytes` per run, and a parse error of mysql2
 * destroys this connection instead of the agent.
 */
class ServerConnection {
  private conn: Connection | undefined;
  private socket: GuardedSocket | undefined;
  constructor(private readonly hp: HostPort, private readonly inst: MysqlInstance) {}

  async use<T>(ctx: RunContext, fn: (c: Connection) => Promise<T>): Promise<T> {
    const onAbort = () => this.drop();
    this.socket?.resetCount();
    try {
      if (!this.conn) {
        const socket = (this.socket = guardedSocket(this.hp.host, this.hp.port, this.inst.max_reply_bytes));
        this.conn = await abortable(
          mysql.createConnection({
            user: this.inst.user, password: this.inst.password, connectTimeout: ctx.timeoutMs, stream: () => socket.socket,
          }),
          ctx.signal,
          onAbort,
        );
        this.conn.on('error', () => this.drop());
      }
      const c = this.conn;
      return await abortable(fn(c), ctx.signal, onAbort);
    } catch (e) {
      const cause = this.socket?.failure();
      this.drop();
      throw cause ?? e;
    }
  }

  drop(): void {
    const c = this.conn;
    this.conn = undefined;
    // A late connect promise can still resolve after an abort: destroy() tolerates it.
    c?.destroy();
    // The socket too: a connect that has not resolved yet has no connection to destroy.
    this.socket?.socket.destroy();
    this.socket = undefined;
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
  const masterConn = new ServerConnection(inst.master, inst);
  const master = new MasterStatusSource(masterConn, 2000);
  const masterName = displayHost(inst.master);

  const masterTarget: Target = {
    id: `${CHECK}/${inst.name}/master/${inst.master.text}`,
    target: inst.master.text,
    async run(ctx) {
      const st = await master.get(ctx);
      if (!st) {
        return [r.fields(inst.master.text, 'ERROR', [['Master', masterName], ['Error', 'binary logging is off (SHOW MASTER STATUS is empty)']])];
      }
      return [r.fields(inst.master.text, 'OK', [['Master', masterName], ['Master_Log_File', st.file], ['Master_Log_Position', st.position]])];
    },
    failure(reason, time) {
      return [r.fields(inst.master.text, 'ERROR', [['Master', masterName], ['Error', reasonOf(reason, secrets)]], time)];
    },
    async close() { masterConn.drop(); },
  };

  const slaveTargets = inst.slaves.map((hp): Target => {
    const conn = new ServerConnection(hp, inst);
    const name = displayHost(hp);
    return {
      id: `${CHECK}/${inst.name}/slave/${hp.text}`,
      target: hp.text,
      async run(ctx) {
        const masterP = master.get(ctx).catch(() => undefined);
        const st = await conn.use(ctx, showReplicaStatus);
        const m = await Promise.race([masterP, delay(MASTER_GRACE_MS, undefined)]);
        if (!st) {
          return [r.fields(hp.text, 'ERROR', [['Slave', name], ['Error', 'replication is not configured (SHOW REPLICA STATUS is empty)']])];
        }
        const lagging = st.Seconds_Behind_Master === null || st.Seconds_Behind_Master >= inst.max_seconds_behind_master;
        const broken = st.Slave_IO_Running !== 'Yes' || st.Slave_SQL_Running !== 'Yes';
        const fields: Field[] = [
          ['Slave', name],
          ['Master_Log_File', m?.file ?? null],
          ['Master_Log_Position', m?.position ?? null],
          ['Slave_Master_Log_File', st.Master_Log_File],
          ['Slave_Read_Master_Log_Pos', st.Read_Master_Log_Pos],
          ['Relay_Master_Log_File', st.Relay_Master_Log_File],
          ['Exec_Master_Log_Pos', st.Exec_Master_Log_Pos],
          ['Seconds_Behind_Master', st.Seconds_Behind_Master],
          ['Slave_IO_Running', st.Slave_IO_Running],
          ['Slave_SQL_Running', st.Slave_SQL_Running],
        ];
        return [r.fields(hp.text, lagging || broken ? 'ERROR' : 'OK', fields)];
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
