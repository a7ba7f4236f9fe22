/**
 * A minimal, read-only Kafka wire-protocol client: just the five requests the check needs,
 * at versions every broker from Kafka 1.0 to 4.x accepts (KIP-896 removed older ones in 4.0).
 *
 *   ApiVersions v0      what the broker supports (checked before anything else is sent)
 *   Metadata v5         brokers, controller, and per partition: leader, replicas, ISR, error
 *   ListOffsets v1      end offsets (timestamp -1), sent to each partition's leader
 *   FindCoordinator v1  the broker that holds a group's offsets
 *   OffsetFetch v3      a group's committed offsets (-1 = none)
 *   SaslHandshake v1 + SaslAuthenticate v0   PLAIN and SCRAM-SHA-256/512
 *
 * Unlike the general-purpose clients (see README), a partition-level error never fails a
 * whole request here: every partition keeps its own error code, because a partition without
 * a leader is exactly what the check has to count. Requests are pipelined on one socket per
 * broker; aborting the signal destroys every socket at once.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

const API = { ListOffsets: 2, Metadata: 3, OffsetFetch: 9, FindCoordinator: 10, SaslHandshake: 17, ApiVersions: 18, SaslAuthenticate: 36 } as const;
type ApiName = keyof typeof API;
const VERSION: Record<ApiName, number> = { ListOffsets: 1, Metadata: 5, OffsetFetch: 3, FindCoordinator: 1, SaslHandshake: 1, ApiVersions: 0, SaslAuthenticate: 0 };

/** Kafka error codes the check may name in a line. */
export const ERROR_NAMES: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR', 1: 'OFFSET_OUT_OF_RANGE', 3: 'UNKNOWN_TOPIC_OR_PARTITION', 5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER', 7: 'REQUEST_TIMED_OUT', 8: 'BROKER_NOT_AVAILABLE', 9: 'REPLICA_NOT_AVAILABLE',
  14: 'COORDINATOR_LOAD_IN_PROGRESS', 15: 'COORDINATOR_NOT_AVAILABLE', 16: 'NOT_COORDINATOR', 29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED', 31: 'CLUSTER_AUTHORIZATION_FAILED', 33: 'UNSUPPORTED_SASL_MECHANISM', 34: 'ILLEGAL_SASL_STATE',
  35: 'UNSUPPORTED_VERSION', 58: 'SASL_AUTHENTICATION_FAILED', 69: 'GROUP_ID_NOT_FOUND', 74: 'FENCED_LEADER_EPOCH',
  75: 'UNKNOWN_LEADER_EPOCH',
};
export const errorName = (code: number): string => ERROR_NAMES[code] ?? `ERROR_${code}`;

export class KafkaProtocolError extends Error {
  constructor(readonly code: number, what: string) {
    super(`${what}: ${errorName(code)}`);
  }
}

// ---------------------------------------------------------------- encoding

class Writer {
  private parts: Buffer[] = [];
  int8(v: number) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  int64(v: bigint) { const b = Buffer.alloc(8); b.writeBigInt64BE(v); this.parts.push(b); return this; }
  bool(v: boolean) { return this.int8(v ? 1 : 0); }
  string(v: string | null) {
    if (v === null) return this.int16(-1);
    const s = Buffer.from(v, 'utf8');
    this.int16(s.length); this.parts.push(s); return this;
  }
  bytes(v: Buffer) { this.int32(v.length); this.parts.push(v); return this; }
  array<T>(items: readonly T[] | null, each: (w: Writer, item: T) => void) {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  build(): Buffer { return Buffer.concat(this.parts); }
}

class Reader {
  private o = 0;
  constructor(private readonly b: Buffer) {}
  int8() { const v = this.b.readInt8(this.o); this.o += 1; return v; }
  int16() { const v = this.b.readInt16BE(this.o); this.o += 2; return v; }
  int32() { const v = this.b.readInt32BE(this.o); this.o += 4; return v; }
  int64() { const v = this.b.readBigInt64BE(this.o); this.o += 8; return v; }
  bool() { return this.int8() !== 0; }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.o, this.o + n); this.o += n; return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const s = this.b.subarray(this.o, this.o + n); this.o += n; return s;
  }
  array<T>(each: (r: Reader) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
}

// ---------------------------------------------------------------- connection

export interface SaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

export interface ConnectOptions {
  clientId: string;
  /** node:tls options when the listener is TLS. */
  tls?: ConnectionOptions;
  sasl?: SaslOptions;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve: (r: Reader) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One socket to one broker, requests pipelined by correlation id. */
export class BrokerConnection {
  private socket!: Socket;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer = Buffer.alloc(0);
  private closedWith: Error | undefined;
  /** Responses read so far: a close before the 1st or 2nd usually means a security mismatch. */
  private responses = 0;
  private versions = new Map<number, [number, number]>();

