/**
 * The socket mysql2 reads from, created here (its `stream` option) so that two things mysql2
 * cannot do itself are done where the bytes arrive:
 *
 * - a cap on what one run may receive: mysql2 has no limit on a result set or a packet (it joins
 *   the 16 MB pieces of a large packet for as long as they come), so the bytes read since the run
 *   started are counted on the socket, and past `maxReplyBytes` the socket is destroyed with
 *   `reply over N bytes`, which mysql2 hands to the pending query as its error;
 * - containment: mysql2 parses in the socket's 'data' listener, and some of its parsing (a packet
 *   that arrives with no command waiting) runs outside its own try/catch, so a bad packet would
 *   throw out of the event loop and end the agent. Every 'data' emit goes through a try/catch that
 *   destroys this socket with the error instead, so it becomes this server's ERROR line.
 *
 * Over TLS, mysql2 upgrades the connection after the greeting and reads from the TLS socket it
 * wraps around this one (whose own 'data' events then stop): `guard()` puts that socket under
 * the same cap and try/catch, with one count for both.
 */
import { connect, type Socket } from 'node:net';

export class ReplyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`reply over ${limit} bytes`);
  }
}

/** A malformed reply that made the client library throw while it parsed; its message says what. */
export class MalformedReply extends Error {}

export interface GuardedSocket {
  readonly socket: Socket;
  /** Puts another socket mysql2 reads from (the TLS socket of an upgraded connection) under this guard. */
  guard(other: Socket): void;
  /**
   * Whether the server's greeting offered TLS (CLIENT_SSL), once it came: mysql2 keeps the greeting
   * only after a successful login, and a refused plaintext login is worded better knowing it.
   */
  serverOffersTls(): boolean | undefined;
  /** Destroys the socket mysql2 reads from (the TLS socket once there is one, which closes this one). */
  destroy(): void;
  /** Starts counting again: call at the start of each run. */
  resetCount(): void;
  /**
   * Why this guard destroyed the socket, if it did: the true reason of a failed run, which
   * mysql2 may report as a consequence instead (`Can't add new command when connection is in closed state`).
   */
  failure(): Error | undefined;
}

export function guardedSocket(host: string, port: number, maxReplyBytes: number): GuardedSocket {
  const socket = connect({ host, port, noDelay: true, keepAlive: true });
  let received = 0;
  let failure: Error | undefined;
  // The socket mysql2 reads from: this one, or the TLS socket wrapped around it. Only that one is
  // destroyed (it closes what it wraps): destroying the TCP socket under a live TLS socket crashed
  // Node 24 (SIGSEGV, seen with a host name refused right after the handshake).
  let outer: Socket = socket;
  const fail = (e: Error) => {
    failure ??= e;
    outer.destroy(e);
  };
  const guard = (s: Socket) => {
    outer = s;
    const emit = s.emit.bind(s);
    s.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'data' || s.destroyed) return emit(event, ...args);
      const chunk = args[0] as Buffer;
      received += chunk.length;
      if (received > maxReplyBytes) {
        fail(new ReplyTooLarge(maxReplyBytes));
        return false;
      }
      try {
        return emit(event, ...args);
      } catch (e) {
        fail(new MalformedReply(`malformed reply (${e instanceof Error ? e.message : String(e)})`));
        return false;
      }
    };
  };
  let offersTls: boolean | undefined;
  socket.once('data', (chunk: Buffer) => { offersTls = greetingOffersTls(chunk); });
  guard(socket);
  return {
    socket, guard, serverOffersTls: () => offersTls, resetCount: () => { received = 0; }, failure: () => failure,
    destroy: () => { outer.destroy(); },
  };
}

/** CLIENT_SSL in the lower capability flags of a Handshake v10 packet. */
const CLIENT_SSL = 0x800;

/**
 * Handshake v10: 4-byte packet header, protocol version 10, server version up to NUL, 4-byte
 * thread id, 8 bytes of scramble, a filler byte, then the lower two bytes of the capability flags.
 */
export function greetingOffersTls(packet: Buffer): boolean | undefined {
  if (packet.length < 5 || packet[4] !== 10) return undefined;
  const nul = packet.indexOf(0, 5);
  const flagsAt = nul + 1 + 4 + 8 + 1;
  if (nul < 0 || packet.length < flagsAt + 2) return undefined;
  return (packet.readUInt16LE(flagsAt) & CLIENT_SSL) !== 0;
}
