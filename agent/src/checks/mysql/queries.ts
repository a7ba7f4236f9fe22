import type { Connection, RowDataPacket } from 'mysql2/promise';

/** Binary log position of the primary. */
export interface MasterStatus {
  file: string;
  position: number;
}

/** A replica's status, mapped to the pre-8.0.22 (SHOW SLAVE STATUS) names the lines use. */
export interface ReplicaStatus {
  /** The replication channel (MariaDB's Connection_name, MySQL's Channel_Name); '' is the default one. */
  Channel: string;
  Master_Host: string | null;
  Master_Port: number | null;
  Master_Log_File: string | null;
  Read_Master_Log_Pos: number | null;
  Relay_Master_Log_File: string | null;
  Exec_Master_Log_Pos: number | null;
  Seconds_Behind_Master: number | null;
  Slave_IO_Running: string | null;
  Slave_SQL_Running: string | null;
  Last_IO_Errno: number | null;
  Last_IO_Error: string | null;
  Last_SQL_Errno: number | null;
  Last_SQL_Error: string | null;
}

/** What a server says about its own load and writability (no privilege needed: SHOW GLOBAL VARIABLES/STATUS). */
export interface ServerState {
  read_only: boolean;
  /** MySQL only; MariaDB has no super_read_only (its read_only spares READ ONLY ADMIN holders). */
  super_read_only: boolean | undefined;
  max_connections: number;
  Threads_connected: number;
}

const ER_PARSE_ERROR = 1064;
const isParseError = (e: unknown) => (e as { errno?: number }).errno === ER_PARSE_ERROR;

/**
 * SHOW MASTER STATUS was renamed SHOW BINARY LOG STATUS in MySQL 8.2 and removed in 8.4;
 * MariaDB keeps it. Try the old name first (every MariaDB, MySQL < 8.4), fall back on a parse error.
 */
export async function showMasterStatus(conn: Connection): Promise<MasterStatus | undefined> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  } catch (e) {
    if (!isParseError(e)) throw e;
    [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
  }
  const row = rows[0];
  if (!row) return undefined;
  return { file: String(row.File), position: Number(row.Position) };
}

/**
 * Every replication channel, the default one ('') first. MariaDB lists its multi-source
 * connections only under SHOW ALL SLAVES STATUS; MySQL has no such statement (a parse error) and
 * gives one row per channel under SHOW REPLICA STATUS (8.0.22+) or SHOW SLAVE STATUS (older),
 * with the columns renamed (Source_/Replica_): map both.
 */
export async function showReplicaChannels(conn: Connection): Promise<ReplicaStatus[]> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW ALL SLAVES STATUS');
  } catch (e) {
    if (!isParseError(e)) throw e;
    try {
      [rows] = await conn.query<RowDataPacket[]>('SHOW REPLICA STATUS');
    } catch (e2) {
      if (!isParseError(e2)) throw e2;
      [rows] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
    }
  }
  return rows.map(mapReplicaRow).sort((a, b) => (a.Channel === b.Channel ? 0 : a.Channel === '' ? -1 : b.Channel === '' ? 1 : a.Channel < b.Channel ? -1 : 1));
}

export async function showServerState(conn: Connection): Promise<ServerState> {
  const [vars] = await conn.query<RowDataPacket[]>("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'max_connections')");
  const [status] = await conn.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
  const v = new Map(vars.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
  const on = (x: string | undefined) => x === undefined ? undefined : x.toUpperCase() === 'ON' || x === '1';
  return {
    read_only: on(v.get('read_only')) ?? false,
    super_read_only: on(v.get('super_read_only')),
    max_connections: Number(v.get('max_connections')),
    Threads_connected: Number(status[0]?.Value),
  };
}

export function mapReplicaRow(row: Record<string, unknown>): ReplicaStatus {
  const pick = (...names: string[]): unknown => {
    for (const n of names) if (n in row) return row[n];
    return null;
  };
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
  return {
    Channel: str(pick('Connection_name', 'Channel_Name', 'Channel_name')) ?? '',
    Master_Host: str(pick('Master_Host', 'Source_Host')),
    Master_Port: num(pick('Master_Port', 'Source_Port')),
    Master_Log_File: str(pick('Master_Log_File', 'Source_Log_File')),
    Read_Master_Log_Pos: num(pick('Read_Master_Log_Pos', 'Read_Source_Log_Pos')),
    Relay_Master_Log_File: str(pick('Relay_Master_Log_File', 'Relay_Source_Log_File')),
    Exec_Master_Log_Pos: num(pick('Exec_Master_Log_Pos', 'Exec_Source_Log_Pos')),
    Seconds_Behind_Master: num(pick('Seconds_Behind_Master', 'Seconds_Behind_Source')),
    Slave_IO_Running: str(pick('Slave_IO_Running', 'Replica_IO_Running')),
    Slave_SQL_Running: str(pick('Slave_SQL_Running', 'Replica_SQL_Running')),
    Last_IO_Errno: num(pick('Last_IO_Errno')),
    Last_IO_Error: str(pick('Last_IO_Error')),
    Last_SQL_Errno: num(pick('Last_SQL_Errno')),
    Last_SQL_Error: str(pick('Last_SQL_Error')),
  };
}
