/** `imom relay --config FILE`: the Alertmanager → chat relay. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, type CommandModule } from '../command/command.js';
import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { relayConfigSchema, type RelayConfig } from './config.js';
import { Relay } from './relay.js';

export function loadRelayConfig(file: string): { cfg: RelayConfig; token: string } {
  const cfg = loadConfigFile(file, relayConfigSchema);
  let token = cfg.token;
  if (cfg.token_file !== undefined) {
    try {
      token = readFileSync(cfg.token_file, 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`${file}: token_file: cannot read ${cfg.token_file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (token.length < 16) throw new ConfigError(`${file}: token_file: the token in ${cfg.token_file} is shorter than 16 characters`);
  }
  return { cfg, token: token! };
}

export const relayCommands: CommandModule = (program: Command) => {
  program
    .command('relay')
    .description('Relay Alertmanager webhooks to chat (Slack, Teams, Google Chat, Telegram, JSON webhook) with the offending log lines')
    .requiredOption('--config <file>', 'relay config (YAML)')
    .option('--check-config', 'validate the config and exit')
    .action(
      action(async (opts: { config: string; checkConfig?: boolean }) => {
        const { cfg, token } = loadRelayConfig(opts.config);
        if (opts.checkConfig) {
          process.stdout.write(`${opts.config}: OK (${cfg.targets.length} target(s))\n`);
          return 0;
        }
        const relay = new Relay(cfg, token);
        const addr = await relay.start();
        process.stderr.write(`${new Date().toISOString()} INFO imom relay: listening on ${cfg.listen_tls ? 'https' : 'http'}://${addr.host}:${addr.port}/alertmanager (targets: ${cfg.targets.map((t) => `${t.name}:${t.type}`).join(', ')})\n`);
        await new Promise<void>((res) => {
          const onSignal = () => res();
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
        });
        await relay.stop();
        return 0;
      }),
    );
};
