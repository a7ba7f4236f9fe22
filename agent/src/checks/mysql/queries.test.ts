import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapReplicaRow } from './queries.js';

// MariaDB (tested live in mysql.test.ts) keeps the old column names under SHOW REPLICA STATUS;
// MySQL >= 8.0.22 renames them. These are the rows each server returns, mapped to the line's names.
const expected = {
  Channel: '', Master_Host: '10.100.21.230', Master_Port: 3306,
  Master_Log_File: 'mysql-bin.016068', Read_Master_Log_Pos: 621000000, Relay_Master_Log_File: 'mysql-bin.016068',
  Exec_Master_Log_Pos: 620980000, Seconds_Behind_Master: 270, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes',
  Last_IO_Errno: 0, Last_IO_Error: '', Last_SQL_Errno: 0, Last_SQL_Error: '',
};

test('SHOW REPLICA STATUS on MySQL >= 8.0.22 (Source_/Replica_ columns) maps to the script field names', () => {
  assert.deepEqual(mapReplicaRow({
    Channel_Name: '', Source_Host: '10.100.21.230', Source_Port: 3306, Source_Log_File: 'mysql-bin.016068', Read_Source_Log_Pos: '621000000', Relay_Source_Log_File: 'mysql-bin.016068',
    Exec_Source_Log_Pos: 620980000, Seconds_Behind_Source: 270, Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes',
    Last_IO_Errno: 0, Last_IO_Error: '', Last_SQL_Errno: 0, Last_SQL_Error: '',
  }), expected);
});

test('SHOW SLAVE STATUS (MySQL < 8.0.22, MariaDB) maps unchanged; NULL lag stays NULL', () => {
  assert.deepEqual(mapReplicaRow({
    Connection_name: '', Master_Host: '10.100.21.230', Master_Port: 3306, Master_Log_File: 'mysql-bin.016068', Read_Master_Log_Pos: 621000000, Relay_Master_Log_File: 'mysql-bin.016068',
    Exec_Master_Log_Pos: 620980000, Seconds_Behind_Master: 270, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes',
    Last_IO_Errno: 0, Last_IO_Error: '', Last_SQL_Errno: 0, Last_SQL_Error: '',
  }), expected);
  assert.equal(mapReplicaRow({ Seconds_Behind_Master: null }).Seconds_Behind_Master, null);
});
