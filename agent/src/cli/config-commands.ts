import type { Command } from 'commander';
import { configJsonSchema, type AgentConfig } from '../app/config-schema.js';
import { loadAgentConfigFiles } from '../app/conf-d.js';
import { action, EXIT, type CommandModule } from '../command/command.js';

/** The main file with conf.d merged over it (`confDir`, or conf.d/ next to the main file). */
export function loadAgentConfig(file: string, confDir?: string): AgentConfig {
  return loadAgentConfigFiles(file, confDir).config;
}

/** `--conf-d <dir>`, for every command that reads the agent config. */
export const CONF_D_OPTION = ['--conf-d <dir>', 'folder of *.yaml merged over the config, in name order (default: conf.d/ next to the config file)'] as const;

export const configCommands: CommandModule = (program: Command) => {
  const config = program.command('config').description('Validate a config file or print its JSON Schema');
  config
    .command('validate')
    .description('Check a config file with its conf.d merged over it; problems are printed as FILE:LINE: path: problem and exit 2')
    .argument('<file>', 'agent config (YAML)')
    .option(...CONF_D_OPTION)
    .action(action((file: string, opts: { confD?: string }) => {
      const { files } = loadAgentConfigFiles(file, opts.confD);
      const merged = files.length > 1 ? ` (with ${files.slice(1).join(', ')})` : '';
      process.stdout.write(`${file}: ok${merged}\n`);
      return EXIT.OK;
    }));
  config
    .command('schema')
    .description('Print the JSON Schema of the agent config, for editor completion')
    .action(action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return EXIT.OK;
    }));
};