  private constructor(readonly address: string, private readonly opts: ConnectOptions) {}

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
      const s = tls ? tlsConnect({ host, port, servername: isIp(host) ? undefined : host, ...tls }) : netConnect({ host, port });
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
        // With TLS 1.3 the broker checks the client certificate after the client's handshake is
        // done: a refusal arrives as an alert on the first read.
        s.on('error', (e) => {
          const alert = tls ? describeTlsAlert(e, tls.cert !== undefined) : undefined;
          this.shutdown(alert ? new Error(alert) : e);
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
          : describeTlsAlert(e, tls.cert !== undefined) ?? `TLS handshake failed: ${e.message}`)));
    });
  }

  private async handshake(): Promise<void> {
    const r = await this.send('ApiVersions', new Writer().build(), true);
    const code = r.int16();
    const apis = r.array((x) => [x.int16(), x.int16(), x.int16()] as const);
    if (code !== 0) throw new KafkaProtocolError(code, 'ApiVersions');
    for (const [k, min, max] of apis) this.versions.set(k, [min, max]);
    for (const name of ['Metadata', 'ListOffsets', 'FindCoordinator', 'OffsetFetch'] as const) this.require(name);
    if (this.opts.sasl) await this.authenticate(this.opts.sasl);
  }

  private require(name: ApiName): void {
    const range = this.versions.get(API[name]);
    const v = VERSION[name];
    if (!range || v < range[0] || v > range[1]) {
      throw new Error(`broker ${this.address} does not support ${name} v${v}${range ? ` (supports v${range[0]}-v${range[1]})` : ''}`);
    }
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) return;
      const frame = this.buf.subarray(4, 4 + size);
      this.responses++;
      this.buf = this.buf.subarray(4 + size);
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(new Reader(frame.subarray(4)));
    }
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
  send(api: ApiName, body: Buffer, handshake = false): Promise<Reader> {
    if (!handshake && api !== 'SaslHandshake' && api !== 'SaslAuthenticate') this.require(api);
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    const header = new Writer().int16(API[api]).int16(VERSION[api]).int32(id).string(this.opts.clientId).build();
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${api} request to ${this.address} timed out after ${this.opts.requestTimeoutMs}ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(Buffer.concat([size, header, body]));
    });
  }

  // ------------------------------------------------------------ SASL

  private async saslAuthenticate(bytes: Buffer): Promise<Buffer> {
    const r = await this.send('SaslAuthenticate', new Writer().bytes(bytes).build());
    const code = r.int16();
    const message = r.string();
    const auth = r.bytes() ?? Buffer.alloc(0);
    if (code !== 0) throw new Error(`SASL authentication failed: ${message ?? errorName(code)}`);
    return auth;
  }

  private async authenticate(sasl: SaslOptions): Promise<void> {
    const mech = sasl.mechanism.toUpperCase();
    const hs = await this.send('SaslHandshake', new Writer().string(mech).build());
    const code = hs.int16();
    const enabled = hs.array((x) => x.string());
    if (code === 33) throw new Error(`SASL mechanism ${mech} not enabled on ${this.address} (enabled: ${enabled.join(' ') || 'none'})`);
    // ILLEGAL_SASL_STATE: a PLAINTEXT or SSL listener answers SaslHandshake with it.
    if (code !== 0) throw new Error(`SaslHandshake: ${errorName(code)}${code === 34 ? ' (not a SASL listener? sasl is set)' : ''}`);
    if (sasl.mechanism === 'plain') {
      await this.saslAuthenticate(Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
      return;
    }
    // RFC 5802 SCRAM, as Kafka's ScramSaslClient does it.
    const algo = sasl.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512';
    const keyLen = algo === 'sha256' ? 32 : 64;
    const user = sasl.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    const cnonce = randomBytes(24).toString('base64');
    const firstBare = `n=${user},r=${cnonce}`;
    const serverFirst = (await this.saslAuthenticate(Buffer.from(`n,,${firstBare}`))).toString('utf8');
    const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const nonce = attrs.r ?? '';
    if (!nonce.startsWith(cnonce) || !attrs.s || !attrs.i) throw new Error('SASL SCRAM: unexpected server-first message');
    const salted = pbkdf2Sync(sasl.password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), keyLen, algo);
    const clientKey = createHmac(algo, salted).update('Client Key').digest();
    const storedKey = createHash(algo).update(clientKey).digest();
    const finalNoProof = `c=biws,r=${nonce}`;
    const authMessage = `${firstBare},${serverFirst},${finalNoProof}`;
    const signature = createHmac(algo, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    const serverFinal = (await this.saslAuthenticate(Buffer.from(`${finalNoProof},p=${proof.toString('base64')}`))).toString('utf8');
    const serverKey = createHmac(algo, salted).update('Server Key').digest();
    const expected = createHmac(algo, serverKey).update(authMessage).digest('base64');
    if (serverFinal !== `v=${expected}`) throw new Error('SASL SCRAM: server signature mismatch');
  }

  // ------------------------------------------------------------ requests

  async metadata(topics: readonly string[] | null): Promise<Metadata> {
    const r = await this.send('Metadata', new Writer().array(topics, (w, t) => w.string(t)).bool(false).build());
    r.int32(); // throttle_time_ms
    const brokers = r.array((x) => ({ id: x.int32(), host: x.string() ?? '', port: x.int32(), rack: x.string() }));
    const clusterId = r.string();
    const controllerId = r.int32();
    const topicList = r.array((x) => ({
      errorCode: x.int16(),
      name: x.string() ?? '',
      internal: x.bool(),
      partitions: x.array((p) => ({
        errorCode: p.int16(),
        id: p.int32(),
        leader: p.int32(),
        replicas: p.array((q) => q.int32()),
        isr: p.array((q) => q.int32()),
        offlineReplicas: p.array((q) => q.int32()),
      })).sort((a, b) => a.id - b.id),
    }));
    return { brokers, clusterId, controllerId, topics: topicList };
  }

  /** Latest (end) offsets; each partition keeps its own error code. */
  async endOffsets(topics: ReadonlyMap<string, readonly number[]>): Promise<OffsetsByTopic> {
    const body = new Writer().int32(-1).array([...topics], (w, [t, ps]) => {
      w.string(t).array(ps, (w2, p) => w2.int32(p).int64(-1n));
    }).build();
    const r = await this.send('ListOffsets', body);
    return readOffsets(r, (p) => {
      const errorCode = p.int16();
      p.int64(); // timestamp
      return { errorCode, offset: p.int64() };
    });
  }

  async findCoordinator(group: string): Promise<{ id: number; host: string; port: number }> {
    const r = await this.send('FindCoordinator', new Writer().string(group).int8(0).build());
    r.int32(); // throttle
    const code = r.int16();
    r.string(); // error message
    const id = r.int32();
    const host = r.string() ?? '';
    const port = r.int32();
    if (code !== 0) throw new KafkaProtocolError(code, `FindCoordinator for group ${group}`);
    return { id, host, port };
  }

  /** Committed offsets of a group; -1 means none. */
  async committedOffsets(group: string, topics: ReadonlyMap<string, readonly number[]>): Promise<OffsetsByTopic> {
    const body = new Writer().string(group).array([...topics], (w, [t, ps]) => {
      w.string(t).array(ps, (w2, p) => w2.int32(p));
    }).build();
    const r = await this.send('OffsetFetch', body);
    r.int32(); // throttle
    const out = readOffsets(r, (p) => {
      const offset = p.int64();
      p.string(); // metadata
      return { errorCode: p.int16(), offset };
    });
    const code = r.int16();
    if (code !== 0) throw new KafkaProtocolError(code, `OffsetFetch for group ${group}`);
    return out;
  }
}

