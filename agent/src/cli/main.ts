import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { EXIT, exitWhenDrained, type CommandModule } from '../command/command.js';
import { configCommands } from './config-commands.js';
import { checkCommands } from './check-commands.js';
import { stackCommands } from '../stack/cli.js';
import { relayCommands } from '../relay/cli.js';
import { rulesCommands } from '../rules/cli.js';
import { qhashCommands } from '../qhash/cli.js';
import { repoRoot } from '../stack/paths.js';

/** Every area's commands; add one line to add a command family. */
const COMMANDS: CommandModule[] = [configCommands, checkCommands, stackCommands, relayCommands, rulesCommands, qhashCommands];

/** package.json's version, the one `imom --version` and the agent's start-up line name. */
function packageVersion(): string {
  const pkg = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')));
  return pkg.version;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('imom')
    .description('iMom: backing-system checks and log shipping to Grafana Loki')
    .version(packageVersion(), '-V, --version', 'print the version of imom')
    .showHelpAfterError()
    .exitOverride();
  for (const add of COMMANDS) add(program);
  // Every subcommand inherits exitOverride so usage errors exit 2, not commander's 1.
  for (const cmd of allCommands(program)) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      const help = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version';
      await exitWhenDrained(help ? EXIT.OK : EXIT.USAGE);
    }
    throw e;
  }
}

function* allCommands(c: Command): Generator<Command> {
  for (const sub of c.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}
