import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { configJsonSchema, configSchema, type AgentConfig } from '../app/config-schema.js';
import { action, EXIT, type CommandModule } from '../command/command.js';

export function loadAgentConfig(file: string): AgentConfig {
  return loadConfigFile(file, configSchema);
}

export const configCommands: CommandModule = (program: Command) => {
  const config = program.command('config').description('Validate a config file or print its JSON Schema');
  config
    .command('validate')
    .description('Check a config file; problems are printed as FILE:LINE: path: problem and exit 2')
    .argument('<file>', 'agent config (YAML)')
    .action(action((file: string) => {
      loadAgentConfig(file);
      process.stdout.write(`${file}: ok\n`);
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
