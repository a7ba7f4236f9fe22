/**
 * The mysql check's lines, built from what the queries read (no I/O here; check.ts reads).
 *
 * Each server's first line is the seed script's, field for field. What the script never said
 * comes on follow-up lines right after it, naming the server (and the channel) the same way, so a
 * search or a rule joins them on `Slave=`/`Master=` (and `Channel=`):
 * - a stopped IO or SQL thread: its Last_*_Errno and Last_*_Error;
 * - a writable replica (read_only, or MySQL's super_read_only, OFF);
 * - Threads_connected at or above max_connections_ratio of max_connections;
 * - a TLS notice (core/tls tlsNotices): our certificate or the server's notices within
 *   expiry_warning, our key file readable by others.
 * A server-level fault (the last two) also makes the server's seed line(s) ERROR, so the target's
 * lines of one cycle never disagree (the rules take a target's last line as its state).
 */
import type { Field, Status } from '../../core/result.js';
import type { MasterStatus, ReplicaStatus, ServerState } from './queries.js';

export interface Line {
  readonly status: Status;
  readonly fields: readonly Field[];
}

export interface LineOptions {
  readonly maxSecondsBehindMaster: number;
  readonly maxConnectionsRatio: number;
  readonly allowWritableReplicas: boolean;
}

/** The configured primary, to tell which channel replicates from it. */
export interface PrimaryRef {
  readonly host: string;
  readonly port: number;
}

/** 0.9 → `90%`, 0.955 → `95.5%`. */
const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** The Threads_connected follow-up, or none. */
function connectionsLine(server: Field, st: ServerState, o: LineOptions): Line | undefined {
  if (!(st.max_connections > 0) || st.Threads_connected < o.maxConnectionsRatio * st.max_connections) return undefined;
  return {
    status: 'ERROR',
    fields: [server, ['Threads_connected', st.Threads_connected], ['Max_Connections', st.max_connections],
      ['Error', `connections at ${percent(st.Threads_connected / st.max_connections)} of max_connections (limit ${percent(o.maxConnectionsRatio)})`]],
  };
}

/** The writable-replica follow-up, or none. */
function writableLine(server: Field, st: ServerState, o: LineOptions): Line | undefined {
  if (o.allowWritableReplicas) return undefined;
  const onOff = (b: boolean) => (b ? 'ON' : 'OFF');
  const fields: Field[] = [server, ['Read_Only', onOff(st.read_only)]];
  if (st.super_read_only !== undefined) fields.push(['Super_Read_Only', onOff(st.super_read_only)]);
  if (!st.read_only) return { status: 'ERROR', fields: [...fields, ['Error', 'replica is writable (read_only=OFF)']] };
  if (st.super_read_only === false) return { status: 'ERROR', fields: [...fields, ['Error', 'replica is writable by SUPER users (super_read_only=OFF)']] };
  return undefined;
}

/** One line per TLS notice, its phrase from core/tls's tlsNotices. */
const noticeLines = (server: Field, notices: readonly string[]): Line[] => notices.map((p) => ({ status: 'ERROR', fields: [server, ['Error', p]] }));

export function masterLines(name: string, m: MasterStatus | undefined, st: ServerState | undefined, o: LineOptions, notices: readonly string[] = []): Line[] {
  const server: Field = ['Master', name];
  const extra = [...(st ? [connectionsLine(server, st, o)].filter((l): l is Line => !!l) : []), ...noticeLines(server, notices)];
  const seed: Line = m
    ? { status: extra.length ? 'ERROR' : 'OK', fields: [server, ['Master_Log_File', m.file], ['Master_Log_Position', m.position]] }
    : { status: 'ERROR', fields: [server, ['Error', 'binary logging is off (SHOW MASTER STATUS is empty)']] };
  return [seed, ...extra];
}

/**
 * One seed line per channel (the default channel's has no `Channel=`, byte for byte the script's),
 * each followed by its thread-error line when a thread is not running, then the server's own lines.
 */
export function replicaLines(name: string, primary: PrimaryRef, m: MasterStatus | undefined, channels: readonly ReplicaStatus[], st: ServerState | undefined, o: LineOptions, notices: readonly string[] = []): Line[] {
  const server: Field = ['Slave', name];
  if (channels.length === 0) {
    return [{ status: 'ERROR', fields: [server, ['Error', 'replication is not configured (SHOW REPLICA STATUS is empty)']] }];
  }
  const serverLines = [...(st ? [writableLine(server, st, o), connectionsLine(server, st, o)].filter((l): l is Line => !!l) : []), ...noticeLines(server, notices)];
  const out: Line[] = [];
  for (const c of channels) {
    const id: Field[] = c.Channel === '' ? [server] : [server, ['Channel', c.Channel]];
    // A named channel of a multi-source replica may replicate from another primary: the configured
    // primary's position is only beside a channel that reads from it.
    const fromPrimary = c.Channel === '' || (c.Master_Port === primary.port && c.Master_Host === primary.host);
    const lagging = c.Seconds_Behind_Master === null || c.Seconds_Behind_Master >= o.maxSecondsBehindMaster;
    const ioDown = c.Slave_IO_Running !== 'Yes';
    const sqlDown = c.Slave_SQL_Running !== 'Yes';
    out.push({
      status: lagging || ioDown || sqlDown || serverLines.length > 0 ? 'ERROR' : 'OK',
      fields: [
        ...id,
        ['Master_Log_File', fromPrimary ? m?.file ?? null : null],
        ['Master_Log_Position', fromPrimary ? m?.position ?? null : null],
        ['Slave_Master_Log_File', c.Master_Log_File],
        ['Slave_Read_Master_Log_Pos', c.Read_Master_Log_Pos],
        ['Relay_Master_Log_File', c.Relay_Master_Log_File],
        ['Exec_Master_Log_Pos', c.Exec_Master_Log_Pos],
        ['Seconds_Behind_Master', c.Seconds_Behind_Master],
        ['Slave_IO_Running', c.Slave_IO_Running],
        ['Slave_SQL_Running', c.Slave_SQL_Running],
      ],
    });
    if (ioDown || sqlDown) {
      const why: Field[] = [];
      if (ioDown) why.push(['Last_IO_Errno', c.Last_IO_Errno], ['Last_IO_Error', oneLine(c.Last_IO_Error)]);
      if (sqlDown) why.push(['Last_SQL_Errno', c.Last_SQL_Errno], ['Last_SQL_Error', oneLine(c.Last_SQL_Error)]);
      out.push({ status: 'ERROR', fields: [...id, ...why] });
    }
  }
  return [...out, ...serverLines];
}

/** Server error texts can hold newlines (a failed statement quoted whole): one line stays one line. */
function oneLine(s: string | null): string | null {
  return s === null ? null : s.replace(/\s+/g, ' ').trim();
}
