import type { Field } from '../../core/result.js';
import { moved, stuckCycles, type Positions } from './progress.js';

/** A group's state as its coordinator describes it, or why it could not be described. */
export type GroupState = { state: string; members: number; protocol: 'classic' | 'consumer' } | { error: string };

/** Per group and topic, what the stall and slow rules compare with the next cycle. */
export interface GroupProgress {
  committed: Map<number, bigint>;
  totalLag: number;
  /** Cycles in a row with commits standing still while the lag was above 0 (Burrow's stall). */
  stuck: number;
  /** Cycles in a row with the lag growing while commits moved. */
  slow: number;
}

/** States in which no member consumes: the classic coordinator's Empty and Dead, and the consumer protocol's Empty. */
const NO_CONSUMER = new Set(['Empty', 'Dead']);

export interface GroupVerdict {
  /** The neighbour line of the lag line: state and member count. */
  stateFields: Field[];
  stateStatus: 'OK' | 'ERROR';
  /** CRITICAL and ERROR sentences after it (without the status). */
  critical: string[];
  slow: string | undefined;
  progress: GroupProgress;
}

/**
 * The consumer-group health of one topic/group pair in one cycle (pure). `overThreshold`: some
 * partition's lag is above the threshold. `stallCycles`: how many cycles in a row make a stall
 * (and a slow group).
 */
export function groupHealth(
  topic: string,
  group: string,
  state: GroupState | undefined,
  committed: Positions,
  totalLag: number,
  overThreshold: boolean,
  threshold: number,
  stallCycles: number,
  before: GroupProgress | undefined,
): GroupVerdict {
  const head: Field[] = [['Topic', topic], ['Consumer_Group', group]];
  const commitsMoved = before ? moved(before.committed, committed) : false;
  const stuck = before ? stuckCycles(before.stuck, !commitsMoved && totalLag > 0, commitsMoved || totalLag === 0) : 0;
  const slow = before ? (commitsMoved && totalLag > before.totalLag ? before.slow + 1 : 0) : 0;
  const progress: GroupProgress = { committed: new Map(committed), totalLag, stuck, slow };
  const critical: string[] = [];
  const suffix = `, Consumer_Group=${group}`;
  if (!state || 'error' in state) {
    return { stateFields: [...head, ['Error', state ? state.error : 'no answer']], stateStatus: 'ERROR', critical, slow: undefined, progress };
  }
  if (NO_CONSUMER.has(state.state) && overThreshold) {
    critical.push(`Topic=${topic}, no consumer: group ${state.state} with lag over threshold, Threshold=${threshold}${suffix}`);
  }
  if (stuck >= stallCycles) {
    critical.push(`Topic=${topic}, consumer stalled: commits did not move while lag stayed above 0 for ${stuck} cycles, Total_Lag=${totalLag}${suffix}`);
  }
  return {
    stateFields: [...head, ['Group_State', state.state], ['Members', state.members], ['Group_Protocol', state.protocol]],
    stateStatus: 'OK',
    critical,
    slow: slow >= stallCycles ? `Topic=${topic}, consumer slow: lag grew while commits moved for ${slow} cycles, Total_Lag=${totalLag}${suffix}` : undefined,
    progress,
  };
}
