/** What the package tests share: building the packages into a folder of their own, reading units. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run } from '../harness/proc.js';

export interface Built {
  deb: string;
  rpm: string;
}

/** `npm run package` (scripts/package.mjs) into `work`; `reuseStage` packages the last stage again under `version`. */
export async function buildPackages(work: string, version: string, opts: { reuseStage?: boolean } = {}): Promise<Built> {
  await run('npm', ['run', '--silent', 'package', '--', '--pkg-version', version, ...(opts.reuseStage ? ['--reuse-stage'] : [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, IMOM_PACKAGE_WORK: work },
    timeoutMs: 900_000,
  });
  return { deb: join(work, 'out', `imom_${version}_amd64.deb`), rpm: join(work, 'out', `imom-${version}.x86_64.rpm`) };
}

export const UNITS = ['imom-agent.service', 'imom-split@.service', 'imom-relay.service'] as const;

/** A unit file's [Service] settings: every value of each key, in order (ExecReload= and the like repeat). */
export function serviceSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

export function unitSettings(path: string, instance?: string): Map<string, string[]> {
  const text = readFileSync(path, 'utf8');
  return serviceSettings(instance === undefined ? text : text.replaceAll('%i', instance));
}

/** The folders a unit may write under ProtectSystem=strict: State/LogsDirectory and ReadWritePaths. */
export function writableRoots(settings: Map<string, string[]>): string[] {
  const words = (key: string) => (settings.get(key) ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));
  return [
    ...words('StateDirectory').map((d) => `/var/lib/${d}`),
    ...words('LogsDirectory').map((d) => `/var/log/${d}`),
    ...words('ReadWritePaths').map((d) => d.replace(/^-/, '')),
  ];
}

export function isUnder(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(r.endsWith('/') ? r : `${r}/`));
}
