/**
 * One contender of `npm run bench -- push`, in its own process so its CPU and RSS are its own.
 *   node push-child.js '<json ChildArgs>'
 * Prints "START <epoch ms>" before the first line and "DONE <json usage>" once it has handed
 * everything over (ours: every line answered by Loki; winston-loki: after its flush(); file:
 * written), then stays alive until stdin closes, so a late sender is not cut off.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import winston from 'winston';

export interface ChildArgs {
  mode: 'ours-http' | 'ours-grpc' | 'winston-loki' | 'file';
  lokiUrl: string;
  grpcUrl: string;
  host: string;
  lines: number;
  spoolDir: string;
  file: string;
  /** Spread the lines over this many ms (outage scenario); 0: as fast as possible. */
  spreadMs: number;
}

const a = JSON.parse(process.argv[2]!) as ChildArgs;
const CHUNK = 1_000;

export function benchLine(i: number): { status: string; text: string } {
  const status = i % 50 === 49 ? 'ERROR' : 'OK';
  return { status, text: `Status=${status}, seq=${i}, Master=10.100.21.230, Master_Log_File=mysql-bin.016068, Read_Master_Log_Pos=${1_000_000 + i}, Seconds_Behind_Master=0` };
}

function usage() {
  const c = process.cpuUsage();
  return { cpuS: (c.user + c.system) / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const steps = Math.max(1, Math.ceil(a.lines / CHUNK));
const stepMs = a.spreadMs / steps;

async function main() {
  const t0 = Date.now();
  process.stdout.write(`START ${t0}\n`);
  if (a.mode === 'file') {
    const pad = (n: number) => String(n).padStart(2, '0');
    const fd = openSync(a.file, 'a');
    for (let s = 0; s < steps; s++) {
      const d = new Date();
      const ts = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      let buf = '';
      for (let i = s * CHUNK; i < Math.min(a.lines, (s + 1) * CHUNK); i++) buf += `${ts} | ${benchLine(i).text}\n`;
      writeSync(fd, buf);
      if (stepMs) await pause(t0 + (s + 1) * stepMs - Date.now());
    }
    closeSync(fd);
    process.stdout.write(`DONE ${JSON.stringify(usage())}\n`);
    return;
  }
  let flush: () => Promise<unknown>;
  let transport: winston.transport;
  if (a.mode === 'winston-loki') {
    const { default: WinstonLoki } = await import('winston-loki');
    const t = new WinstonLoki({ host: a.lokiUrl, labels: { job: 'imom', env: 'bench', host: a.host, check: 'mysql' }, json: false, batching: true, interval: 1, replaceTimestamp: false, onConnectionError: () => undefined });
    transport = t;
    flush = () => (t as unknown as { flush(): Promise<void> }).flush();
  } else {
    const { LokiTransport } = await import('../agent/src/outputs/loki/index.js');
    const { lokiOutputSchema } = await import('../agent/src/outputs/loki/schema.js');
    const grpc = a.mode === 'ours-grpc';
    const cfg = lokiOutputSchema.parse({ url: grpc ? a.grpcUrl : a.lokiUrl, transport: grpc ? 'grpc' : 'http', spool_dir: a.spoolDir, retry: { max_backoff: '5s' }, ...(process.env.IMOM_BENCH_PUSH_BATCH ? { batch: JSON.parse(process.env.IMOM_BENCH_PUSH_BATCH) } : {}) });
    const t = new LokiTransport(cfg, { env: 'bench', host: a.host });
    transport = t;
    flush = () => t.forceFlush();
  }
  // As the agent's pipeline (agent/src/outputs/pipeline.ts): no logger-level format. winston's
  // default, format.json(), serialises every line into info[MESSAGE], which no contender reads
  // (winston-loki only does with a format of its own).
  const labelled = a.mode === 'winston-loki';
  const logger = winston.createLogger({ level: 'info', transports: [transport], format: winston.format((info) => info)() });
  for (let s = 0; s < steps; s++) {
    for (let i = s * CHUNK; i < Math.min(a.lines, (s + 1) * CHUNK); i++) {
      const l = benchLine(i);
      // Each contender gets the fields it reads: winston-loki takes the level label from `labels`, ours from `status`.
      if (labelled) logger.log({ level: 'info', message: l.text, check: 'mysql', time: new Date(), labels: { level: l.status } });
      else logger.log({ level: 'info', message: l.text, check: 'mysql', status: l.status, time: new Date() });
    }
    // Standard stream back-pressure, the same for every contender: wait for the logger to drain.
    // (winston's streams are readable-stream 3, which has no writableNeedDrain: compare the length.)
    if (logger.writableLength >= logger.writableHighWaterMark) await new Promise((r) => logger.once('drain', r));
    await new Promise((r) => setImmediate(r));
    if (stepMs) await pause(t0 + (s + 1) * stepMs - Date.now());
  }
  await flush();
  process.stdout.write(`DONE ${JSON.stringify(usage())}\n`);
}

await main();
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
