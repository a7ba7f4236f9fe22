/**
 * Just enough HTTP/1.1 for startHostile, answering as a Solr node does: CLUSTERSTATUS of a cluster
 * whose only live node is the server itself (no collections), CoreAdmin STATUS with one core,
 * 404 for anything else. Requests are GETs without a body; every answer keeps the connection.
 */
import type { Protocol } from './hostile.js';

const END_OF_HEADERS = '\r\n\r\n';

function response(status: string, json: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(json));
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`),
    body,
  ]);
}

/** `port()` is the server's own port, as its node name in live_nodes (known once it listens). */
export function solrHttpProtocol(port: () => number): Protocol {
  return {
    reply(pending) {
      const end = pending.indexOf(END_OF_HEADERS);
      if (end < 0) return undefined;
      const [, path = ''] = pending.toString('latin1', 0, end).split(' ', 2);
      const consumed = end + END_OF_HEADERS.length;
      if (path.includes('/admin/collections?action=CLUSTERSTATUS')) {
        return { reply: response('200 OK', { responseHeader: { status: 0 }, cluster: { live_nodes: [`127.0.0.1:${port()}_solr`], collections: {} } }), consumed };
      }
      if (path.includes('/admin/cores?action=STATUS')) {
        return { reply: response('200 OK', { responseHeader: { status: 0 }, initFailures: {}, status: { main: {} } }), consumed };
      }
      return { reply: response('404 Not Found', { error: { msg: `no ${path}` } }), consumed };
    },
    /** An endless body: chunked, one chunk that announces `size` bytes (hex), then filler. */
    oversizedHeader: (size) => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`),
    /** A second answer nobody asked for. */
    extra: () => response('200 OK', { unasked: true }),
  };
}

/** The oversized answer that says its size up front: a Content-Length of `size`. */
export const announcedLength = (size: number): Buffer => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
