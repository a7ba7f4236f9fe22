/**
 * Just enough HTTP/1.1 for startHostile, answering as a Solr node does (CLUSTERSTATUS of a cluster
 * whose only live node is the server itself, no collections; CoreAdmin STATUS with one core) or as
 * a Loki member does (/ready, /ring, /metrics); 404 for anything else. Requests are GETs without a
 * body; every answer keeps the connection.
 */
import type { Protocol } from './hostile.js';

const END_OF_HEADERS = '\r\n\r\n';

/** What a route answers: status line text, content type and body. */
export interface HttpAnswer {
  readonly status: string;
  readonly type: string;
  readonly body: string;
}

const json = (status: string, v: unknown): HttpAnswer => ({ status, type: 'application/json', body: JSON.stringify(v) });

function response(a: HttpAnswer): Buffer {
  const body = Buffer.from(a.body);
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 ${a.status}\r\nContent-Type: ${a.type}\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`),
    body,
  ]);
}

/** An HTTP server whose answers `route` gives by request path (with its query). */
export function httpProtocol(route: (path: string) => HttpAnswer): Protocol {
  return {
    reply(pending) {
      const end = pending.indexOf(END_OF_HEADERS);
      if (end < 0) return undefined;
      const [, path = ''] = pending.toString('latin1', 0, end).split(' ', 2);
      return { reply: response(route(path)), consumed: end + END_OF_HEADERS.length };
    },
    /** An endless body: chunked, one chunk that announces `size` bytes (hex), then filler. */
    oversizedHeader: (size) => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`),
    /** A second answer nobody asked for. */
    extra: () => response(json('200 OK', { unasked: true })),
  };
}

/** `port()` is the server's own port, as its node name in live_nodes (known once it listens). */
export function solrHttpProtocol(port: () => number): Protocol {
  return httpProtocol((path) => {
    if (path.includes('/admin/collections?action=CLUSTERSTATUS')) {
      return json('200 OK', { responseHeader: { status: 0 }, cluster: { live_nodes: [`127.0.0.1:${port()}_solr`], collections: {} } });
    }
    if (path.includes('/admin/cores?action=STATUS')) return json('200 OK', { responseHeader: { status: 0 }, initFailures: {}, status: { main: {} } });
    return json('404 Not Found', { error: { msg: `no ${path}` } });
  });
}

/** A Loki member as the loki check reads it: ready, itself ACTIVE in the ring, a few counters. */
export function lokiHttpProtocol(): Protocol {
  const now = new Date().toISOString();
  return httpProtocol((path) => {
    if (path === '/ready') return { status: '200 OK', type: 'text/plain', body: 'ready\n' };
    if (path === '/ring') return json('200 OK', { shards: [{ id: 'hostile', state: 'ACTIVE', address: '127.0.0.1:9095', timestamp: now }], now });
    if (path === '/metrics') {
      return { status: '200 OK', type: 'text/plain; version=0.0.4', body: 'loki_build_info{version="3.7.8"} 1\nloki_ingester_chunks_flush_failures_total 0\nprocess_start_time_seconds 1.7e9\n' };
    }
    return { status: '404 Not Found', type: 'text/plain', body: `no ${path}\n` };
  });
}

/** The oversized answer that says its size up front: a Content-Length of `size`. */
export const announcedLength = (size: number): Buffer => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
