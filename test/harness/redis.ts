/** Real redis-server processes on loopback: a master and its replica, each with its own folder. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { freePort, run, startDaemon, tempDir, removeDir, waitFor, waitForPort, type Daemon } from './proc.js';

export class RedisNode {
  daemon: Daemon | undefined;
  constructor(readonly dir: string, readonly port: number, private readonly extra: string[] = []) {
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
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...auth, ...args], { timeoutMs: 10_000 })).stdout.trim();
  }

  async role(): Promise<string> {
    const info = await this.cli('INFO', 'replication');
    return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
  }
}

export class RedisPair {
  constructor(readonly master: RedisNode, readonly replica: RedisNode, private readonly dir: string) {}

  static async start(opts: { password?: string } = {}): Promise<RedisPair> {
    const dir = tempDir('redis');
    const auth = opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : [];
    const master = new RedisNode(join(dir, 'master'), await freePort(), auth);
    await master.start();
    const replica = new RedisNode(join(dir, 'replica'), await freePort(), [...auth, '--replicaof', '127.0.0.1', String(master.port)]);
    await replica.start();
    const pair = new RedisPair(master, replica, dir);
    await pair.waitLinked();
    return pair;
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
