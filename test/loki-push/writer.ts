/**
 * A process that logs through LokiTransport, for tests that kill it.
 *
 *   node --import tsx test/loki-push/writer.ts '<json WriterArgs>'
 *
 * Logs `count` lines "<prefix> seq=<i> …" in chunks; after each chunk is accepted (in the spool)
 * it records the highest accepted seq in `progressFile` (written with writeSync, so it is never
 * ahead of the spool). With count 0 it only resends what the spool holds. It exits 0 after
 * forceFlush + shutdown and prints the transport's stats as JSON on the last stdout line.
 */
import { writeFileSync } from 'node:fs';
import winston from 'winston';
import { LokiTransport } from '../../agent/src/outputs/loki/index.js';
import { lokiOutputSchema, type LokiOutputInput } from '../../agent/src/outputs/loki/schema.js';

export interface WriterArgs {
  config: LokiOutputInput;
  env: string;
  host: string;
  prefix: string;
  count: number;
  chunk?: number;
  /** Pause between chunks, to spread the lines over time. */
  pauseMs?: number;
  progressFile?: string;
}

const args = JSON.parse(process.argv[2]!) as WriterArgs;
const cfg = lokiOutputSchema.parse(args.config);
const t = new LokiTransport(cfg, { env: args.env, host: args.host, onReport: (r) => process.stderr.write(`[loki ${r.level}] ${r.message}\n`) });
const logger = winston.createLogger({ level: 'debug', transports: [t] });
const checks = ['mysql', 'redis', 'kafka'];
const statuses = ['OK', 'OK', 'OK', 'ERROR', 'CRITICAL'];
const chunk = args.chunk ?? 1000;
for (let i = 0; i < args.count; i += chunk) {
  const end = Math.min(args.count, i + chunk);
  for (let j = i; j < end; j++) {
    logger.log({ level: 'info', message: `${args.prefix} seq=${j} Status=${statuses[j % 5]}, Master=10.0.0.${j % 255}`, check: checks[j % 3], status: statuses[j % 5], time: new Date() });
  }
  await t.spooled();
  // One mark a line: a reader of a FIFO may get two writes in one read.
  if (args.progressFile) writeFileSync(args.progressFile, `${end - 1}\n`);
  if (args.pauseMs) await new Promise((r) => setTimeout(r, args.pauseMs));
}
await t.forceFlush();
await t.shutdown();
process.stdout.write(`\n${JSON.stringify(t.stats())}\n`);
