/**
 * The shapes already written to the query log: an LRU set of QHashes bounded by max_shapes, so
 * that a shape in use stays and one not seen for long is written again.
 */
export class ShapeSet {
  /** Insertion order is recency: least recently used first. */
  private readonly seen = new Map<string, true>();

  constructor(private readonly max: number, saved: readonly string[] = []) {
    for (const h of saved.slice(-max)) this.seen.set(h, true);
  }

  /** Records a use of the shape; true when it was not in the set (its query-log entry is due). */
  use(qhash: string): boolean {
    if (!this.seen.has(qhash)) {
      this.seen.set(qhash, true);
      if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
      return true;
    }
    // Touch: a shape in use stays in the bounded set.
    this.seen.delete(qhash);
    this.seen.set(qhash, true);
    return false;
  }

  /** The query log rotated: it no longer holds any shape. */
  clear(): void {
    this.seen.clear();
  }

  /** Least recently used first, as the constructor takes them. */
  list(): string[] {
    return [...this.seen.keys()];
  }
}
