/** What a check observed about one target. The formatter turns it into a line. */
export type Status = 'OK' | 'ERROR' | 'CRITICAL';

/** An ordered field: the order is part of the line format operators search on. */
export type Field = readonly [name: string, value: string | number | null];

interface ResultBase {
  /** Check name, e.g. "mysql"; also the syslog tag "<check>_check". */
  readonly check: string;
  /** The configured instance, e.g. "order-db". */
  readonly instance: string;
  /** The target as configured, e.g. "10.100.21.230:3306". */
  readonly target: string;
  readonly status: Status;
  /** When the observation was made. */
  readonly time: Date;
}

/** Rendered as `Status=<status>, k=v, k=v`. */
export interface FieldsResult extends ResultBase {
  readonly fields: readonly Field[];
}

/** Rendered as `<status>: <message>`. */
export interface MessageResult extends ResultBase {
  readonly message: string;
}

export type CheckResult = FieldsResult | MessageResult;

export function isFieldsResult(r: CheckResult): r is FieldsResult {
  return 'fields' in r;
}

