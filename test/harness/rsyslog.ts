/** A real rsyslogd on a private unix socket and a loopback UDP port, writing what it receives to a file. */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, removeDir, startDaemon, tempDir, waitFor, waitForPort, type Daemon } from './proc.js';

export class Rsyslog {
  private constructor(readonly dir: string, readonly socket: string, readonly udpPort: number, readonly tcpPort: number, readonly out: string, private readonly daemon: Daemon) {}

  static async start(): Promise<Rsyslog> {
    const dir = tempDir('rsyslog');
    const socket = join(dir, 'log.sock');
    const out = join(dir, 'messages');
    const udpPort = await freePort();
    const tcpPort = await freePort();
    const conf = join(dir, 'rsyslog.conf');
    // The raw template keeps what an operator greps for: priority, tag and message.
    writeFileSync(conf, `
global(workDirectory="${dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${socket}" CreatePath="on")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
template(name="raw" type="string" string="%pri-text% %timereported:::date-rfc3164% %hostname% %syslogtag%%msg%\\n")
*.* action(type="omfile" file="${out}" template="raw")
`);
    const daemon = startDaemon('rsyslogd', 'rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { logFile: join(dir, 'rsyslogd.log') });
    await waitFor(() => existsSync(socket), 15_000, 'rsyslogd socket');
    await waitForPort(tcpPort, 15_000, 'rsyslogd TCP input');
    return new Rsyslog(dir, socket, udpPort, tcpPort, out, daemon);
  }

  lines(): string[] {
    return existsSync(this.out) ? readFileSync(this.out, 'utf8').split('\n').filter(Boolean) : [];
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    removeDir(this.dir);
  }
}
