/**
 * Progress of per-partition positions between two cycles: the pure part of the stall rules
 * (a mirror's stored offsets against the source's end offsets, a group's commits against its lag).
 */
export type Positions = ReadonlyMap<number, bigint>;

/** Some partition known in both cycles has a higher value now. */
export function grew(before: Positions, now: Positions): boolean {
  for (const [p, v] of now) {
    const b = before.get(p);
    if (b !== undefined && v > b) return true;
  }
  return false;
}

/** Some partition's value changed, appeared or went away. */
export function moved(before: Positions, now: Positions): boolean {
  if (before.size !== now.size) return true;
  for (const [p, v] of now) if (before.get(p) !== v) return true;
  return false;
}

/**
 * Cycles in a row that were stuck: `stuck` adds one, `progressed` resets to 0, neither
 * (nothing to tell, e.g. an idle source) keeps the count.
 */
export function stuckCycles(previous: number, stuck: boolean, progressed: boolean): number {
  if (progressed) return 0;
  return stuck ? previous + 1 : previous;
}
