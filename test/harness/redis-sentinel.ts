/**
 * Three real Redis Sentinels (Debian's redis-sentinel when installed, else `redis-server
 * --sentinel`: that package adds only the name, a link to the same binary, and a service) watching a master and its replica under one name, each with its
 * own folder and config file (Sentinel rewrites it). Each Sentinel logs in to the data nodes and
 * to the other Sentinels as its own ACL user, so one can be cut off for real (its users off and
 * their connections killed, both ways): it still answers clients but hears nothing more, neither
 * through the nodes' __sentinel__:hello channel nor from the other Sentinels, which publish their
 * hello messages to each other directly as well. The default user has a password everywhere: a
 * Sentinel whose AUTH fails would otherwise carry on as the default user. The check logs in as
 * `monitor`, which may run INFO and nothing else.
 */
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { freePort, startDaemon, tempDir, removeDir, waitFor, waitForPort, run, type Daemon } from './proc.js';
import { RedisPair } from './redis.js';

/** Debian's redis-sentinel on PATH, if the package is installed. */
const SENTINEL_BINARY = (process.env.PATH ?? '').split(':').map((d) => join(d, 'redis-sentinel')).find((f) => existsSync(f));

export const MASTER_NAME = 'mymaster';
const SENTINEL_PASSWORD = 'sentinel-link-pw';
const ADMIN_PASSWORD = 'sentinel-admin-pw';
/** The check's user on the nodes and the Sentinels: INFO only. */
export const MONITOR = { username: 'monitor', password: 'monitor-Pw-7' } as const;
const MONITOR_ACL = ['on', `>${MONITOR.password}`, '-@all', '+info'];

export class Sentinel {
  daemon: Daemon | undefined;
  constructor(readonly index: number, readonly port: number, readonly dir: string) {}
  get address(): string { return `127.0.0.1:${this.port}`; }
  get user(): string { return `sentinel${this.index}`; }

  async cli(...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), '--no-auth-warning', '-a', ADMIN_PASSWORD, ...args], { timeoutMs: 10_000 })).stdout.trim();
  }

  /** The master's address as this Sentinel's INFO sentinel names it. */
  async masterAddress(): Promise<string | undefined> {
    return /master\d+:name=mymaster,status=\w+,address=([^,]+)/.exec(await this.cli('INFO', 'sentinel'))?.[1];
  }
}

export class SentinelSet {
  private constructor(readonly pair: RedisPair, readonly sentinels: Sentinel[], private readonly dir: string) {}

  static async start(): Promise<SentinelSet> {
    const pair = await RedisPair.start({ password: ADMIN_PASSWORD });
    const dir = tempDir('redis-sentinel');
    const set = new SentinelSet(pair, [], dir);
    try {
      for (const n of [pair.master, pair.replica]) await n.cli('ACL', 'SETUSER', MONITOR.username, ...MONITOR_ACL);
      for (let i = 1; i <= 3; i++) {
        for (const n of [pair.master, pair.replica]) await n.cli('ACL', 'SETUSER', `sentinel${i}`, 'on', `>${SENTINEL_PASSWORD}`, '+@all', '&*');
        const s = new Sentinel(i, await freePort(), join(dir, `s${i}`));
        mkdirSync(s.dir, { recursive: true });
        const conf = join(s.dir, 'sentinel.conf');
        writeFileSync(conf, [
          `port ${s.port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${s.dir}`, 'daemonize no',
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${pair.master.port} 2`,
          `sentinel auth-user ${MASTER_NAME} ${s.user}`, `sentinel auth-pass ${MASTER_NAME} ${SENTINEL_PASSWORD}`,
          `sentinel sentinel-user ${s.user}`, `sentinel sentinel-pass ${SENTINEL_PASSWORD}`,
          `user default on >${ADMIN_PASSWORD} ~* &* +@all`, `user ${MONITOR.username} ${MONITOR_ACL.join(' ')}`,
          ...[1, 2, 3].map((j) => `user sentinel${j} on >${SENTINEL_PASSWORD} ~* &* +@all`),
          // 1 s to sdown: the cut-off Sentinel stops trusting the nodes quickly; failovers here are forced anyway.
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`, `sentinel failover-timeout ${MASTER_NAME} 10000`, '',
        ].join('\n'));
        const [cmd, args] = SENTINEL_BINARY ? [SENTINEL_BINARY, [conf]] : ['redis-server', [conf, '--sentinel']];
        s.daemon = startDaemon(`redis-sentinel-${s.port}`, cmd, args, { cwd: s.dir, logFile: join(s.dir, 'sentinel.log') });
        set.sentinels.push(s);
        await waitForPort(s.port, 20_000, `sentinel ${s.port}`);
      }
      await set.waitSettled(pair.master.address);
      return set;
    } catch (e) {
      await set.stop();
      throw e;
    }
  }

  /** Every Sentinel names `master`, knows its replica and the two other Sentinels (what SENTINEL FAILOVER needs). */
  async waitSettled(master: string, sentinels: readonly Sentinel[] = this.sentinels): Promise<void> {
    await waitFor(async () => {
      for (const s of sentinels) {
        const info = await s.cli('INFO', 'sentinel');
        if (!info.includes(`name=${MASTER_NAME},status=ok,address=${master},slaves=1,sentinels=3`)) return false;
      }
      return true;
    }, 60_000, `the Sentinels to agree on ${master}`, 250);
  }

  /** `SENTINEL FAILOVER` through the first Sentinel; resolves when `expect` (the Sentinels still connected) name the replica, and it is linked. */
  async failover(expect: readonly Sentinel[] = this.sentinels): Promise<{ from: string; to: string }> {
    const from = (await this.sentinels[0]!.masterAddress())!;
    const to = from === this.pair.master.address ? this.pair.replica.address : this.pair.master.address;
    await this.sentinels[0]!.cli('SENTINEL', 'FAILOVER', MASTER_NAME);
    const [oldNode] = [this.pair.master, this.pair.replica].filter((n) => n.address === from);
    await waitFor(async () => /master_link_status:up/.test(await oldNode!.cli('INFO', 'replication')), 60_000, `${from} to replicate from ${to}`, 250);
    await this.waitSettled(to, expect);
    return { from, to };
  }

  /** Cuts a Sentinel off from the data nodes and the other Sentinels (users off, connections killed, both ways), or lets it back in. */
  async cut(s: Sentinel, off: boolean): Promise<void> {
    const others = this.sentinels.filter((x) => x !== s);
    const block = async (on: { cli(...a: string[]): Promise<string> }, user: string) => {
      await on.cli('ACL', 'SETUSER', user, off ? 'off' : 'on');
      if (off) await on.cli('CLIENT', 'KILL', 'USER', user);
    };
    for (const n of [this.pair.master, this.pair.replica, ...others]) await block(n, s.user);
    for (const o of others) await block(s, o.user);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.sentinels.map((s) => s.daemon?.stop()));
    await this.pair.stop();
    removeDir(this.dir);
  }
}
