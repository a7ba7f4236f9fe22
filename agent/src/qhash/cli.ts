/**
 * `imom qhash fingerprint` and `imom qhash split`. Also runnable on its own
 * (`node --import tsx agent/src/qhash/cli.ts qhash split …`), which the corpus test and the bench use.
 */
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { isMain } from '../core/is-main.js';
import { z } from 'zod';
import { action, EXIT, type CommandModule } from '../command/command.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { duration } from '../config/types.js';
import { fingerprintSql } from './fingerprint.js';
import { compileParser, DEFAULT_PARSER_CONFIG } from './parser.js';
import { compileCustomFormat } from './p6spy-custom.js';
import { follow } from './follow.js';
import { splitOnce } from './split-once.js';
import { DEFAULT_MAX_SQL, type SplitOptions, type SplitStats } from './splitter.js';

export const qhashConfigSchema = z
  .object({
    p6spy_formats: z
      .array(z.string().min(1))
      .default([])
      .superRefine((list, ctx) => {
        list.forEach((f, i) => {
          try {
            compileCustomFormat(f);
          } catch (e) {
            ctx.addIssue({ code: 'custom', path: [i], message: (e as Error).message });
          }
        });
      })
      .meta({ description: 'Custom p6spy logMessageFormat patterns (customLogMessageFormat), e.g. "%(currentTime)|%(executionTime)|%(category)|%(sqlSingleLine)"' }),
    block_markers: z
      .array(z.string().min(1))
      .default(DEFAULT_PARSER_CONFIG.blockMarkers)
      .meta({ description: 'Message prefixes that open a multi-line SQL block running to the next timestamped line' }),
    example: z.boolean().default(false).meta({ description: 'Write the SQL with its literals to the query log (customer data: off by default)' }),
    max_shapes: z.number().int().min(100).max(10_000_000).default(100_000).meta({ description: 'Bound on the remembered shapes (LRU, persisted)' }),
    idle_flush: duration.prefault('500ms').meta({ description: '--follow: a SQL block at the end of the file is complete after this long without input' }),
    // The paths, so one file per application describes a splitter instance (imom-split@<app>.service
    // reads /etc/imom/split/<app>.yaml); a command-line flag wins over its key.
    input: z.string().min(1).optional().meta({ description: 'Log file to read (the [input] argument)' }),
    console: z.string().min(1).optional().meta({ description: 'Console output (--console)' }),
    query: z.string().min(1).optional().meta({ description: 'Query log output (--query)' }),
    state_dir: z.string().min(1).optional().meta({ description: 'Position and seen-shape set (--state)' }),
  })
  .strict();

export type QhashConfig = z.output<typeof qhashConfigSchema>;

interface SplitFlags {
  console?: string;
  query?: string;
  follow?: boolean;
  state?: string;
  example?: boolean;
  format: string[];
  config?: string;
  checkConfig?: boolean;
  stats?: boolean;
}

interface SplitPaths {
  input: string;
  console: string;
  query: string;
  state?: string;
}

function splitPaths(input: string | undefined, flags: SplitFlags, cfg: QhashConfig): SplitPaths {
  const console = flags.console ?? cfg.console;
  const query = flags.query ?? cfg.query;
  if (console === undefined) throw new ConfigError('--console (or console: in --config) is required');
  if (query === undefined) throw new ConfigError('--query (or query: in --config) is required');
  return { input: input ?? cfg.input ?? '-', console, query, state: flags.state ?? cfg.state_dir };
}

function splitOptions(flags: SplitFlags, cfg: QhashConfig): { split: SplitOptions; idleMs: number } {
  const formats = [...cfg.p6spy_formats];
  for (const f of flags.format) {
    try {
      compileCustomFormat(f);
    } catch (e) {
      throw new ConfigError(`--format ${JSON.stringify(f)}: ${(e as Error).message}`);
    }
    formats.push(f);
  }
  return {
    split: {
      parser: compileParser({ blockMarkers: cfg.block_markers, p6spyFormats: formats }),
      example: flags.example === true || cfg.example,
      maxShapes: cfg.max_shapes,
    },
    idleMs: cfg.idle_flush,
  };
}

/**
 * The first `cap` bytes of a stream; the rest is read and dropped, so that a writer into the pipe
 * does not fail. Holding 50 MB of SQL and tokenizing it took 1.05 GB of RSS.
 */
