/**
 * The wire format of the requests the check sends, at versions every broker from Kafka 1.0 to 4.x
 * accepts (KIP-896 removed older ones in 4.0): primitive writers and readers, the request header,
 * and one encoder and decoder per request. Pure: bytes in, values out.
 */
import { KafkaError, KafkaProtocolError, MalformedResponse } from './errors.js';

export const API = { ListOffsets: 2, Metadata: 3, OffsetFetch: 9, FindCoordinator: 10, DescribeGroups: 15, SaslHandshake: 17, ApiVersions: 18, SaslAuthenticate: 36, ConsumerGroupDescribe: 69 } as const;
export type ApiName = keyof typeof API;
export const VERSION: Record<ApiName, number> = { ListOffsets: 1, Metadata: 5, OffsetFetch: 3, FindCoordinator: 1, DescribeGroups: 1, SaslHandshake: 1, ApiVersions: 0, SaslAuthenticate: 0, ConsumerGroupDescribe: 0 };
/** Requests sent at a flexible version (KIP-482): header v2 and compact fields. ConsumerGroupDescribe (Kafka 4's groups, KIP-848) has no other. */
export const FLEXIBLE: ReadonlySet<ApiName> = new Set(['ConsumerGroupDescribe']);

/** ListOffsets timestamp meaning "the latest offset" (the end). */
const LATEST = -1n;
/** ListOffsets replica_id of a consumer (not a broker). */
const CONSUMER_REPLICA = -1;
/** FindCoordinator key_type of a consumer group. */
const GROUP_KEY = 0;

