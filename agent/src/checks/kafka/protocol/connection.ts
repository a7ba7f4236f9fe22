/**
 * One socket per broker (plain or TLS): length-prefixed framing, requests pipelined and matched
 * to responses by correlation id, each with its own timeout; ApiVersions and SASL on open.
 * Aborting the signal destroys every socket of the pool at once. Whatever the broker sends that
 * does not parse (a bad frame size, a frame over the cap, an unknown correlation id, a short
 * response) rejects every request of that connection and destroys it: it never throws out of
 * the socket's handlers, where it would take the agent down.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describeTlsFailure, peerCertificate, type LoadedTls, type PeerCertificateSeen } from '../../../core/tls/index.js';
import {
  API, VERSION, Reader, decodeApiVersions, decodeConsumerGroupDescribe, decodeDescribeGroups, decodeFindCoordinator, decodeListOffsets, decodeMetadata, decodeOffsetFetch,
  encodeApiVersions, encodeConsumerGroupDescribe, encodeDescribeGroups, encodeFindCoordinator, encodeListOffsets, encodeMetadata, encodeOffsetFetch, requestHeader,
  type ApiName, type GroupDescription, type Metadata, type OffsetsByTopic,
} from './codec.js';
import { KafkaError, KafkaProtocolError, MalformedResponse, ReplyTooLarge } from './errors.js';
import { FrameReader, INT32 } from './framing.js';
import { authenticate, type SaslOptions } from './sasl.js';
import { abortError, describeNetError, isTlsRecord } from './socket-errors.js';

export interface ConnectOptions {
  clientId: string;
  /** The loaded `tls` block when the listener is TLS. */
  tls?: LoadedTls;
  /** Each broker certificate seen, for the expiry line. */
  onPeerCertificate?: (cert: PeerCertificateSeen) => void;
  sasl?: SaslOptions;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** The most one response frame may hold (`max_reply_bytes`). */
  maxReplyBytes: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve: (r: Reader) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Requests the check sends after the handshake: the broker must support each at our version. */
const REQUIRED: readonly ApiName[] = ['Metadata', 'ListOffsets', 'FindCoordinator', 'OffsetFetch'];

/** One socket to one broker, requests pipelined by correlation id. */
export class BrokerConnection {
  private socket!: Socket;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Ids of requests that timed out: their late answers are skipped, any other unknown id is an error. */
  private readonly abandoned = new Set<number>();
  private readonly frames: FrameReader;
  private closedWith: Error | undefined;
  /** Responses read so far: a close before the 1st or 2nd usually means a security mismatch. */
  private responses = 0;
  private versions = new Map<number, [number, number]>();

  private constructor(readonly address: string, private readonly opts: ConnectOptions) {
    this.frames = new FrameReader(opts.maxReplyBytes);
  }