async function readCapped(stream: AsyncIterable<Buffer>, cap: number): Promise<{ bytes: Buffer; cut: boolean }> {
  const kept: Buffer[] = [];
  let size = 0;
  let total = 0;
  for await (const c of stream) {
    total += c.length;
    if (size >= cap) continue;
    const part = c.length <= cap - size ? c : Buffer.from(c.subarray(0, cap - size));
    kept.push(part);
    size += part.length;
  }
  return { bytes: Buffer.concat(kept), cut: total > cap };
}

function printStats(stats: SplitStats | undefined, startNs: bigint): void {
  const ru = process.resourceUsage();
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  process.stderr.write(JSON.stringify({ ...stats, seconds, cpuSeconds: (ru.userCPUTime + ru.systemCPUTime) / 1e6, maxRssBytes: ru.maxRSS * 1024 }) + '\n');
}

export const qhashCommands: CommandModule = (program) => {
  const q = program.command('qhash').description('Move SQL out of console logs: QHash fingerprints and the console/query splitter');

  q.command('fingerprint')
    .description('Read one SQL statement on stdin and print "<qhash>\\t<fingerprint>"')
    .action(
      action(async () => {
        const input = await readCapped(process.stdin, DEFAULT_MAX_SQL);
        if (input.cut) process.stderr.write(`qhash fingerprint: input over 1 MB, fingerprinted on its first 1 MB (as qhash split does)\n`);
        const fp = fingerprintSql(input.bytes.toString('utf8'), input.cut);
        process.stdout.write(`${fp.qhash}\t${fp.fingerprint}\n`);
        return EXIT.OK;
      }),
    );

  q.command('split')
    .description('Split a console log: SQL becomes "QHash":"<md5>" on the console, each new shape goes once to the query log')
    .argument('[input]', 'log file to read, or - for stdin (default: input: in --config, else -)')
    .option('--console <file>', 'console output (- for stdout); required here or as console: in --config')
    .option('--query <file>', 'query log output: one JSON line per new shape; required here or as query: in --config')
    .option('--follow', 'tail the input through rotation; resume from --state after a restart')
    .option('--state <dir>', 'folder for the position and the seen-shape set (default with --follow: .qhash-state next to --console)')
    .option('--example', 'include the SQL with its literals in the query log (off: literals are customer data)')
    .addOption(new Option('--format <pattern>', 'a p6spy customLogMessageFormat pattern to recognise (repeatable)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .option('--config <file>', 'YAML with p6spy_formats, block_markers, example, max_shapes, idle_flush, input, console, query, state_dir')
    .option('--check-config', 'validate --config and the paths, then exit')
    .option('--stats', 'print counts, seconds and peak RSS to stderr as JSON when done')
    .action(
      action(async (inputArg: string | undefined, flags: SplitFlags) => {
        const start = process.hrtime.bigint();
        const cfg: QhashConfig = flags.config ? loadConfigFile(flags.config, qhashConfigSchema) : qhashConfigSchema.parse({});
        const { split, idleMs } = splitOptions(flags, cfg);
        const { input, ...paths } = splitPaths(inputArg, flags, cfg);
        if (flags.checkConfig) {
          process.stdout.write(`${flags.config ?? 'qhash split'}: OK\n`);
          return EXIT.OK;
        }
        if (!flags.follow) {
          const stats = await splitOnce({ input, console: paths.console, query: paths.query, split, stateDir: paths.state });
          if (flags.stats) printStats(stats, start);
          return EXIT.OK;
        }
        if (input === '-') throw new ConfigError('--follow needs a file to tail, not stdin');
        if (paths.console === '-' || paths.query === '-') throw new ConfigError('--follow writes to files: --console and --query cannot be -');
        const stateDir = paths.state ?? join(dirname(paths.console), '.qhash-state');
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        try {
          await follow({ input, console: paths.console, query: paths.query, split, stateDir, signal: ac.signal, idleMs });
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
        if (flags.stats) printStats(undefined, start);
        return EXIT.OK;
      }),
    );
};

/** Run directly: the same commands without the rest of the CLI. */
if (isMain(import.meta.url)) {
  const program = new Command('imom').exitOverride();
  qhashCommands(program);
  for (const c of program.commands) for (const s of c.commands) s.exitOverride();
  program.parseAsync(process.argv).catch((e: { code?: string }) => {
    process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? EXIT.OK : EXIT.USAGE);
  });
}
