/** Real redis-server processes on loopback: a master and its replica, each with its own folder. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { freePort, run, startDaemon, tempDir, removeDir, waitFor, waitForPort, type Daemon } from './proc.js';
import type { TestPki } from './pki.js';

/**
 * A TLS-only node (Debian's redis-server: `port 0`, `tls-port`, `tls-auth-clients yes`) with the
 * test CA's server certificate; `replication` adds `tls-replication yes` (a replica dials its
 * master over TLS, showing the same certificate as a client).
 */
export function tlsServerArgs(pki: TestPki, port: number): string[] {
  return [
    '--port', '0', '--tls-port', String(port), '--tls-cert-file', pki.server.certFile, '--tls-key-file', pki.server.keyFile,
    '--tls-ca-cert-file', pki.caFile, '--tls-auth-clients', 'yes', '--tls-replication', 'yes',
  ];
}

/** redis-cli over TLS with the test client certificate; `--insecure` so it still gets in while a test swaps the server's certificate. */
export function tlsCliArgs(pki: TestPki): string[] {
  return ['--tls', '--insecure', '--cacert', pki.caFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile];
}

export class RedisNode {
  daemon: Daemon | undefined;
  constructor(readonly dir: string, readonly port: number, private readonly extra: string[] = [], private readonly cliExtra: string[] = []) {
    mkdirSync(dir, { recursive: true });
  }
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.daemon = startDaemon(`redis-${this.port}`, 'redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--protected-mode', 'no', ...this.extra,
    ], { logFile: join(this.dir, 'redis.log') });
    await waitForPort(this.port, 20_000, `redis ${this.port}`);
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  async kill(): Promise<void> {
    await this.daemon?.kill();
    this.daemon = undefined;
  }

  async cli(...args: string[]): Promise<string> {
    const auth = this.extra.includes('--requirepass') ? ['--no-auth-warning', '-a', this.extra[this.extra.indexOf('--requirepass') + 1]!] : [];
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...this.cliExtra, ...auth, ...args], { timeoutMs: 10_000 })).stdout.trim();
  }

  async role(): Promise<string> {
    const info = await this.cli('INFO', 'replication');
    return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
  }
}

export class RedisPair {
  constructor(readonly master: RedisNode, readonly replica: RedisNode, private readonly dir: string) {}

  /** With `tls`, both nodes listen on TLS only and replicate over TLS (tlsServerArgs). */
  static async start(opts: { password?: string; tls?: TestPki } = {}): Promise<RedisPair> {
    const dir = tempDir('redis');
    const auth = opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : [];
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    const tls = (port: number) => (opts.tls ? tlsServerArgs(opts.tls, port) : []);
    const cli = opts.tls ? tlsCliArgs(opts.tls) : [];
    const master = new RedisNode(join(dir, 'master'), masterPort, [...auth, ...tls(masterPort)], cli);
    await master.start();
    const replica = new RedisNode(join(dir, 'replica'), replicaPort, [...auth, ...tls(replicaPort), '--replicaof', '127.0.0.1', String(master.port)], cli);
    await replica.start();
    const pair = new RedisPair(master, replica, dir);
    await pair.waitLinked();
    return pair;
  }

  /** Runs `body` with the replica detached (REPLICAOF NO ONE: a role flip), then links it again. */
  async withReplicaDetached<T>(body: () => Promise<T>): Promise<T> {
    await this.replica.cli('REPLICAOF', 'NO', 'ONE');
    try {
      return await body();
    } finally {
      await this.replica.cli('REPLICAOF', '127.0.0.1', String(this.master.port));
      await this.waitLinked();
    }
  }

  async waitLinked(): Promise<void> {
    await waitFor(async () => /master_link_status:up/.test(await this.replica.cli('INFO', 'replication')), 20_000, 'replica link up');
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.master.stop(), this.replica.stop()]);
    removeDir(this.dir);
  }
}

/** A TCP listener that accepts connections and never answers: a blackholed target. */
/** Accepts connections and never answers; `open()` counts the connections a client has not closed yet. */
export async function startBlackhole(): Promise<{ port: number; open(): number; accepted(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const srv = createServer((s) => { accepted++; sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  const port = await new Promise<number>((res) => srv.listen(0, '127.0.0.1', () => res((srv.address() as AddressInfo).port)));
  return {
    port,
    open: () => sockets.size,
    accepted: () => accepted,
    close: () => new Promise((res) => { for (const s of sockets) s.destroy(); srv.close(() => res()); }),
  };
}
