/**
 * A real standalone ZooKeeper on loopback, from Debian's `zookeeper` package
 * (/usr/share/java/zookeeper.jar; its manifest Class-Path names the other jars it needs
 * under /usr/share/java). Its own data folder, its own port, no AdminServer (which would
 * take port 8080), nothing left behind.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, removeDir, startDaemon, tempDir, waitFor, type Daemon } from './proc.js';

export const ZOOKEEPER_JAR = process.env.IMOM_ZOOKEEPER_JAR ?? '/usr/share/java/zookeeper.jar';

/** A four-letter-word command ("ruok", "srvr") answered on the client port. */
export function fourLetter(port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect({ host: '127.0.0.1', port });
    let out = '';
    const t = setTimeout(() => { s.destroy(); rej(new Error(`${cmd}: no answer`)); }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(cmd));
    s.on('data', (d: string) => (out += d));
    s.on('end', () => { clearTimeout(t); res(out); });
    s.on('error', (e) => { clearTimeout(t); rej(e); });
  });
}

export class ZooKeeper {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly daemon: Daemon,
    private readonly ownsDir: boolean,
  ) {}

  /** `127.0.0.1:<port>`, a connect string for zkHost. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts a server in `dir` (a new temp folder by default) on a free loopback port. */
  static async start(opts: { dir?: string } = {}): Promise<ZooKeeper> {
    if (!existsSync(ZOOKEEPER_JAR)) throw new Error(`${ZOOKEEPER_JAR} is missing: install the Debian package zookeeper (scripts/setup/apt.sh)`);
    const dir = opts.dir ?? tempDir('zookeeper');
    const port = await freePort();
    mkdirSync(join(dir, 'data'), { recursive: true });
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, [
      'tickTime=2000',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr',
      '',
    ].join('\n'));
    const daemon = startDaemon('zookeeper', 'java', [
      '-Xms32m', '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
      '-cp', ZOOKEEPER_JAR, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg,
    ], { cwd: dir, logFile: join(dir, 'zookeeper.log') });
    const zk = new ZooKeeper(dir, port, daemon, !opts.dir);
    try {
      await zk.waitReady();
    } catch (e) {
      await daemon.stop();
      throw e;
    }
    return zk;
  }

  private async waitReady(): Promise<void> {
    await waitFor(async () => {
      if (!this.daemon.alive()) throw new Error(`zookeeper exited; see ${this.daemon.logFile}`);
      return (await fourLetter(this.port, 'ruok')) === 'imok';
    }, 30_000, `zookeeper on ${this.address}`);
  }

  /** Stops the server; removes its folder when the harness made it. */
  async stop(): Promise<void> {
    await this.daemon.stop();
    if (this.ownsDir) removeDir(this.dir);
  }
}
