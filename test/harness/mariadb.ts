/**
 * A real MariaDB primary and replica on loopback, with real binlog replication,
 * each with its own data folder. Faults are injected with real SQL and signals.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { join } from 'node:path';
import { copyFileSync, mkdirSync } from 'node:fs';
import { freePort, run, startDaemon, tempDir, removeDir, waitFor, type Daemon } from './proc.js';

export const MONITOR_USER = 'monitor';
export const MONITOR_PASSWORD = 'M0n!tor-pw-do-not-leak';
/** A second monitor user, REQUIRE X509: it logs in only with a client certificate the server's CA signed. */
export const MONITOR_X509_USER = 'monitor_x509';
const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-pw';

/** A server certificate for MariaDB: files from test/harness/pki.ts. */
export interface MariaDbTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** `--tls-version`, e.g. 'TLSv1.2' to hold the server below a client's minimum. */
  readonly tlsVersion?: string;
}

export class MariaDbServer {
  daemon: Daemon | undefined;
  constructor(
    readonly name: string, readonly dir: string, readonly port: number, private readonly serverId: number,
    private readonly extraArgs: readonly string[] = [], readonly tls?: MariaDbTls,
  ) {}

  /** Where the server reads its certificate: the test swaps it (useCertificate) and FLUSH SSL reloads it. */
  private tlsFile(name: 'ca.pem' | 'server.pem' | 'server-key.pem'): string {
    return join(this.dir, 'tls', name);
  }

  /** Serves another certificate from now on (FLUSH SSL, MariaDB 10.4+): new connections see it, no restart. */
  async useCertificate(cert: { certFile: string; keyFile: string }): Promise<void> {
    copyFileSync(cert.certFile, this.tlsFile('server.pem'));
    copyFileSync(cert.keyFile, this.tlsFile('server-key.pem'));
    await this.sql('FLUSH SSL');
  }

  private tlsArgs(): string[] {
    if (!this.tls) return [];
    mkdirSync(join(this.dir, 'tls'), { recursive: true });
    copyFileSync(this.tls.caFile, this.tlsFile('ca.pem'));
    copyFileSync(this.tls.certFile, this.tlsFile('server.pem'));
    copyFileSync(this.tls.keyFile, this.tlsFile('server-key.pem'));
    return [
      `--ssl-ca=${this.tlsFile('ca.pem')}`, `--ssl-cert=${this.tlsFile('server.pem')}`, `--ssl-key=${this.tlsFile('server-key.pem')}`,
      '--require-secure-transport=ON', ...(this.tls.tlsVersion ? [`--tls-version=${this.tls.tlsVersion}`] : []),
    ];
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async init(): Promise<void> {
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${join(this.dir, 'data')}`, `--tmpdir=${join(this.dir, 'tmp')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeoutMs: 120_000 });
  }

  async start(): Promise<void> {
    this.daemon = startDaemon(this.name, 'mariadbd', [
      '--no-defaults', `--datadir=${join(this.dir, 'data')}`, `--socket=${join(this.dir, 'mysqld.sock')}`,
      `--pid-file=${join(this.dir, 'mysqld.pid')}`, `--tmpdir=${join(this.dir, 'tmp')}`, `--port=${this.port}`, '--bind-address=127.0.0.1', '--user=root',
      `--server-id=${this.serverId}`, '--log-bin=mysql-bin', '--relay-log=relay-bin', '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M', '--performance-schema=OFF', '--skip-log-error', '--log-warnings=1', ...this.extraArgs, ...this.tlsArgs(),
    ], { logFile: join(this.dir, 'mariadbd.log') });
    await waitFor(async () => {
      const c = await this.root();
      await c.end();
      return true;
    }, 60_000, `${this.name} to accept connections`);
  }

  /** kill and wait; the data folder stays so start() can bring it back. */
  async stop(): Promise<void> {
    await this.daemon?.stop(30_000);
    this.daemon = undefined;
  }

  /** root over TCP; over the Unix socket when the server refuses plaintext TCP (require_secure_transport). */
  root(): Promise<Connection> {
    const where = this.tls ? { socketPath: join(this.dir, 'mysqld.sock') } : { host: '127.0.0.1', port: this.port };
    return mysql.createConnection({ ...where, user: 'root', multipleStatements: true, connectTimeout: 5000 });
  }

