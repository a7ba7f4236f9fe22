import type { Connection, RowDataPacket } from 'mysql2/promise';

/** Binary log position of the primary. */
export interface MasterStatus {
  file: string;
  position: number;
}

/** A replica's status, mapped to the pre-8.0.22 (SHOW SLAVE STATUS) names the lines use. */
export interface ReplicaStatus {
  Master_Log_File: string | null;
  Read_Master_Log_Pos: number | null;
  Relay_Master_Log_File: string | null;
  Exec_Master_Log_Pos: number | null;
  Seconds_Behind_Master: number | null;
  Slave_IO_Running: string | null;
  Slave_SQL_Running: string | null;
  Last_IO_Error: string | null;
  Last_SQL_Error: string | null;
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
 * SHOW REPLICA STATUS exists from MySQL 8.0.22 and MariaDB 10.5.1; older servers only know
 * SHOW SLAVE STATUS. MySQL renamed the columns (Source_/Replica_), MariaDB did not: map both.
 */
export async function showReplicaStatus(conn: Connection): Promise<ReplicaStatus | undefined> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW REPLICA STATUS');
  } catch (e) {
    if (!isParseError(e)) throw e;
    [rows] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  }
  const row = rows[0];
  if (!row) return undefined;
  return mapReplicaRow(row);
}

export function mapReplicaRow(row: Record<string, unknown>): ReplicaStatus {
  const pick = (...names: string[]): unknown => {
    for (const n of names) if (n in row) return row[n];
    return null;
  };
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
  return {
    Master_Log_File: str(pick('Master_Log_File', 'Source_Log_File')),
    Read_Master_Log_Pos: num(pick('Read_Master_Log_Pos', 'Read_Source_Log_Pos')),
    Relay_Master_Log_File: str(pick('Relay_Master_Log_File', 'Relay_Source_Log_File')),
    Exec_Master_Log_Pos: num(pick('Exec_Master_Log_Pos', 'Exec_Source_Log_Pos')),
    Seconds_Behind_Master: num(pick('Seconds_Behind_Master', 'Seconds_Behind_Source')),
    Slave_IO_Running: str(pick('Slave_IO_Running', 'Replica_IO_Running')),
    Slave_SQL_Running: str(pick('Slave_SQL_Running', 'Replica_SQL_Running')),
    Last_IO_Error: str(pick('Last_IO_Error')),
    Last_SQL_Error: str(pick('Last_SQL_Error')),
  };
}