  static async open(host: string, port: number, opts: ConnectOptions): Promise<BrokerConnection> {
    const c = new BrokerConnection(`${host}:${port}`, opts);
    await c.connect(host, port);
    try {
      await c.handshake();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private connect(host: string, port: number): Promise<void> {
    return new Promise((res, rej) => {
      const { tls, signal, connectTimeoutMs } = this.opts;
      if (signal?.aborted) return rej(abortError(signal));
      const s = tls ? tlsConnect({ host, port, servername: isIp(host) ? undefined : host, ...tls.options }) : netConnect({ host, port });
      this.socket = s;
      s.setNoDelay(true);
      const timer = setTimeout(() => fail(new Error(`connect timed out after ${connectTimeoutMs}ms`)), connectTimeoutMs);
      const onAbort = () => fail(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const fail = (e: Error) => { clearTimeout(timer); s.destroy(); rej(e); };
      s.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        s.removeAllListeners('error');
        const seen = tls ? peerCertificate(s as TLSSocket) : undefined;
        if (seen) this.opts.onPeerCertificate?.({ of: `broker ${host}:${port}`, ...seen });
        // With TLS 1.3 the broker checks the client certificate after the client's handshake is
        // done: a refusal arrives as an alert on the first read.
        s.on('error', (e) => {
          const refused = tls ? describeTlsFailure(e, { peer: 'broker', hasClientCert: tls.hasClientCert }) : undefined;
          this.shutdown(refused ? new Error(refused) : e);
        });
        s.on('close', () => this.shutdown(new Error(`connection closed by broker${this.closeHint()}`)));
        s.on('data', (d: Buffer) => this.onData(d));
        res();
      });
      // Before TCP is up, the errno (`connect ECONNREFUSED`); after it and before 'secureConnect',
      // the TLS handshake failed (certificate not trusted, wrong name, or not a TLS listener: a
      // plaintext listener drops the ClientHello, a reset or an early close).
      let tcpUp = false;
      s.once('connect', () => { tcpUp = true; });
      s.once('error', (e: NodeJS.ErrnoException) => fail(new Error(!tls || !tcpUp
        ? `connect ${describeNetError(e)}`
        : e.code === 'ECONNRESET'
          ? 'TLS handshake failed: connection reset by broker (not a TLS listener? tls is set)'
          : describeTlsFailure(e, { peer: 'broker', hasClientCert: tls.hasClientCert }) ?? `TLS handshake failed: ${e.code ?? 'unknown error'}`)));
    });
  }

  private async handshake(): Promise<void> {
    this.versions = await this.call('ApiVersions', encodeApiVersions(), decodeApiVersions, true);
    for (const name of REQUIRED) this.require(name);
    if (this.opts.sasl) await authenticate((api, body) => this.send(api, body), this.opts.sasl, this.address);
  }

  private require(name: ApiName): void {
    const range = this.versions.get(API[name]);
    const v = VERSION[name];
    if (!range || v < range[0] || v > range[1]) {
      throw new Error(`broker ${this.address} does not support ${name} v${v}${range ? ` (supports v${range[0]}-v${range[1]})` : ''}`);
    }
  }

  /** Frames: int32 size, then the response, which starts with the correlation id. */
  private onData(d: Buffer): void {
    if (this.closedWith) return;
    try {
      for (const frame of this.frames.push(d)) this.onFrame(frame);
    } catch (e) {
      // A TLS listener answers a plaintext ApiVersions with a TLS alert and closes: the record's
      // first bytes read as a frame of some 350 MB. Said as when the broker just closes.
      if (e instanceof ReplyTooLarge && this.responses === 0 && !this.opts.tls && isTlsRecord(d)) {
        this.shutdown(new Error(`connection closed by broker${this.closeHint()}`));
        return;
      }
      this.shutdown(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private onFrame(frame: Buffer): void {
    this.responses++;
    const id = frame.readInt32BE(0);
    const p = this.pending.get(id);
    if (!p) {
      if (this.abandoned.delete(id)) return;
      throw new MalformedResponse(`malformed response: correlation id ${id} answers no request`);
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(new Reader(frame.subarray(INT32)));
  }

  /**
   * Why a broker may have dropped the connection right away. An SSL listener drops a plaintext
   * ApiVersions (it is not a TLS ClientHello); a SASL listener answers ApiVersions, then drops
   * the first request that is not part of the SASL exchange.
   */
  private closeHint(): string {
    if (this.responses === 0 && !this.opts.tls) return ' before answering ApiVersions (a TLS listener? tls is not set)';
    if (this.responses === 1 && !this.opts.sasl) return ' after ApiVersions (a SASL listener? sasl is not set)';
    return '';
  }

  private shutdown(e: Error): void {
    if (!this.closedWith) this.closedWith = e;
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(this.closedWith); }
    this.pending.clear();
    this.socket?.destroy();
  }

  close(reason: Error = new Error('connection closed')): void {
    this.shutdown(reason);
  }

  /** Sends one request (header v1) and resolves with a reader positioned after the response header. */
  private send(api: ApiName, body: Buffer, handshake = false): Promise<Reader> {
    if (!handshake && api !== 'SaslHandshake' && api !== 'SaslAuthenticate') this.require(api);
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    const header = requestHeader(api, id, this.opts.clientId);
    const size = Buffer.alloc(INT32);
    size.writeInt32BE(header.length + body.length);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.abandoned.add(id);
        reject(new Error(`${api} request to ${this.address} timed out after ${this.opts.requestTimeoutMs}ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(Buffer.concat([size, header, body]));
    });
  }

  /** Sends one request and decodes its response; a response that does not parse drops the connection. */
  private async call<T>(api: ApiName, body: Buffer, decode: (r: Reader) => T, handshake = false): Promise<T> {
    const r = await this.send(api, body, handshake);
    try {
      return decode(r);
    } catch (e) {
      if (!(e instanceof MalformedResponse)) throw e;
      const err = new MalformedResponse(`malformed ${api} response: ${e.message}`);
      this.shutdown(err);
      throw err;
    }
  }

  metadata(topics: readonly string[] | null): Promise<Metadata> {
    return this.call('Metadata', encodeMetadata(topics), decodeMetadata);
  }

  /** Latest (end) offsets; each partition keeps its own error code. */
  endOffsets(topics: ReadonlyMap<string, readonly number[]>): Promise<OffsetsByTopic> {
    return this.call('ListOffsets', encodeListOffsets(topics), decodeListOffsets);
  }

  findCoordinator(group: string): Promise<{ id: number; host: string; port: number }> {
    return this.call('FindCoordinator', encodeFindCoordinator(group), (r) => decodeFindCoordinator(r, group));
  }

  /** Whether the broker accepts the version of `name` the codec speaks (optional APIs only). */
  supports(name: ApiName): boolean {
    const range = this.versions.get(API[name]);
    return !!range && VERSION[name] >= range[0] && VERSION[name] <= range[1];
  }

  /**
   * State and member count of a group: DescribeGroups for a classic group; a group of the
   * consumer protocol (KIP-848, Kafka 4) is not found there and is described by ConsumerGroupDescribe.
   */
  async describeGroup(group: string): Promise<GroupDescription & { protocol: 'classic' | 'consumer' }> {
    const dead = { state: 'Dead', members: 0, protocol: 'classic' } as const;
    try {
      const classic = await this.call('DescribeGroups', encodeDescribeGroups(group), (r) => decodeDescribeGroups(r, group));
      // Kafka 4's coordinator answers DescribeGroups for a consumer-protocol group as it does for
      // a group that does not exist: state Dead, no error. Only ConsumerGroupDescribe tells them apart.
      if (classic.state !== 'Dead' || !this.supports('ConsumerGroupDescribe')) return { ...classic, protocol: 'classic' };
    } catch (e) {
      if (!(e instanceof KafkaProtocolError && e.code === KafkaError.GROUP_ID_NOT_FOUND) || !this.supports('ConsumerGroupDescribe')) throw e;
    }
    {
      try {
        return { ...(await this.call('ConsumerGroupDescribe', encodeConsumerGroupDescribe(group), (r) => decodeConsumerGroupDescribe(r, group))), protocol: 'consumer' };
      } catch (e2) {
        // Neither kind: the group does not exist, which Kafka 3.x's coordinator answers as state Dead.
        if (e2 instanceof KafkaProtocolError && e2.code === KafkaError.GROUP_ID_NOT_FOUND) return dead;
        throw e2;
      }
    }
  }

  /** Committed offsets of a group; -1 means none. */
  committedOffsets(group: string, topics: ReadonlyMap<string, readonly number[]>): Promise<OffsetsByTopic> {
    return this.call('OffsetFetch', encodeOffsetFetch(group, topics), (r) => decodeOffsetFetch(r, group));
  }
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

/**
 * A per-run pool: one connection per broker address, all closed by `close()` or when
 * the signal aborts (which rejects every request still in flight).
 */
export class ConnectionPool {
  private readonly conns = new Map<string, Promise<BrokerConnection>>();
  private readonly onAbort = () => this.close(abortError(this.opts.signal!));

  constructor(private readonly opts: ConnectOptions) {
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get(host: string, port: number): Promise<BrokerConnection> {
    const key = `${host}:${port}`;
    let c = this.conns.get(key);
    if (!c) {
      c = BrokerConnection.open(host, port, this.opts);
      c.catch(() => this.conns.delete(key));
      this.conns.set(key, c);
    }
    return c;
  }

  close(reason?: Error): void {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    for (const c of this.conns.values()) c.then((x) => x.close(reason), () => undefined);
    this.conns.clear();
  }
}
