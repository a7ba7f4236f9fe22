/** Kafka error codes by name (the protocol's own names), for the ones the check tests for or names in a line. */
export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  SASL_AUTHENTICATION_FAILED: 58,
  GROUP_ID_NOT_FOUND: 69,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
} as const;

const NAMES = new Map<number, string>(Object.entries(KafkaError).map(([name, code]) => [code, name]));

/** The code's name, or `ERROR_<code>` for one not listed above. */
export const errorName = (code: number): string => NAMES.get(code) ?? `ERROR_${code}`;

/** A request-level error code, named. */
export class KafkaProtocolError extends Error {
  constructor(readonly code: number, what: string) {
    super(`${what}: ${errorName(code)}`);
  }
}

/** A response that does not parse: the connection it came on is dropped, its target gets a CRITICAL line. */
export class MalformedResponse extends Error {}

/** A frame that announces more than the connection accepts (`max_reply_bytes`). */
export class ReplyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`reply over ${limit} bytes`);
  }
}
