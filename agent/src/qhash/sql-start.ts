/** What a recogniser says about a line that opens SQL: the shared result type of every format. */

export type SqlKind = 'block' | 'mybatis' | 'p6spy' | 'custom';

export interface SqlStart {
  kind: SqlKind;
  /** Bytes [lineStart, prefixEnd) are kept on the console line. */
  prefixEnd: number;
  /** SQL on this line: [sqlStart, sqlEnd). */
  sqlStart: number;
  sqlEnd: number;
  /** Continuation lines belong to the SQL until the next record start. */
  multiline: boolean;
  /** Text to fingerprint when it differs from the SQL bytes (p6spy's `prepared`, free of literals). */
  shapeSql?: string;
  /** The SQL with its literals, when it differs from the SQL bytes (p6spy's `sql`). */
  exampleSql?: string;
  /** Added after the QHash when not already in the kept prefix: `,"elapsed_ms":3,"category":"statement"`. */
  extra: string;
  /** Put between the kept prefix and the QHash. */
  lead?: string;
  /** Thread name, to pair MyBatis Preparing with its Parameters. */
  thread: string;
}
