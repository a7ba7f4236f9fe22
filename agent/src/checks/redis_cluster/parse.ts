/** Pure parsers for what a cluster node answers: CLUSTER NODES (INFO and CLUSTER INFO: parseInfo in common/redis/info.ts). */

/** One line of CLUSTER NODES as one node sees it. */
export interface NodeLine {
  readonly id: string;
  /** `ip:port`, or '' when the node has no address (noaddr, or a fresh node that does not know its own ip). */
  readonly addr: string;
  readonly port: number;
  readonly flags: ReadonlySet<string>;
  readonly masterId: string | undefined;
  readonly link: string;
  /** Number of slots served (importing/migrating markers are not counted). */
  readonly slots: number;
}

/**
 * `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> ...`
 */
export function parseClusterNodes(text: string): NodeLine[] {
  const out: NodeLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const f = raw.trim().split(/\s+/);
    if (f.length < 8) continue;
    const addrPart = f[1]!.split(',')[0]!.split('@')[0]!;
    const i = addrPart.lastIndexOf(':');
    const host = i >= 0 ? addrPart.slice(0, i) : '';
    const port = i >= 0 ? Number(addrPart.slice(i + 1)) : 0;
    let slots = 0;
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue;
      const dash = s.indexOf('-');
      slots += dash < 0 ? 1 : Number(s.slice(dash + 1)) - Number(s.slice(0, dash)) + 1;
    }
    out.push({
      id: f[0]!,
      addr: host && port > 0 ? `${host}:${port}` : '',
      port,
      flags: new Set(f[2]!.split(',')),
      masterId: f[3] === '-' ? undefined : f[3],
      link: f[7]!,
      slots,
    });
  }
  return out;
}

/** `127.0.0.1:7002` < `127.0.0.1:7010` < `127.0.0.2:7000`: host, then port as a number. */
export function compareAddr(a: string, b: string): number {
  const ia = a.lastIndexOf(':');
  const ib = b.lastIndexOf(':');
  const ha = a.slice(0, ia);
  const hb = b.slice(0, ib);
  if (ha !== hb) return ha < hb ? -1 : 1;
  return Number(a.slice(ia + 1)) - Number(b.slice(ib + 1));
}

export function hostOf(addr: string): string {
  return addr.slice(0, addr.lastIndexOf(':'));
}