export class Writer {
  private parts: Buffer[] = [];
  int8(v: number) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  int64(v: bigint) { const b = Buffer.alloc(8); b.writeBigInt64BE(v); this.parts.push(b); return this; }
  bool(v: boolean) { return this.int8(v ? 1 : 0); }
  string(v: string | null) {
    if (v === null) return this.int16(-1);
    const s = Buffer.from(v, 'utf8');
    this.int16(s.length); this.parts.push(s); return this;
  }
  bytes(v: Buffer) { this.int32(v.length); this.parts.push(v); return this; }
  uvarint(v: number) {
    const out: number[] = [];
    while (v > 0x7f) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
    out.push(v);
    this.parts.push(Buffer.from(out)); return this;
  }
  compactString(v: string) { const s = Buffer.from(v, 'utf8'); this.uvarint(s.length + 1); this.parts.push(s); return this; }
  /** An empty tagged-field section. */
  noTags() { return this.uvarint(0); }
  array<T>(items: readonly T[] | null, each: (w: Writer, item: T) => void) {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  build(): Buffer { return Buffer.concat(this.parts); }
}

/** Reads a response; every read is checked against the bytes left, so a short or lying response throws MalformedResponse. */
export class Reader {
  private o = 0;
  constructor(private readonly b: Buffer) {}
  /** Moves past `n` bytes and returns where they start. */
  private take(n: number): number {
    if (n > this.b.length - this.o) throw new MalformedResponse(`response ends at byte ${this.b.length}, a field needs ${this.o + n}`);
    const at = this.o;
    this.o += n;
    return at;
  }
  int8() { return this.b.readInt8(this.take(1)); }
  int16() { return this.b.readInt16BE(this.take(2)); }
  int32() { return this.b.readInt32BE(this.take(4)); }
  int64() { return this.b.readBigInt64BE(this.take(8)); }
  bool() { return this.int8() !== 0; }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const at = this.take(n);
    return this.b.toString('utf8', at, at + n);
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const at = this.take(n);
    return this.b.subarray(at, at + n);
  }
  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.b.readUInt8(this.take(1));
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v >>> 0;
    }
    throw new MalformedResponse('varint longer than 5 bytes');
  }
  compactString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const at = this.take(n);
    return this.b.toString('utf8', at, at + n);
  }
  /** Skips a tagged-field section (none of its fields is read). */
  tags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) { this.uvarint(); this.take(this.uvarint()); }
  }
  /** A compact array's length (N + 1 on the wire; 0 is null). */
  compactCount(): number {
    const n = this.uvarint() - 1;
    if (n > this.b.length - this.o) throw new MalformedResponse(`array of ${n} elements in ${this.b.length - this.o} bytes`);
    return n;
  }
  array<T>(each: (r: Reader) => T): T[] {
    const n = this.int32();
    // Every element is at least one byte: a count past the bytes left is a lie, not a long loop.
    if (n > this.b.length - this.o) throw new MalformedResponse(`array of ${n} elements in ${this.b.length - this.o} bytes`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
}

/** Request header v1: api key, version, correlation id, client id; v2 (flexible requests) adds an empty tagged-field section. */
export function requestHeader(api: ApiName, correlationId: number, clientId: string): Buffer {
  const w = new Writer().int16(API[api]).int16(VERSION[api]).int32(correlationId).string(clientId);
  return (FLEXIBLE.has(api) ? w.noTags() : w).build();
}

// ---------------------------------------------------------------- ApiVersions v0

export const encodeApiVersions = (): Buffer => new Writer().build();

/** api key → [min, max] version; throws on a request-level error. */
export function decodeApiVersions(r: Reader): Map<number, [number, number]> {
  const code = r.int16();
  const apis = r.array((x) => [x.int16(), x.int16(), x.int16()] as const);
  if (code !== KafkaError.NONE) throw new KafkaProtocolError(code, 'ApiVersions');
  return new Map(apis.map(([k, min, max]) => [k, [min, max]]));
}

// ---------------------------------------------------------------- Metadata v5

export interface PartitionMetadata {
  errorCode: number;
  id: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface Metadata {
  brokers: { id: number; host: string; port: number; rack: string | null }[];
  clusterId: string | null;
  controllerId: number;
  topics: { errorCode: number; name: string; internal: boolean; partitions: PartitionMetadata[] }[];
}

/** `topics` null asks for every topic; topics are never auto-created. */
export const encodeMetadata = (topics: readonly string[] | null): Buffer =>
  new Writer().array(topics, (w, t) => w.string(t)).bool(false).build();

export function decodeMetadata(r: Reader): Metadata {
  r.int32(); // throttle_time_ms
  const brokers = r.array((x) => ({ id: x.int32(), host: x.string() ?? '', port: x.int32(), rack: x.string() }));
  const clusterId = r.string();
  const controllerId = r.int32();
  const topics = r.array((x) => ({
    errorCode: x.int16(),
    name: x.string() ?? '',
    internal: x.bool(),
    partitions: x.array((p) => ({
      errorCode: p.int16(),
      id: p.int32(),
      leader: p.int32(),
      replicas: p.array((q) => q.int32()),
      isr: p.array((q) => q.int32()),
      offlineReplicas: p.array((q) => q.int32()),
    })).sort((a, b) => a.id - b.id),
  }));
  return { brokers, clusterId, controllerId, topics };
}

// ---------------------------------------------------------------- ListOffsets v1, OffsetFetch v3

export interface PartitionOffset { errorCode: number; offset: bigint }
/** topic → partition → offset and that partition's own error code. */
export type OffsetsByTopic = Map<string, Map<number, PartitionOffset>>;

/** `[topic [partition_index ...rest]]`, as ListOffsets and OffsetFetch answer; `rest` reads what follows the index. */
function readOffsets(r: Reader, rest: (p: Reader) => PartitionOffset): OffsetsByTopic {
  const out: OffsetsByTopic = new Map();
  r.array((x) => {
    const name = x.string() ?? '';
    const m = new Map<number, PartitionOffset>();
    x.array((p) => {
      const id = p.int32();
      m.set(id, rest(p));
    });
    out.set(name, m);
  });
  return out;
}

/** End offsets of the given partitions. */
export const encodeListOffsets = (topics: ReadonlyMap<string, readonly number[]>): Buffer =>
  new Writer().int32(CONSUMER_REPLICA).array([...topics], (w, [t, ps]) => {
    w.string(t).array(ps, (w2, p) => w2.int32(p).int64(LATEST));
  }).build();

/** Each partition keeps its own error code. */
export function decodeListOffsets(r: Reader): OffsetsByTopic {
  return readOffsets(r, (p) => {
    const errorCode = p.int16();
    p.int64(); // timestamp
    return { errorCode, offset: p.int64() };
  });
}

export const encodeOffsetFetch = (group: string, topics: ReadonlyMap<string, readonly number[]>): Buffer =>
  new Writer().string(group).array([...topics], (w, [t, ps]) => {
    w.string(t).array(ps, (w2, p) => w2.int32(p));
  }).build();

/** Committed offsets (-1 = none), each partition with its own error code; throws on the group-level error. */
export function decodeOffsetFetch(r: Reader, group: string): OffsetsByTopic {
  r.int32(); // throttle
  const out = readOffsets(r, (p) => {
    const offset = p.int64();
    p.string(); // metadata
    return { errorCode: p.int16(), offset };
  });
  const code = r.int16();
  if (code !== KafkaError.NONE) throw new KafkaProtocolError(code, `OffsetFetch for group ${group}`);
  return out;
}

// ---------------------------------------------------------------- FindCoordinator v1

export const encodeFindCoordinator = (group: string): Buffer => new Writer().string(group).int8(GROUP_KEY).build();

export function decodeFindCoordinator(r: Reader, group: string): { id: number; host: string; port: number } {
  r.int32(); // throttle
  const code = r.int16();
  r.string(); // error message
  const id = r.int32();
  const host = r.string() ?? '';
  const port = r.int32();
  if (code !== KafkaError.NONE) throw new KafkaProtocolError(code, `FindCoordinator for group ${group}`);
  return { id, host, port };
}

// ---------------------------------------------------------------- DescribeGroups v1, ConsumerGroupDescribe v0

/** What the lines need of a group: its state as the coordinator names it, and how many members it has. */
export interface GroupDescription { state: string; members: number }

export const encodeDescribeGroups = (group: string): Buffer => new Writer().array([group], (w, g) => w.string(g)).build();

/**
 * The one group asked for. A group of Kafka 4's consumer protocol is not a classic group: the
 * coordinator answers GROUP_ID_NOT_FOUND for it here, and ConsumerGroupDescribe describes it.
 */
export function decodeDescribeGroups(r: Reader, group: string): GroupDescription {
  r.int32(); // throttle
  const [g] = r.array((x) => {
    const errorCode = x.int16();
    x.string(); // group id
    const state = x.string() ?? '';
    x.string(); // protocol type
    x.string(); // protocol
    const members = x.array((m) => { m.string(); m.string(); m.string(); m.bytes(); m.bytes(); return 0; }).length;
    return { errorCode, state, members };
  });
  if (!g) throw new MalformedResponse('DescribeGroups answered no group');
  if (g.errorCode !== KafkaError.NONE) throw new KafkaProtocolError(g.errorCode, `DescribeGroups for group ${group}`);
  return { state: g.state, members: g.members };
}

export const encodeConsumerGroupDescribe = (group: string): Buffer =>
  new Writer().uvarint(2).compactString(group).bool(false).noTags().build();

/** Reads the first group up to its member count (one group is asked for; the members themselves are not needed). */
export function decodeConsumerGroupDescribe(r: Reader, group: string): GroupDescription {
  r.tags(); // response header v1
  r.int32(); // throttle
  if (r.compactCount() < 1) throw new MalformedResponse('ConsumerGroupDescribe answered no group');
  const errorCode = r.int16();
  r.compactString(); // error message
  r.compactString(); // group id
  const state = r.compactString() ?? '';
  r.int32(); // group epoch
  r.int32(); // assignment epoch
  r.compactString(); // assignor
  const members = r.compactCount();
  if (errorCode !== KafkaError.NONE) throw new KafkaProtocolError(errorCode, `ConsumerGroupDescribe for group ${group}`);
  return { state, members: Math.max(0, members) };
}

// ---------------------------------------------------------------- SaslHandshake v1, SaslAuthenticate v0

export const encodeSaslHandshake = (mechanism: string): Buffer => new Writer().string(mechanism).build();

export function decodeSaslHandshake(r: Reader): { errorCode: number; enabled: string[] } {
  const errorCode = r.int16();
  const enabled = r.array((x) => x.string() ?? '');
  return { errorCode, enabled };
}

export const encodeSaslAuthenticate = (bytes: Buffer): Buffer => new Writer().bytes(bytes).build();

export function decodeSaslAuthenticate(r: Reader): { errorCode: number; message: string | null; bytes: Buffer } {
  const errorCode = r.int16();
  const message = r.string();
  const bytes = r.bytes() ?? Buffer.alloc(0);
  return { errorCode, message, bytes };
}
