/**
 * Just enough of the MySQL protocol for startHostile: a v10 greeting (mysql_native_password, no
 * TLS, EOF packets), OK to the login whatever the password, a one-row result set to
 * SHOW MASTER STATUS, an empty one to SHOW REPLICA STATUS, an idle server's to SHOW GLOBAL VARIABLES/STATUS, ERR to any other query, OK to a ping.
 */
import type { Protocol } from './hostile.js';

/** The binlog position the hostile primary reports: the OK line of a valid reply. */
export const HOSTILE_BINLOG = { file: 'mysql-bin.000001', position: 4 };

/** LONG_PASSWORD, LONG_FLAG, CONNECT_WITH_DB, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION, MULTI_RESULTS, PLUGIN_AUTH. */
const CAPABILITIES = 0x1 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x80000;
const UTF8MB4 = 45;
const AUTOCOMMIT = 0x2;
const COM_QUIT = 0x01;
const COM_QUERY = 0x03;
const T_VAR_STRING = 0xfd;
const T_LONGLONG = 0x08;
/** The 3-byte length of the largest packet: one that says "more follows". */
const MAX_PACKET = 0xffffff;

function packet(seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, payload]);
}

/** A length-encoded string (every length here is under 251, so one length byte). */
const lenenc = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);

const int2 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const int4 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };

function greeting(): Buffer {
  const scramble = Buffer.from('hostile-scramble-20b'); // 20 bytes of auth-plugin data
  return packet(0, Buffer.concat([
    Buffer.from([10]), Buffer.from('8.0.0-hostile\0'), int4(1), scramble.subarray(0, 8), Buffer.from([0]),
    int2(CAPABILITIES & 0xffff), Buffer.from([UTF8MB4]), int2(AUTOCOMMIT), int2(CAPABILITIES >>> 16),
    Buffer.from([21]), Buffer.alloc(10), scramble.subarray(8), Buffer.from([0]), Buffer.from('mysql_native_password\0'),
  ]));
}

const ok = (seq: number) => packet(seq, Buffer.concat([Buffer.from([0, 0, 0]), int2(AUTOCOMMIT), int2(0)]));
const eof = (seq: number) => packet(seq, Buffer.concat([Buffer.from([0xfe]), int2(0), int2(AUTOCOMMIT)]));
const err = (seq: number, message: string) => packet(seq, Buffer.concat([Buffer.from([0xff]), int2(1064), Buffer.from('#42000'), Buffer.from(message)]));

function column(name: string, type: number): Buffer {
  return Buffer.concat([
    lenenc('def'), lenenc(''), lenenc(''), lenenc(''), lenenc(name), lenenc(name),
    Buffer.from([0x0c]), int2(UTF8MB4), int4(255), Buffer.from([type]), int2(0), Buffer.from([0]), int2(0),
  ]);
}

/** Column count, definitions, EOF, rows, EOF: sequence ids from 1, as the reply to a query. */
function resultSet(columns: [string, number][], rows: string[][]): Buffer {
  let seq = 1;
  const parts = [packet(seq++, Buffer.from([columns.length]))];
  for (const [name, type] of columns) parts.push(packet(seq++, column(name, type)));
  parts.push(eof(seq++));
  for (const row of rows) parts.push(packet(seq++, Buffer.concat(row.map(lenenc))));
  parts.push(eof(seq++));
  return Buffer.concat(parts);
}

function answer(query: string): Buffer {
  if (/^SHOW MASTER STATUS$/i.test(query)) {
    return resultSet([['File', T_VAR_STRING], ['Position', T_LONGLONG]], [[HOSTILE_BINLOG.file, String(HOSTILE_BINLOG.position)]]);
  }
  if (/^SHOW (REPLICA|SLAVE) STATUS$/i.test(query)) return resultSet([['Master_Log_File', T_VAR_STRING]], []);
  // The check's read_only and max_connections probe: a healthy, idle server.
  if (/^SHOW GLOBAL VARIABLES /i.test(query)) return resultSet([['Variable_name', T_VAR_STRING], ['Value', T_VAR_STRING]], [['max_connections', '151'], ['read_only', 'OFF']]);
  if (/^SHOW GLOBAL STATUS /i.test(query)) return resultSet([['Variable_name', T_VAR_STRING], ['Value', T_VAR_STRING]], [['Threads_connected', '1']]);
  return err(1, `hostile server does not know ${query}`);
}

export function mysqlProtocol(): Protocol {
  return {
    greeting,
    reply(pending) {
      if (pending.length < 4) return undefined;
      const len = pending.readUIntLE(0, 3);
      if (pending.length < 4 + len) return undefined;
      const seq = pending[3]!;
      const payload = pending.subarray(4, 4 + len);
      const consumed = 4 + len;
      // The login (HandshakeResponse41) is the client's only packet with sequence id 1.
      if (seq === 1) return { reply: ok(2), consumed };
      if (payload[0] === COM_QUIT) return { reply: Buffer.alloc(0), consumed };
      if (payload[0] === COM_QUERY) return { reply: answer(payload.toString('utf8', 1)), consumed };
      return { reply: ok(1), consumed };
    },
    /** A packet of the largest size, whose filler mysql2 reads as more 16 MB pieces for as long as it comes. */
    oversizedHeader: () => Buffer.from([MAX_PACKET & 0xff, (MAX_PACKET >> 8) & 0xff, MAX_PACKET >> 16, 1]),
    /** An ERR packet of one byte after the reply: mysql2 parses it with no command waiting, outside its try/catch. */
    extra: () => packet(0, Buffer.from([0xff])),
  };
}
