/**
 * Kafka's framing: an int32 size, then that many bytes. Sizes are checked before anything is
 * buffered, so a lying broker costs at most `maxFrameBytes` of memory and never a RangeError.
 */
import { MalformedResponse, ReplyTooLarge } from './errors.js';

/** Bytes of the size prefix of every frame, and of the correlation id that starts every response. */
export const INT32 = 4;

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being read, once its prefix is in. */
  private size: number | undefined;

  /** `maxFrameBytes`: the most one frame may announce (the instance's `max_reply_bytes`). */
  constructor(private readonly maxFrameBytes: number) {}

  /** Adds what the socket read; returns the frames it completed. Throws on a size under 4 or over the cap. */
  push(d: Buffer): Buffer[] {
    this.chunks.push(d);
    this.buffered += d.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size === undefined) {
        if (this.buffered < INT32) return frames;
        const size = this.peek(INT32).readInt32BE(0);
        // Every response starts with its correlation id: a frame shorter than that is no response.
        if (size < INT32) throw new MalformedResponse(`malformed response: frame size ${size}, under ${INT32} bytes`);
        if (size > this.maxFrameBytes) throw new ReplyTooLarge(this.maxFrameBytes);
        this.size = size;
      }
      if (this.buffered < INT32 + this.size) return frames;
      const all = this.peek(this.buffered);
      frames.push(all.subarray(INT32, INT32 + this.size));
      const rest = all.subarray(INT32 + this.size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      this.size = undefined;
    }
  }

  /** The first `n` buffered bytes as one buffer; chunks are joined only once enough has arrived, so a frame is copied once. */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }
}
