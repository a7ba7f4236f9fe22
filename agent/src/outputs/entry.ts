import type { CheckResult, Status } from '../core/result.js';
import { formatLine } from '../core/format.js';

/**
 * What every output receives: the formatted line plus the few labels an output may
 * route on. Outputs never see the check's fields, so none of them knows about checks.
 */
export interface LineEntry {
  /** winston level: the status. */
  level: Status;
  /** The line without any timestamp prefix: `Status=OK, ...` or `CRITICAL: ...`. */
  message: string;
  check: string;
  /** The config's instance name (e.g. order-db): a Loki label on every path, so an alert names it. */
  instance: string;
  status: Status;
  time: Date;
  /**
   * Only for outputs that keep it apart from the check lines: Loki (its own stream) and a file
   * output with {check} in its path (its own file). The agent's heartbeat: a single LOG_FILE,
   * syslog and stdout stay exactly the check lines they always were.
   */
  ownStream?: boolean;
}

/** winston levels ordered by severity, so `level: 'ERROR'` on a transport means ERROR and CRITICAL. */
export const LEVELS: Record<Status, number> = { CRITICAL: 0, ERROR: 1, OK: 2 };

export function toEntry(r: CheckResult, ownStream = false): LineEntry {
  return { level: r.status, message: formatLine(r), check: r.check, instance: r.instance, status: r.status, time: r.time, ...(ownStream ? { ownStream } : {}) };
}

/** winston hands transports its info object; these are the fields we put there. */
export function entryOf(info: unknown): LineEntry {
  return info as LineEntry;
}
