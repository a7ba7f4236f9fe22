/**
 * Just enough of the Kafka protocol for startHostile: request frames are split by their int32
 * size and answered by api key with the check's versions (ApiVersions v0, Metadata v5 with one
 * broker, itself, and each asked topic with no partitions, so the check sends nothing else).
 */
import type { Protocol } from './hostile.js';

const API_VERSIONS = 18;
const METADATA = 3;
/** Api key → [min, max] version advertised: what the check requires (codec.ts VERSION) and no more. */
const ADVERTISED: readonly [number, number, number][] = [[2, 1, 1], [3, 5, 5], [9, 3, 3], [10, 1, 1], [18, 0, 0]];
const INT32_MAX = 0x7fffffff;

class Out {
  private parts: Buffer[] = [];
  int8(v: number) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  string(v: string | null) {
    if (v === null) return this.int16(-1);
    this.int16(Buffer.byteLength(v)); this.parts.push(Buffer.from(v)); return this;
  }
  /** The body as a frame: int32 size, then the bytes. */
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    return Buffer.concat([size, body]);
  }
}

/** Topic names of a Metadata request body (after the header); null asks for all. */
function metadataTopics(body: Buffer): string[] {
  const n = body.readInt32BE(0);
  const out: string[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    const len = body.readInt16BE(o);
    out.push(body.toString('utf8', o + 2, o + 2 + len));
    o += 2 + len;
  }
  return out;
}

/** `port()` is the hostile server's own port, for the broker list of Metadata (known once it listens). */
export function kafkaProtocol(port: () => number): Protocol {
  return {
    reply(pending) {
      if (pending.length < 4) return undefined;
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) return undefined;
      const req = pending.subarray(4, 4 + size);
      const api = req.readInt16BE(0);
      const id = req.readInt32BE(4);
      const clientIdLen = req.readInt16BE(8);
      const body = req.subarray(10 + Math.max(0, clientIdLen));
      const out = new Out().int32(id);
      if (api === API_VERSIONS) {
        out.int16(0).int32(ADVERTISED.length);
        for (const [key, min, max] of ADVERTISED) out.int16(key).int16(min).int16(max);
      } else if (api === METADATA) {
        const topics = metadataTopics(body);
        out.int32(0).int32(1).int32(1).string('127.0.0.1').int32(port()).string(null).string('hostile').int32(1).int32(topics.length);
        for (const t of topics) out.int16(0).string(t).int8(0).int32(0);
      } else {
        out.int16(35); // UNSUPPORTED_VERSION: the check never asks for anything else of this broker
      }
      return { reply: out.frame(), consumed: 4 + size };
    },
    oversizedHeader(size) {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Math.min(size, INT32_MAX));
      return b;
    },
    /** A frame of 2 bytes: too short to hold a correlation id (before issue 17, a RangeError in the socket's data handler). */
    extra: () => Buffer.from([0, 0, 0, 2, 0, 0]),
  };
}
