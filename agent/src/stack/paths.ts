/**
 * Where the stack's binaries and default configs are: the repo's loki/, promtail/,
 * ruler/ folders and .cache/bin (filled by scripts/setup/loki.sh), or PATH.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';

let root: string | undefined;

/** The folder holding iMom's package.json, found upwards from this module (works from src/ and dist/). */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'imom') return (root = dir);
      } catch { /* not ours */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the iMom package root (package.json named "imom") above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export type BinaryName = 'loki' | 'promtail' | 'alertmanager' | 'otelcol' | 'versitygw' | 'nginx';

const CANDIDATES: Record<BinaryName, string[]> = {
  loki: ['loki'],
  promtail: ['promtail'],
  alertmanager: ['prometheus-alertmanager', 'alertmanager'],
  // Our small build (scripts/setup/otelcol.sh), or the upstream contrib package (otelcol/README.md).
  otelcol: ['otelcol-imom', 'otelcol-contrib'],
  // The HA cluster's store (scripts/setup/versitygw.sh) and entry point (Debian's nginx).
  versitygw: ['versitygw'],
  nginx: ['nginx'],
};

const ENV: Record<BinaryName, string> = {
  loki: 'IMOM_LOKI_BIN', promtail: 'IMOM_PROMTAIL_BIN', alertmanager: 'IMOM_ALERTMANAGER_BIN', otelcol: 'IMOM_OTELCOL_BIN', versitygw: 'IMOM_VERSITYGW_BIN', nginx: 'IMOM_NGINX_BIN',
};

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A binary by name: $IMOM_<NAME>_BIN, then .cache/bin (scripts/setup/loki.sh links a
 * binary found on PATH there, or builds the pinned release), then PATH.
 */
export function findBinary(name: BinaryName): string | undefined {
  const fromEnv = process.env[ENV[name]];
  if (fromEnv) return fromEnv;
  // /usr/sbin: Debian's nginx is there, outside a normal user's PATH.
  const dirs = [join(repoRoot(), '.cache', 'bin'), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'];
  for (const dir of dirs) for (const c of CANDIDATES[name]) if (executable(join(dir, c))) return join(dir, c);
  return undefined;
}

export function requireBinary(name: BinaryName): string {
  const b = findBinary(name);
  if (!b) {
    const hint = name === 'alertmanager' ? 'apt-get install prometheus-alertmanager' : name === 'nginx' ? 'apt-get install nginx'
      : name === 'otelcol' ? 'bash scripts/setup/otelcol.sh (builds otelcol-imom into .cache/bin)' : 'npm run setup (builds it into .cache/bin)';
    throw new Error(`${name} not found (looked at $${ENV[name]}, .cache/bin and PATH); ${hint}`);
  }
  return b;
}

/** The repo's default config files. */
export const defaults = {
  lokiConfig: () => join(repoRoot(), 'loki', 'loki.yaml'),
  lokiTlsConfig: () => join(repoRoot(), 'loki', 'loki-tls.yaml'),
  lokiHaConfig: () => join(repoRoot(), 'loki', 'loki-ha.yaml'),
  nginxHaConfig: () => join(repoRoot(), 'loki', 'nginx-ha.conf'),
  promtailConfig: () => join(repoRoot(), 'promtail', 'promtail.yaml'),
  otelcolConfig: () => join(repoRoot(), 'otelcol', 'otelcol.yaml'),
  rulesDir: () => join(repoRoot(), 'ruler', 'rules'),
  alertmanagerConfig: () => join(repoRoot(), 'ruler', 'alertmanager.yml'),
  /** $IMOM_STACK_DIR, else $XDG_STATE_HOME/imom/stack (~/.local/state/imom/stack). */
  stackDir: () => process.env.IMOM_STACK_DIR || join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'imom', 'stack'),
};
