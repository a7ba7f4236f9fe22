import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicaLines, type LineOptions } from './lines.js';
import type { ReplicaStatus, ServerState } from './queries.js';

// What MariaDB cannot show live (mysql.test.ts runs MariaDB): MySQL's super_read_only, and both threads down at once.
const o: LineOptions = { maxSecondsBehindMaster: 30, maxConnectionsRatio: 0.9, allowWritableReplicas: false };
const channel: ReplicaStatus = {
  Channel: '', Master_Host: '10.100.21.230', Master_Port: 3306, Master_Log_File: 'mysql-bin.016068', Read_Master_Log_Pos: 4,
  Relay_Master_Log_File: 'mysql-bin.016068', Exec_Master_Log_Pos: 4, Seconds_Behind_Master: 0, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes',
  Last_IO_Errno: 0, Last_IO_Error: '', Last_SQL_Errno: 0, Last_SQL_Error: '',
};
const state: ServerState = { read_only: true, super_read_only: true, max_connections: 151, Threads_connected: 3 };
const text = (ls: ReturnType<typeof replicaLines>) => ls.map((l) => `${l.status}: ${l.fields.map(([k, v]) => `${k}=${v ?? 'NULL'}`).join(', ')}`);

test('MySQL: read_only ON but super_read_only OFF is a writable replica too', () => {
  const ls = replicaLines('10.100.21.232', { host: '10.100.21.230', port: 3306 }, undefined, [channel], { ...state, super_read_only: false }, o);
  assert.equal(ls[0]!.status, 'ERROR');
  assert.equal(text(ls)[1], 'ERROR: Slave=10.100.21.232, Read_Only=ON, Super_Read_Only=OFF, Error=replica is writable by SUPER users (super_read_only=OFF)');
  assert.equal(replicaLines('10.100.21.232', { host: '10.100.21.230', port: 3306 }, undefined, [channel], state, o).length, 1);
});

test('both threads down: one follow-up line with the IO pair, then the SQL pair, newlines folded', () => {
  const down = { ...channel, Slave_IO_Running: 'No', Slave_SQL_Running: 'No', Last_IO_Errno: 1236, Last_IO_Error: 'Got fatal error 1236\nfrom master', Last_SQL_Errno: 1146, Last_SQL_Error: "Table 'shop.x' doesn't exist" };
  assert.deepEqual(text(replicaLines('10.100.21.232', { host: '10.100.21.230', port: 3306 }, undefined, [down], state, o)).slice(1), [
    "ERROR: Slave=10.100.21.232, Last_IO_Errno=1236, Last_IO_Error=Got fatal error 1236 from master, Last_SQL_Errno=1146, Last_SQL_Error=Table 'shop.x' doesn't exist",
  ]);
});
