import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Agent } from '../app/agent.js';
import { CHECK_NAMES } from '../checks/all.js';
import { ConfigError } from '../config/errors.js';
import { action, EXIT, exitWhenDrained, type CommandModule } from '../command/command.js';
import { Reloader } from '../app/reload.js';
import { CONF_D_OPTION, loadAgentConfig } from './config-commands.js';
import { loadAgentConfigFiles } from '../app/conf-d.js';
import type { AgentConfig } from '../app/config-schema.js';

/** The outputs the agent writes to, named as in the config (the same tests as OutputPipeline's). */
function outputNames(outputs: AgentConfig['outputs']): string[] {
  const names: string[] = [];
  if (outputs.file) names.push('file');
  if (outputs.syslog?.enabled) names.push('syslog');
  if (outputs.loki) names.push('loki');
  return names;
}

function parseOnly(only: string | undefined): string[] | undefined {
  if (!only) return undefined;
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set<string>(CHECK_NAMES);
  const bad = names.filter((n) => !known.has(n));
  if (bad.length) throw new ConfigError(`--only: unknown check ${bad.join(', ')} (known: ${[...known].join(', ')})`);
  return names;
}

export const checkCommands: CommandModule = (program: Command) => {
  program
    .command('check')
    .description('Run one cycle of every check and exit: 0 all OK, 1 any ERROR or CRITICAL, 2 usage or config error')
    .requiredOption('-c, --config <file>', 'agent config (YAML)')
    .option('--once', 'the default, as before: one cycle, its lines to stdout AND to every configured output (file, syslog, Loki; takes the Loki spool lock)', true)
    .option('--test', 'one cycle, its lines to stdout only: no file, syslog or Loki output is opened and no spool lock taken, so it is safe beside a running agent')
    .option('--only <checks>', 'comma-separated check names, e.g. mysql,redis')
    .option(...CONF_D_OPTION)
    .action(action(async (opts: { config: string; only?: string; test?: boolean; confD?: string }) => {
      const cfg = loadAgentConfig(opts.config, opts.confD);
      const agent = await Agent.create(cfg, { only: parseOnly(opts.only), stdout: true, stdoutOnly: opts.test === true });
      await agent.scheduler.runOnce();
      await agent.stop();
      const c = agent.outputs.counts;
      // Outputs are flushed; a connect to a blackholed server may still hold the event loop.
      await exitWhenDrained(c.ERROR + c.CRITICAL > 0 ? EXIT.PROBLEM : EXIT.OK);
    }));

  program
    .command('retire')
    .description('Decommission this host: write one `Agent=retired` heartbeat line through the config\'s outputs, so AgentSilent stops expecting it (stop the agent first; see ruler/README.md)')
    .requiredOption('-c, --config <file>', 'agent config (YAML), the one the host\'s agent ran with')
    .option(...CONF_D_OPTION)
    .action(action(async (opts: { config: string; confD?: string }) => {
      const cfg = loadAgentConfig(opts.config, opts.confD);
      const host = await Agent.retire(cfg);
      process.stdout.write(`imom: host ${host} (env ${cfg.env}) retired: AgentSilent no longer expects it once its outputs have shipped the line\n`);
      return EXIT.OK;
    }));

  program
    .command('agent')
    .description('Run the checks every interval until SIGTERM; SIGHUP reopens the log files and reloads the config and conf.d, SIGUSR1 only reopens the log files')
    .requiredOption('-c, --config <file>', 'agent config (YAML)')
    .option('--only <checks>', 'comma-separated check names')
    .option(...CONF_D_OPTION)
    .action(action(async (opts: { config: string; only?: string; confD?: string }) => {
      const only = parseOnly(opts.only);
      const loaded = loadAgentConfigFiles(opts.config, opts.confD);
      const cfg = loaded.config;
      const agent = await Agent.create(cfg, { only, serveMetrics: true });
      const reloader = new Reloader(agent, { load: () => loadAgentConfig(opts.config, opts.confD), file: opts.config, say: (l) => process.stderr.write(`${l}\n`) });
      process.on('SIGHUP', () => reloader.hangup());
      process.on('SIGUSR1', () => reloader.reopen());
      agent.scheduler.start();
      agent.startHeartbeat();
      // Which build, which file and where its lines go: the first things asked of a running agent.
      process.stderr.write(`imom: agent started: ${agent.scheduler.size} targets, host ${agent.host}, env ${cfg.env}, `
        + `version ${program.version() ?? 'unknown'}, config ${loaded.files.map((f) => resolve(f)).join(',')}, outputs ${outputNames(cfg.outputs).join(',') || 'none'}\n`);
      // Runs until SIGTERM even with no target yet (the packaged imom.yaml enables none, and a
      // SIGHUP may add some): without a timer of its own an idle agent exited at once and
      // systemd would restart it in a loop.
      const keepAlive = setInterval(() => undefined, 24 * 3_600_000);
      await new Promise<void>((resolve) => {
        const stop = () => {
          clearInterval(keepAlive);
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          // A reload under way finishes first: its targets are then stopped like the others.
          void reloader.close().then(() => agent.stop()).then(() => {
            const c = agent.outputs.counts;
            process.stderr.write(`imom: agent stopped: ${c.OK + c.ERROR + c.CRITICAL} lines written (OK=${c.OK}, ERROR=${c.ERROR}, CRITICAL=${c.CRITICAL})\n`);
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      return EXIT.OK;
    }));
};
