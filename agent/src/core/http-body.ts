/**
 * Reads an HTTP body with a byte limit: undici buffers whatever `text()` is given, so an endless
 * body would grow the agent without bound. Past the limit the body is destroyed, which aborts the
 * request and closes its connection.
 */
import type { Dispatcher } from 'undici';

export class ReplyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`reply over ${limit} bytes`);
  }
}

type Body = Dispatcher.ResponseData['body'];

/** The body as text (UTF-8, as undici's `text()` decodes it), or ReplyTooLarge past `maxBytes`. */
export async function readCapped(body: Body, headers: Dispatcher.ResponseData['headers'], maxBytes: number): Promise<string> {
  // A body that announces more than the limit is refused before a byte of it is read.
  if (Number(headers['content-length']) > maxBytes) {
    // undici's body turns a destroy before its end into an 'error' event (RequestAbortedError):
    // with no reader attached yet, nothing would listen and the process would get it uncaught.
    body.once('error', () => undefined);
    body.destroy();
    throw new ReplyTooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new ReplyTooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}
