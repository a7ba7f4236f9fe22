import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.js';

/** One place for what every command family shares, so the families (stack, relay, rules, qhash)
 * and cli/main.ts, which adds them all, never import each other. */

/** An area of the CLI (config, check, agent, qhash, stack, relay, rules) adds its commands here. */
export type CommandModule = (program: Command) => void;

/** Exit codes: 0 all OK, 1 a check found ERROR/CRITICAL (or a test failed), 2 usage or config error. */
export const EXIT = { OK: 0, PROBLEM: 1, USAGE: 2 } as const;

/** Wraps an action so a ConfigError prints cleanly and exits 2, and anything else exits 2 too. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`imom: ${e.message}\n`);
        process.exitCode = EXIT.USAGE;
      } else if (e instanceof CommanderError) {
        throw e;
      } else {
        process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = EXIT.USAGE;
      }
    }
  };
}

/** Resolves once everything written to `stream` so far has been handed to the kernel. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((res) => {
    if (stream.destroyed || !stream.writable) return res();
    stream.write('', () => res());
  });
}

/**
 * process.exit() once stdout and stderr are flushed. Writes to a pipe are asynchronous: an
 * `imom check` piped into a slow reader exited with 608 of its 2,500 lines delivered and a
 * 200 KB line cut at 128 KiB.
 */
export async function exitWhenDrained(code: number): Promise<never> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}
