/**
 * The agent's config as the operator keeps it: the main file, and `conf.d/*.yaml` next to it
 * (sorted, as run-parts and systemd order drop-ins) merged over it, validated as one.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { readConfigSource, validateConfig } from '../config/load.js';
import { mergeSources, type MergeRules } from '../config/merge.js';
import { configSchema, type AgentConfig } from './config-schema.js';

/** Where conf.d is unless `--conf-d` says otherwise: next to the main file. */
export function defaultConfDir(mainFile: string): string {
  return join(dirname(mainFile), 'conf.d');
}

/** `checks.<name>` lists concatenate; an instance is named by `name`. */
const AGENT_MERGE_RULES: MergeRules = {
  isList: (path) => path.length === 2 && path[0] === 'checks',
  itemKey: 'name',
};

/** conf.d's `*.yaml` files in byte order of their names; no folder means none. */
export function confDFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new ConfigError(`${dir}: cannot read conf.d: ${code ?? (e as Error).message}`);
  }
  // Plain sort(): UTF-16 code-unit order, the same on every host whatever its locale.
  return names.filter((n) => n.endsWith('.yaml') && !n.startsWith('.')).sort().map((n) => join(dir, n));
}

export interface LoadedAgentConfig {
  readonly config: AgentConfig;
  /** The main file, then each conf.d file merged over it. */
  readonly files: readonly string[];
}

/** Reads, merges and validates the main file and conf.d; every problem is a ConfigError with FILE:LINE. */
export function loadAgentConfigFiles(mainFile: string, confDir = defaultConfDir(mainFile), env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig {
  const overlays = confDFiles(confDir);
  const sources = [mainFile, ...overlays].map((f) => readConfigSource(f, env));
  const merged = mergeSources(sources[0]!, sources.slice(1), AGENT_MERGE_RULES);
  return { config: validateConfig(merged.value, configSchema, merged.locate, merged.pathInFile), files: [mainFile, ...overlays] };
}
