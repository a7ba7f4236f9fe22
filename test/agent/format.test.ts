import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLine, logFileLine, syslogTimestamp } from '../../agent/src/core/format.js';
import { rfc3164 } from '../../agent/src/outputs/syslog.js';
import type { CheckResult } from '../../agent/src/core/result.js';

// The production lines the teams' searches are built on (from today's scripts).
const at = new Date(Date.UTC(2024, 8, 2, 8, 35, 21));
const slave: CheckResult = {
  check: 'mysql', instance: 'order-db', target: '10.100.21.234:3306', status: 'ERROR', time: at,
  fields: [
    ['Slave', '10.100.21.234'], ['Master_Log_File', 'mysql-bin.016068'], ['Master_Log_Position', 620123456],
    ['Slave_Master_Log_File', 'mysql-bin.016068'], ['Slave_Read_Master_Log_Pos', 621000000], ['Relay_Master_Log_File', 'mysql-bin.016068'],
    ['Exec_Master_Log_Pos', 620980000], ['Seconds_Behind_Master', 270], ['Slave_IO_Running', 'Yes'], ['Slave_SQL_Running', 'Yes'],
  ],
};

test('LOG_FILE lines are byte-identical to the shell scripts', () => {
  assert.equal(logFileLine({ check: 'mysql', instance: 'o', target: 't', status: 'OK', time: at, fields: [['Master', '10.100.21.230'], ['Master_Log_File', 'mysql-bin.016068'], ['Master_Log_Position', 620123456]] }, 'UTC'),
    '2024-09-02 08:35:21 | Status=OK, Master=10.100.21.230, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456');
  assert.equal(logFileLine(slave, 'UTC'),
    '2024-09-02 08:35:21 | Status=ERROR, Slave=10.100.21.234, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=621000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620980000, Seconds_Behind_Master=270, Slave_IO_Running=Yes, Slave_SQL_Running=Yes');
  assert.equal(logFileLine({ check: 'redis', instance: 's', target: 't', status: 'CRITICAL', time: new Date(Date.UTC(2024, 8, 2, 8, 45, 32)), message: 'Node 192.168.21.141:6381 is expected to be master but found slave' }, 'UTC'),
    '2024-09-02 08:45:32 | CRITICAL: Node 192.168.21.141:6381 is expected to be master but found slave');
});

test('syslog lines as logger(1) wrote them: "Sep 02 08:35:21 mysql_check: ..."', () => {
  assert.equal(syslogTimestamp(at, 'UTC'), 'Sep 02 08:35:21');
  assert.equal(rfc3164(11, at, 'UTC', 'mysql_check', formatLine(slave)), `<11>Sep 02 08:35:21 mysql_check: ${formatLine(slave)}`);
  assert.equal(rfc3164(10, new Date(Date.UTC(2024, 8, 2, 8, 46, 10)), 'UTC', 'redis_check', 'CRITICAL: Node 192.168.21.152:6381 is expected to be slave but found master'),
    '<10>Sep 02 08:46:10 redis_check: CRITICAL: Node 192.168.21.152:6381 is expected to be slave but found master');
});

test('the configured time zone sets the prefix; NULL prints as NULL; a newline never splits a line', () => {
  assert.equal(logFileLine(slave, 'Asia/Seoul').slice(0, 19), '2024-09-02 17:35:21');
  const r: CheckResult = { check: 'mysql', instance: 'o', target: 't', status: 'ERROR', time: at, fields: [['Seconds_Behind_Master', null], ['Error', 'line one\nline two']] };
  assert.equal(formatLine(r), 'Status=ERROR, Seconds_Behind_Master=NULL, Error=line one line two');
});

test('server text is safe to read: control characters escaped visibly, each value capped with a marker', () => {
  const r = (fields: [string, string | number | null][]): CheckResult => ({ check: 'redis', instance: 'o', target: 't', status: 'CRITICAL', time: at, fields });
  // ESC sequences (a terminal title change, a screen clear), BEL, NUL, DEL, C1 CSI, U+2028/2029; tab stays.
  assert.equal(formatLine(r([['Error', 'a\x1b]0;pwned\x07b\x1b[2Jc\x00d\x7fe\x9bf\u2028g\u2029h\ti']])),
    'Status=CRITICAL, Error=a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x00d\\x7fe\\u009bf\\u2028g\\u2029h\ti');
  assert.equal(formatLine({ check: 'redis', instance: 'o', target: 't', status: 'CRITICAL', time: at, message: 'Node x is unreachable (\x1b[31mred\r\nnext)' }),
    'CRITICAL: Node x is unreachable (\\x1b[31mred next)');
  // A 1 MB value: cut at 1 KiB of UTF-8, never inside a character, with how much was cut.
  const big = formatLine(r([['Role', 'é'.repeat(512 * 1024)]]));
  assert.equal(big, `Status=CRITICAL, Role=${'é'.repeat(512)}…(${1024 * 1024 - 1024} bytes cut)`);
  const msg = formatLine({ check: 'solr', instance: 'o', target: 't', status: 'ERROR', time: at, message: `Solr said ${'x'.repeat(10_000)}` });
  assert.equal(msg, `ERROR: Solr said ${'x'.repeat(4096 - 'Solr said '.length)}…(${10_000 + 'Solr said '.length - 4096} bytes cut)`);
  // Seed values stay byte for byte (checked above); numbers are never touched.
  assert.equal(formatLine(r([['Seconds_Behind_Master', 270], ['Master_Log_File', 'mysql-bin.016068']])), 'Status=CRITICAL, Seconds_Behind_Master=270, Master_Log_File=mysql-bin.016068');
});
