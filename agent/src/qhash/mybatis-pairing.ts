/**
 * MyBatis prints a statement's `Preparing` and its `Parameters` on two lines, interleaved with
 * other threads': the last Preparing of each thread waits here for its Parameters line.
 */

/** Threads remembered at most: a thread whose Parameters never comes must not grow the map. */
const PENDING_LIMIT = 4096;

export interface Preparing {
  qhash: string;
  fingerprint: string;
  /** Set while the query-log entry waits for the Parameters line to build the example. */
  awaiting?: { sql: string; firstSeen: string };
}

export class PendingPreparing {
  /** Insertion order: the oldest first. */
  private readonly byThread = new Map<string, Preparing>();

  constructor(saved: readonly (readonly [string, Preparing])[] = []) {
    for (const [t, p] of saved) this.byThread.set(t, p);
  }

  /** The thread's Preparing, for its Parameters line; it is no longer pending. */
  take(thread: string): Preparing | undefined {
    const p = this.byThread.get(thread);
    if (p) this.byThread.delete(thread);
    return p;
  }

  /** The thread's new Preparing; returns the one it replaces. */
  put(thread: string, p: Preparing): Preparing | undefined {
    const prev = this.byThread.get(thread);
    this.byThread.delete(thread);
    this.byThread.set(thread, p);
    return prev;
  }

  /** The oldest, when more threads than PENDING_LIMIT wait; it is no longer pending. */
  evictOverLimit(): Preparing | undefined {
    if (this.byThread.size <= PENDING_LIMIT) return undefined;
    const [t, old] = this.byThread.entries().next().value!;
    this.byThread.delete(t);
    return old;
  }

  /** End of input: the ones still waiting for Parameters, oldest first; they are no longer pending. */
  takeAwaiting(): Preparing[] {
    const out: Preparing[] = [];
    for (const [t, p] of this.byThread) {
      if (p.awaiting) {
        out.push(p);
        this.byThread.delete(t);
      }
    }
    return out;
  }

  entries(): [string, Preparing][] {
    return [...this.byThread];
  }
}
