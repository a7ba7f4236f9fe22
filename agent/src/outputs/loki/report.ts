/** What the spool and the transport have to say; the agent logs ERRORs as lines. */
export interface SpoolReport {
  level: 'ERROR' | 'WARN' | 'INFO';
  code: string;
  message: string;
  count?: number;
}
