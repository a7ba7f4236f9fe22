import { createRequire } from 'node:module';
import dgram from 'node:dgram';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import TransportStream from 'winston-transport';
import { syslogTimestamp } from '../core/format.js';
import { ConfigError } from '../config/errors.js';
import type { Status } from '../core/result.js';
import { entryOf } from './entry.js';
import type { SyslogOutputConfig } from './schema.js';

const FACILITY: Record<SyslogOutputConfig['facility'], number> = {
  user: 1, daemon: 3, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
/** RFC 5424 severities: CRITICAL → crit (2), ERROR → err (3). */
const SEVERITY: Record<Status, number> = { CRITICAL: 2, ERROR: 3, OK: 6 };

/**
 * RFC 3164, as logger(1) writes it: `<PRI>Sep 02 08:35:21 mysql_check: <line>`. Over a network
 * the host name goes after the timestamp, since the receiver cannot know it.
 */
export function rfc3164(pri: number, time: Date, timeZone: string, tag: string, msg: string, hostname?: string): string {
  return `<${pri}>${syslogTimestamp(time, timeZone)} ${hostname ? `${hostname} ` : ''}${tag}: ${msg}`;
}

interface Sender {
  send(msg: string): Promise<void>;
  close(): void;
}

/** Node has no unix datagram sockets; unix-dgram is the native addon winston-syslog uses too. */
interface UnixDgramSocket {
  connect(path: string): void;
  send(buf: Buffer, cb?: (err?: Error) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  once(event: 'connect' | 'error', cb: (err?: Error) => void): void;
  close(): void;
}

/**
 * A connected datagram socket to /dev/log, re-made after an error (syslogd restarted).
 * unix-dgram aborts the process when a socket that never connected is closed, so only
 * connected sockets are closed; a failed one is left to the GC.
 */
function unixSender(path: string): Sender {
  const require = createRequire(import.meta.url);
  const mod = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  let current: Promise<UnixDgramSocket> | undefined;
  let connected: UnixDgramSocket | undefined;
  const connect = () => new Promise<UnixDgramSocket>((res, rej) => {
    const sock = mod.createSocket('unix_dgram');
    sock.on('error', () => undefined);
    sock.once('connect', () => { connected = sock; res(sock); });
    sock.once('error', (err) => rej(err ?? new Error('connect failed')));
    sock.connect(path);
  });
  return {
    async send(msg) {
      current ??= connect();
      try {
        const sock = await current;
        await new Promise<void>((res, rej) => sock.send(Buffer.from(msg), (err) => (err ? rej(err) : res())));
      } catch (e) {
        current = undefined;
        connected = undefined;
        throw new Error(`send to ${path} failed (${errnoName((e as Error).message)})`);
      }
    },
    close: () => {
      const sock = connected;
      connected = undefined;
      current = undefined;
      sock?.close();
    },
  };
}

/** unix-dgram reports "connect -2"; operators know it as ENOENT. */
function errnoName(message: string): string {
  const m = /(-?\d+)$/.exec(message);
  if (!m) return message;
  const n = Math.abs(Number(m[1]));
  const name = Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0];
  return name ? message.replace(m[1]!, name) : message;
}

function udpSender(host: string, port: number): Sender {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  sock.unref();
  return {
    send: (msg) => new Promise((res, rej) => sock.send(msg, port, host, (err) => (err ? rej(err) : res()))),
    close: () => sock.close(),
  };
}

/** TCP with octet-stuffing framing (a trailing LF), reconnecting on demand. */
function tcpSender(host: string, port: number): Sender {
  let sock: net.Socket | undefined;
  const connect = () => new Promise<net.Socket>((res, rej) => {
    const s = net.connect({ host, port }, () => res(s));
    s.once('error', rej);
    s.on('close', () => { if (sock === s) sock = undefined; });
  });
  return {
    async send(msg) {
      sock ??= await connect();
      const s = sock;
      await new Promise<void>((res, rej) => s.write(`${msg}\n`, (err) => (err ? rej(err) : res())));
    },
    close: () => sock?.end(),
  };
}

/** ERROR and CRITICAL lines to syslog, tagged `<check>_check`. */
export class SyslogTransport extends TransportStream {
  private readonly sender: Sender;
  private readonly remote: boolean;
  /** Sends in order; a failure is counted and reported on stderr, never thrown into the agent. */
  private chain: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(private readonly cfg: SyslogOutputConfig, private readonly timeZone: string, private readonly hostname: string) {
    super({ level: 'ERROR' });
    const m = /^(udp|tcp):\/\/([^/:]+):(\d+)$/.exec(cfg.address);
    this.remote = !!m;
    try {
      this.sender = m ? (m[1] === 'udp' ? udpSender(m[2]!, Number(m[3])) : tcpSender(m[2]!, Number(m[3]))) : unixSender(cfg.address);
    } catch (e) {
      throw new ConfigError(`outputs.syslog.address: cannot use ${cfg.address}: ${(e as Error).message}`);
    }
  }

  override log(info: unknown, next: () => void): void {
    const e = entryOf(info);
    if (e.ownStream) return next();
    const pri = FACILITY[this.cfg.facility] * 8 + SEVERITY[e.status];
    const msg = rfc3164(pri, e.time, this.timeZone, `${e.check}_check`, e.message, this.remote ? this.hostname : undefined);
    this.chain = this.chain.then(() => this.sender.send(msg)).catch((err: Error) => {
      this.failures++;
      process.stderr.write(`imom: syslog ${this.cfg.address}: ${err.message}\n`);
    });
    next();
  }

  /** Resolves when every line handed to log() has been sent or has failed. */
  flush(): Promise<void> {
    return this.chain;
  }

  private shutDown = false;
  override close(): void {
    if (this.shutDown) return;
    this.shutDown = true;
    void this.chain.finally(() => this.sender.close());
  }
}
