/**
 * One reusable ioredis connection to one node, set up the way both Redis checks need it:
 * no auto-reconnect, no offline queue, no retries and no ready check, so a dead node fails
 * fast and the next run dials it afresh.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** What one check adds to the shared setup (e.g. RESP2 and no CLIENT SETINFO for Redis Cluster). */
export type HandshakeOptions = Pick<RedisOptions, 'protocol' | 'disableClientInfo'>;

export class NodeConnection {
  private client: Redis | undefined;
  private error: Error | undefined;
  /** Counts clients opened: only the newest one's events are its error (a dropped one may still report). */
  private opened = 0;

  constructor(private readonly node: NodeAddress, private readonly handshake: HandshakeOptions = {}) {}

  /**
   * The last 'error' event of the newest client since it was opened or `forgetError()` was called.
   * ioredis rejects with "Connection is closed." and reports the cause (ECONNREFUSED, WRONGPASS)
   * only as that event.
   */
  get lastError(): Error | undefined {
    return this.error;
  }

  forgetError(): void {
    this.error = undefined;
  }

  /** Whether a client is open (or opening): `open()` would not dial. */
  get isOpen(): boolean {
    return this.client !== undefined;
  }

  /** The open client, or a new one once it has connected within `connectTimeoutMs`. */
  async open(connectTimeoutMs: number): Promise<Redis> {
    if (this.client) return this.client;
    const c = new Redis({
      host: this.node.host, port: this.node.port, username: this.node.username, password: this.node.password,
      ...this.handshake,
      lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null,
      connectTimeout: connectTimeoutMs, enableReadyCheck: false,
    });
    const nth = ++this.opened;
    this.error = undefined;
    // Kept after 'end' too: ioredis may report the cause after the connection is already gone.
    c.on('error', (e: Error) => { if (this.opened === nth) this.error = e; });
    c.on('end', () => { if (this.client === c) this.client = undefined; });
    this.client = c;
    await c.connect();
    return c;
  }

  drop(): void {
    const c = this.client;
    this.client = undefined;
    c?.disconnect(false);
  }
}
