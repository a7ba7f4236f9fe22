/**
 * One TCP (or TLS) connection to one Redis node, speaking RESP2 one command at a time. Every byte it
 * receives goes through its own data handler, inside its own try/catch, so whatever the node
 * sends (random bytes, a reply nobody asked for, a flood) ends as an error of this connection:
 * the socket is destroyed and every pending command rejects with that error. Nothing is
 * thrown anywhere else.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { describeTlsFailure, peerCertificate } from '../../core/tls/index.js';
import { encodeCommand, parseReply, ProtocolError, ReplyError, ReplyTooLarge, TYPE, type RespValue } from './resp.js';

/** What a command's reply may be, besides an error reply. */
export type Expect = 'simple' | 'bulk';

interface Pending {
  readonly frame: Buffer;
  readonly expect: Expect;
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

export interface RespClientOptions {
  readonly host: string;
  readonly port: number;
  /** The TCP connect must finish within this, else `connect ETIMEDOUT` (as ioredis said it). */
  readonly connectTimeoutMs: number;
  /** The most bytes one reply may take on the wire: counted from when its command was sent. */
  readonly maxReplyBytes: number;
  /** A fault while no command was pending (bytes nobody asked for): reported by the caller's next use. */
  readonly onIdleFault?: (e: Error) => void;
  /** Speak TLS (tls-port): loadTls's options, made once when the target was built. */
  readonly tls?: RespTls | undefined;
}

export interface RespTls {
  readonly options: ConnectionOptions;
  readonly hasClientCert: boolean;
  /** The certificate the node showed, once per connection (for the expiry line). */
  readonly onPeerCertificate?: ((cert: { subject: string; notAfter: Date }) => void) | undefined;
}

/** The reason every pending command gets when the socket goes away without an error (ioredis's wording). */
const CLOSED = 'Connection is closed.';
/**
 * A node that closes a connection we are writing to sends FIN, then RST for what we wrote:
 * whether the socket reports the FIN ('end') or the RST (ECONNRESET, EPIPE) first is a race,
 * so both are the one reason above.
 */
const PEER_CLOSED = new Set(['ECONNRESET', 'EPIPE']);

export class RespClient {
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private chunks: Buffer[] = [];
  /** Bytes received since the current command was sent. */
  private received = 0;
  /** Bytes needed before parsing again is worth it. */
  private need = 1;
  private dead: Error | undefined;

  private constructor(private readonly socket: Socket, private readonly opts: RespClientOptions) {}

  /** Dials at once; `ready` resolves when the TCP connection is up. Commands sent before wait in the socket. */
  static open(opts: RespClientOptions): RespClient {
    const { tls } = opts;
    // SNI only for a host name (node:tls refuses an IP as servername); the certificate is checked against the host either way.
    const socket = tls
      ? tlsConnect({ host: opts.host, port: opts.port, servername: isIP(opts.host) ? undefined : opts.host, ...tls.options })
      : connect({ host: opts.host, port: opts.port, noDelay: true });
    if (tls) socket.setNoDelay(true);
    const client = new RespClient(socket, opts);
    client.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => client.fail(new Error('connect ETIMEDOUT')), opts.connectTimeoutMs);
      client.connectWaiter = (e) => { clearTimeout(timer); reject(e); };
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        client.connected = true;
        client.connectWaiter = undefined;
        if (tls) {
          const seen = peerCertificate(socket as TLSSocket);
          if (seen) tls.onPeerCertificate?.(seen);
        }
        resolve();
      });
    });
    // Whoever dialled awaits it; this keeps a failure nobody waits for from being an unhandled rejection.
    client.ready.catch(() => undefined);
    socket.on('data', (d: Buffer) => {
      try {
        client.onData(d);
      } catch (e) {
        client.fail(e instanceof Error ? e : new ProtocolError(String(e)));
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // With TLS 1.3 a server that refuses our certificate (or wants one) says so after our side
      // of the handshake is done: as an alert on the first read, so any error may be TLS's.
      const refused = tls ? describeTlsFailure(e, { peer: 'server', hasClientCert: tls.hasClientCert }) : undefined;
      client.fail(refused ? new Error(refused) : client.connected && PEER_CLOSED.has(e.code ?? '') ? new Error(CLOSED) : e);
    });
    socket.on('end', () => client.fail(new Error(CLOSED)));
    socket.on('close', () => client.fail(new Error(CLOSED)));
    return client;
  }

  /** Resolves once the TCP connection is up; rejects with the cause when it fails first. */
  ready: Promise<void> = Promise.resolve();
  private connected = false;
  /** Rejects `ready` when the connection fails before it is up. */
  private connectWaiter: ((e: Error) => void) | undefined;

  /** The error that ended this connection, if it has ended. */
  get failed(): Error | undefined {
    return this.dead;
  }

  /** A command whose reply is a bulk string (INFO, CLUSTER NODES): its text. */
  async text(args: readonly string[]): Promise<string> {
    const v = await this.command(args, 'bulk');
    if (typeof v !== 'string') throw new ProtocolError(`no text in the reply to ${args.join(' ')}`);
    return v;
  }

  /** Sends `args` after the commands before it have their replies; an error reply rejects. */
  command(args: readonly string[], expect: Expect): Promise<RespValue> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ frame: encodeCommand(args), expect, resolve, reject });
      this.pump();
    });
  }

  /** Destroys the connection; pending commands reject with "Connection is closed.". */
  close(): void {
    this.fail(new Error(CLOSED));
  }

  private pump(): void {
    if (this.current || this.dead) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    this.chunks = [];
    this.received = 0;
    this.need = 1;
    this.socket.write(next.frame);
  }

  private onData(d: Buffer): void {
    if (this.dead) return;
    const cur = this.current;
    if (!cur) throw new ProtocolError('more replies than commands');
    this.received += d.length;
    if (this.received > this.opts.maxReplyBytes) throw new ReplyTooLarge(this.opts.maxReplyBytes);
    if (this.received === d.length) {
      // The first byte says what the reply is: anything but the expected type or an error is refused at once.
      const want = cur.expect === 'bulk' ? TYPE.bulk : TYPE.simple;
      if (d[0] !== want && d[0] !== TYPE.error) throw new ProtocolError('unexpected reply type');
    }
    this.chunks.push(d);
    if (this.received < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [buf];
    const p = parseReply(buf, 0, this.opts.maxReplyBytes);
    if ('need' in p) {
      this.need = p.need;
      return;
    }
    // A reply and more in the same read: the node is out of step with the commands sent.
    if (p.end < buf.length) throw new ProtocolError('more replies than commands');
    this.current = undefined;
    this.chunks = [];
    if (p.value instanceof ReplyError) cur.reject(p.value);
    else cur.resolve(p.value);
    this.pump();
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const waiting = [...(this.current ? [this.current] : []), ...this.queue];
    this.current = undefined;
    this.queue.length = 0;
    this.chunks = [];
    this.connectWaiter?.(e);
    this.connectWaiter = undefined;
    for (const w of waiting) w.reject(e);
    if (waiting.length === 0 && e instanceof ProtocolError) this.opts.onIdleFault?.(e);
  }
}
