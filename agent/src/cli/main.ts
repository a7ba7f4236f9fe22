import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { EXIT, exitWhenDrained, type CommandModule } from '../command/command.js';
import { repoRoot } from '../stack/paths.js';

/**
 * Every area's commands by the words that start them; add one entry to add a command family.
 * Only the family named on the command line is loaded: `imom agent` loading the relay, stack,
 * rules and qhash families carried undici and their schemas, measured at about 10 MB of idle RSS.
 */
const FAMILIES: Array<{ words: readonly string[]; load: () => Promise<CommandModule> }> = [
  { words: ['config'], load: async () => (await import('./config-commands.js')).configCommands },
  { words: ['check', 'agent', 'retire'], load: async () => (await import('./check-commands.js')).checkCommands },
  { words: ['stack'], load: async () => (await import('../stack/cli.js')).stackCommands },
  { words: ['relay'], load: async () => (await import('../relay/cli.js')).relayCommands },
  { words: ['rules'], load: async () => (await import('../rules/cli.js')).rulesCommands },
  { words: ['qhash'], load: async () => (await import('../qhash/cli.js')).qhashCommands },
];

/** The families to add for `argv`: the one its first word names, or all of them (help, a typo). */
function familiesFor(argv: readonly string[]) {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const named = FAMILIES.filter((f) => first !== undefined && f.words.includes(first));
  return named.length ? named : FAMILIES;
}

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
  for (const family of familiesFor(argv)) (await family.load())(program);
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
