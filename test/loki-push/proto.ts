/**
 * Loki's push API messages, transcribed from grafana/loki pkg/push/push.proto (v3.5.7)
 * with the gogoproto options dropped (they change Go code generation, not the wire).
 *
 * One deliberate difference: `EntryAdapter.line` is declared `bytes` here where Loki says
 * `string`. Both are wire type 2 (length-delimited) with identical encoding, so Loki reads
 * it as the same string; declaring it bytes lets the spool's UTF-8 bytes go straight into
 * the request without a decode/encode round trip.
 *
 * Tests only (protobufjs is a devDependency): the reference the encoder's output is checked
 * against, and requests the tests build by hand. The transport writes requests itself
 * (agent/src/outputs/loki/encode.ts), so protobufjs is never loaded by the agent.
 */
import protobuf from 'protobufjs';

export const PUSH_PROTO = `
syntax = "proto3";
package logproto;

service Pusher {
  rpc Push(PushRequest) returns (PushResponse) {}
}

message PushRequest {
  repeated StreamAdapter streams = 1;
}

message PushResponse {}

message StreamAdapter {
  string labels = 1;
  repeated EntryAdapter entries = 2;
  uint64 hash = 3;
}

message LabelPairAdapter {
  string name = 1;
  string value = 2;
}

message EntryAdapter {
  Timestamp timestamp = 1;
  bytes line = 2;
  repeated LabelPairAdapter structuredMetadata = 3;
  repeated LabelPairAdapter parsed = 4;
}

// google.protobuf.Timestamp, inlined (same field numbers and types).
message Timestamp {
  int64 seconds = 1;
  int32 nanos = 2;
}
`;

const root = protobuf.parse(PUSH_PROTO, { keepCase: true }).root;
export const PushRequest = root.lookupType('logproto.PushRequest');

export interface PushEntry {
  timestamp: { seconds: number; nanos: number };
  line: Uint8Array;
}
export interface PushStream {
  labels: string;
  entries: PushEntry[];
}

export function encodePushRequest(streams: PushStream[]): Uint8Array {
  return PushRequest.encode({ streams }).finish();
}

export function decodePushRequest(buf: Uint8Array): { streams: { labels: string; entries: { timestamp: { seconds: unknown; nanos: number }; line: Uint8Array }[] }[] } {
  return PushRequest.toObject(PushRequest.decode(buf), { longs: String, defaults: true }) as never;
}
