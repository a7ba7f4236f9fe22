/**
 * A bounded reader and writer for the RESP2 subset the Redis checks use (AUTH, INFO, CLUSTER
 * NODES, CLUSTER INFO). Pure: bytes in, a value or "need more" or an error out. Everything it
 * reads is validated, so a hostile or broken server yields a `ProtocolError` for its own
 * connection instead of an exception somewhere else.
 */

/** An error reply (`-ERR ...`): the server's own message, as redis-cli prints it. */
export class ReplyError extends Error {}

/** The bytes are not RESP (or not the reply the command can have). */
export class ProtocolError extends Error {
  constructor(detail: string) {
    super(`protocol error: ${detail}`);
  }
}

/** One reply would hold more than the configured cap. */
export class ReplyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`reply over ${maxBytes} bytes`);
  }
}

export type RespValue = string | number | null | ReplyError | readonly RespValue[];

/** A complete value ending at `end`, or how many bytes (from the buffer's start) must be there before it can be. */
export type Parsed = { readonly value: RespValue; readonly end: number } | { readonly need: number };

/** Deeper arrays than any reply of these commands (they are flat): refused so that recursion is bounded. */
const MAX_DEPTH = 4;
const CR = 0x0d;
const LF = 0x0a;

/** The reply type bytes of RESP2. */
export const TYPE = { simple: 0x2b, error: 0x2d, integer: 0x3a, bulk: 0x24, array: 0x2a } as const;
const TYPES: ReadonlySet<number> = new Set(Object.values(TYPE));

/**
 * Parses one reply at `start`. A bulk string or array announcing more than `maxBytes` throws
 * `ReplyTooLarge` at its header, before any of it is buffered.
 */
export function parseReply(buf: Buffer, start: number, maxBytes: number, depth = 0): Parsed {
  if (start >= buf.length) return { need: start + 1 };
  const type = buf[start]!;
  if (!TYPES.has(type)) throw new ProtocolError('unexpected reply type');
  const lineEnd = lineEndOf(buf, start + 1, type === TYPE.integer || type === TYPE.bulk || type === TYPE.array);
  if (lineEnd < 0) return { need: buf.length + 1 };
  const line = buf.toString('latin1', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case TYPE.simple: return { value: line, end: next };
    case TYPE.error: return { value: new ReplyError(line), end: next };
    case TYPE.integer: {
      if (!/^-?\d{1,15}$/.test(line)) throw new ProtocolError('bad number');
      return { value: Number(line), end: next };
    }
    case TYPE.bulk: {
      const len = lengthOf(line);
      if (len < 0) return { value: null, end: next };
      if (len > maxBytes) throw new ReplyTooLarge(maxBytes);
      const end = next + len + 2;
      if (buf.length < end) return { need: end };
      if (buf[end - 2] !== CR || buf[end - 1] !== LF) throw new ProtocolError('bulk string not followed by CRLF');
      return { value: buf.toString('utf8', next, next + len), end };
    }
    case TYPE.array: {
      const count = lengthOf(line);
      if (count < 0) return { value: null, end: next };
      // Every element takes at least 3 bytes ("+\r\n"): a larger count cannot fit under the cap.
      if (count * 3 > maxBytes) throw new ReplyTooLarge(maxBytes);
      if (depth >= MAX_DEPTH) throw new ProtocolError('arrays nested too deep');
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const p = parseReply(buf, at, maxBytes, depth + 1);
        if ('need' in p) return p;
        items.push(p.value);
        at = p.end;
      }
      return { value: items, end: at };
    }
    default: throw new ProtocolError('unexpected reply type');
  }
}

/**
 * The offset of the CR of the CRLF ending the line at `from`, or -1 while it is incomplete. A
 * line holds printable text only, and a number line only digits and '-': anything else (what
 * random bytes hold within a few bytes) is refused as soon as it arrives, without waiting for a
 * CRLF that may never come.
 */
function lineEndOf(buf: Buffer, from: number, numeric: boolean): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === CR) {
      if (i + 1 >= buf.length) return -1;
      if (buf[i + 1] === LF) return i;
      throw new ProtocolError('control byte in a line');
    }
    if (numeric && !(b >= 0x30 && b <= 0x39) && b !== 0x2d) throw new ProtocolError('bad number');
    if (b < 0x20 || b === 0x7f) throw new ProtocolError('control byte in a line');
  }
  return -1;
}

/** A bulk or array length: -1 (null) or 0..999999999 (10 digits would pass every cap anyway). */
function lengthOf(line: string): number {
  if (line === '-1') return -1;
  if (!/^\d{1,10}$/.test(line)) throw new ProtocolError('bad number');
  return Number(line);
}

/** A command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