  async sql(statement: string): Promise<unknown> {
    const c = await this.root();
    try {
      const [rows] = await c.query(statement);
      return rows;
    } finally {
      await c.end();
    }
  }
}

export class ReplicationPair {
  constructor(readonly primary: MariaDbServer, readonly replica: MariaDbServer, private readonly dir: string) {}

  /**
   * With `tls`, both servers serve that certificate and refuse plaintext TCP (require_secure_transport=ON);
   * `monitor` is REQUIRE SSL and MONITOR_X509_USER REQUIRE X509; replication runs over TLS unverified.
   * `tlsVersions` (`--tls-version`, e.g. 'TLSv1.3') hold a server above or below a client's versions.
   */
  static async start(opts: { tls?: MariaDbTls; tlsVersions?: { primary?: string; replica?: string } } = {}): Promise<ReplicationPair> {
    const dir = tempDir('mariadb');
    const [p1, p2] = [await freePort(), await freePort()];
    const tlsOf = (v: string | undefined) => (opts.tls && v ? { ...opts.tls, tlsVersion: v } : opts.tls);
    const primary = new MariaDbServer('mariadb-primary', join(dir, 'primary'), p1, 1, [], tlsOf(opts.tlsVersions?.primary));
    // A replica runs read_only as in production (the check reports a writable one); replication and root (READ ONLY ADMIN) still write.
    const replica = new MariaDbServer('mariadb-replica', join(dir, 'replica'), p2, 2, ['--read-only'], tlsOf(opts.tlsVersions?.replica));
    await Promise.all([primary.init(), replica.init()]);
    await Promise.all([primary.start(), replica.start()]);
    const pair = new ReplicationPair(primary, replica, dir);
    const grants = `
      CREATE USER '${MONITOR_USER}'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}';
      GRANT REPLICATION CLIENT, BINLOG MONITOR, SLAVE MONITOR ON *.* TO '${MONITOR_USER}'@'%';${opts.tls ? `
      ALTER USER '${MONITOR_USER}'@'%' REQUIRE SSL;
      CREATE USER '${MONITOR_X509_USER}'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}' REQUIRE X509;
      GRANT REPLICATION CLIENT, BINLOG MONITOR, SLAVE MONITOR ON *.* TO '${MONITOR_X509_USER}'@'%';` : ''}`;
    await primary.sql(`${grants}
      CREATE USER '${REPL_USER}'@'%' IDENTIFIED BY '${REPL_PASSWORD}';
      GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'%';
      CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(64));`);
    // The replica replays the primary's binlog from the start: users and schema arrive by replication.
    await pair.pointReplicaAt(primary.port);
    await pair.waitInSync();
    return pair;
  }

  /** CHANGE MASTER to a port (the primary, or a dead one to break the IO thread) and start. */
  async pointReplicaAt(port: number): Promise<void> {
    const ssl = this.primary.tls ? ', MASTER_SSL=1, MASTER_SSL_VERIFY_SERVER_CERT=0' : '';
    await this.replica.sql(`STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${port}, MASTER_USER='${REPL_USER}', MASTER_PASSWORD='${REPL_PASSWORD}', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos${ssl}; START SLAVE;`);
  }

  async replicaStatus(): Promise<Record<string, unknown>> {
    const rows = (await this.replica.sql('SHOW SLAVE STATUS')) as Record<string, unknown>[];
    return rows[0] ?? {};
  }

  async waitInSync(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const s = await this.replicaStatus();
      return s.Slave_IO_Running === 'Yes' && s.Slave_SQL_Running === 'Yes' && s.Seconds_Behind_Master === 0 ? true : undefined;
    }, timeoutMs, 'replica to catch up');
  }

  /** Writes on the primary, so binlog positions move. */
  async write(n = 1): Promise<void> {
    const values = Array.from({ length: n }, (_, i) => `('n${i}')`).join(',');
    await this.primary.sql(`INSERT INTO shop.orders (note) VALUES ${values}`);
  }

  /**
   * Real lag: a session on the replica holds a write lock on the table, so the SQL thread
   * blocks on the next replicated row while the primary moves on. Returns the release.
   */
  async holdReplicaLock(): Promise<() => Promise<void>> {
    const c = await this.replica.root();
    await c.query('LOCK TABLES shop.orders WRITE');
    return async () => {
      await c.query('UNLOCK TABLES');
      await c.end();
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.primary.stop(), this.replica.stop()]);
    removeDir(this.dir);
  }
}
