/**
 * One reusable connection to one node, set up the way both Redis checks need it: dialled on
 * first use, authenticated with AUTH, never reconnected by itself (a dead node fails fast, by
 * its cause, and the next run dials it afresh), every reply capped at `maxReplyBytes`.
 */
import { RespClient, type RespTls } from './client.js';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly tls?: RespTls | undefined;
}

/**
 * AUTH errors that still leave the connection usable, as ioredis treated them: a password
 * given to a node that needs none, and a username given to Redis 5 or older.
 */
const HARMLESS_AUTH_ERRORS = ['no password is set', 'without any password configured for the default user', "wrong number of arguments for 'auth' command"];

export class NodeConnection {
  private client: RespClient | undefined;
  /** Settles when `client` has connected and authenticated. */
  private opened: Promise<RespClient> | undefined;
  /** A protocol fault of the last connection while it was idle: the next `open()` reports it once. */
  private fault: Error | undefined;

  constructor(private readonly node: NodeAddress, private readonly maxReplyBytes: number) {}

  /** Whether a connection is up (or being opened): `open()` would not dial. */
  get isOpen(): boolean {
    return this.client !== undefined && !this.client.failed;
  }

  /** The open connection, or a new one once it has connected (within `connectTimeoutMs`) and authenticated. */
  async open(connectTimeoutMs: number): Promise<RespClient> {
    if (this.fault) {
      const f = this.fault;
      this.fault = undefined;
      throw f;
    }
    if (this.isOpen && this.opened) return this.opened;
    const { host, port } = this.node;
    const c = RespClient.open({
      host, port, connectTimeoutMs, maxReplyBytes: this.maxReplyBytes, tls: this.node.tls,
      onIdleFault: (e) => { if (this.client === c) this.fault = e; },
    });
    this.client = c;
    this.opened = this.authenticate(c);
    return this.opened;
  }

  private async authenticate(c: RespClient): Promise<RespClient> {
    await c.ready;
    const { username, password } = this.node;
    if (password === undefined) return c;
    try {
      await c.command(username !== undefined ? ['AUTH', username, password] : ['AUTH', password], 'simple');
    } catch (e) {
      if (c.failed || !HARMLESS_AUTH_ERRORS.some((m) => (e as Error).message.includes(m))) {
        c.close();
        throw e;
      }
    }
    return c;
  }

  drop(): void {
    const c = this.client;
    this.client = undefined;
    this.opened = undefined;
    c?.close();
  }
}