export interface PartitionMetadata {
  errorCode: number;
  id: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface Metadata {
  brokers: { id: number; host: string; port: number; rack: string | null }[];
  clusterId: string | null;
  controllerId: number;
  topics: { errorCode: number; name: string; internal: boolean; partitions: PartitionMetadata[] }[];
}

export interface PartitionOffset { errorCode: number; offset: bigint }
/** topic → partition → offset and that partition's own error code. */
export type OffsetsByTopic = Map<string, Map<number, PartitionOffset>>;

// ---------------------------------------------------------------- helpers

/** `[topic [partition_index ...rest]]`, as ListOffsets and OffsetFetch answer; `rest` reads what follows the index. */
function readOffsets(r: Reader, rest: (p: Reader) => PartitionOffset): OffsetsByTopic {
  const out: OffsetsByTopic = new Map();
  r.array((x) => {
    const name = x.string() ?? '';
    const m = new Map<number, PartitionOffset>();
    x.array((p) => {
      const id = p.int32();
      m.set(id, rest(p));
    });
    out.set(name, m);
  });
  return out;
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'aborted');
}

/** `ECONNREFUSED`, `EHOSTUNREACH`, or the message (the address is already named by the caller). */
/**
 * A TLS alert the broker sent, in words, with a hint for the client-certificate alerts of
 * mutual TLS; undefined for any other error (e.g. the broker's certificate not trusted here).
 * OpenSSL's own message names its source file and line, which is no use in a check line.
 */
export function describeTlsAlert(e: unknown, hasClientCert: boolean): string | undefined {
  const err = e as { code?: unknown; reason?: unknown };
  if (typeof err.code !== 'string' || !err.code.startsWith('ERR_SSL_') || typeof err.reason !== 'string') return undefined;
  const alert = err.reason.replace(/^(sslv3|tlsv1|tlsv13) alert /, '');
  if (alert === 'bad certificate' || alert === 'certificate required') {
    return `TLS handshake failed: the broker refused the client certificate (alert: ${alert}${hasClientCert ? '' : '; tls.cert and tls.key are not set'})`;
  }
  if (alert === 'certificate unknown' || alert === 'unknown ca') return `TLS handshake failed: the broker does not trust the client certificate (alert: ${alert})`;
  return `TLS handshake failed: ${alert}`;
}

export function describeNetError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code && err.syscall) return err.code;
  if (e instanceof AggregateError && e.errors.length) return describeNetError(e.errors[0]);
  return err.message || String(e);
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
