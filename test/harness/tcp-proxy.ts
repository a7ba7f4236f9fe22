/**
 * A loopback TCP proxy that the test can cut: while cut, every connection it holds (or is
 * offered) whose peer address matches is destroyed in both directions, so nothing passes
 * either way; restored, it forwards again. Used in front of Redis Cluster bus ports.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private cutWhen: ((remoteAddress: string) => boolean) | undefined;

  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on a kernel-chosen port of 127.0.0.1 and forwards to 127.0.0.1:`to`. */
  static async start(to: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((inbound) => proxy!.accept(inbound, to));
    const port = await new Promise<number>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => res((server.address() as AddressInfo).port));
    });
    proxy = new TcpProxy(server, port);
    return proxy;
  }

  private accept(inbound: Socket, to: number): void {
    inbound.on('error', () => undefined);
    if (this.cutWhen?.(inbound.remoteAddress ?? '')) {
      inbound.destroy();
      return;
    }
    const outbound = connect({ host: '127.0.0.1', port: to });
    outbound.on('error', () => undefined);
    const pair: [Socket, Socket] = [inbound, outbound];
    this.pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => { inbound.destroy(); outbound.destroy(); this.pairs.delete(pair); };
    inbound.once('close', end);
    outbound.once('close', end);
  }

  /** Cuts the connections from peers whose address matches (default: all), those held and those to come. */
  cut(match: (remoteAddress: string) => boolean = () => true): void {
    this.cutWhen = match;
    for (const [inbound, outbound] of [...this.pairs]) {
      if (match(inbound.remoteAddress ?? '')) { inbound.destroy(); outbound.destroy(); }
    }
  }

  restore(): void {
    this.cutWhen = undefined;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
