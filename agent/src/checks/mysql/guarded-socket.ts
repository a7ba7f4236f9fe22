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
  const fail = (e: Error) => {
    failure ??= e;
    socket.destroy(e);
  };
  const emit = socket.emit.bind(socket);
  socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'data' || socket.destroyed) return emit(event, ...args);
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
  return { socket, resetCount: () => { received = 0; }, failure: () => failure };
}
