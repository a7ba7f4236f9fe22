/**
 * Environment expansion in provisioning files as Grafana documents it (Administration > Provision
 * Grafana > "Use environment variables"): `$ENV_VAR_NAME` or `${ENV_VAR_NAME}` in any value, `$$`
 * for one literal `$`. Grafana applies it to each value after the YAML is parsed, with Go's
 * os.ExpandEnv: `${...}` looks up everything between the braces as one name, so
 * `${LOKI_URL:-http://x}` asks for a variable named `LOKI_URL:-http://x` and comes out empty.
 */
import { parse } from 'yaml';

const REFERENCE = /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g;

/** The names one value refers to (each `${...}` whole, as Go reads it), `$$` escapes skipped. */
export function referencedNames(value: string): string[] {
  return value.split('$$').flatMap((part) => [...part.matchAll(REFERENCE)].map((m) => m[1] ?? m[2]!));
}

/** One value expanded against `env`, an unset name giving "". */
export function expandValue(value: string, env: Readonly<Record<string, string>>): string {
  return value.split('$$').map((part) => part.replace(REFERENCE, (_, braced: string | undefined, bare: string | undefined) => env[braced ?? bare!] ?? '')).join('$');
}

export interface ExpandedLeaf { path: string; raw: string; value: string }

/** Every string value of a provisioning file (YAML anchors resolved, as Grafana's parser does), expanded. */
export function expandFile(yamlText: string, env: Readonly<Record<string, string>>): ExpandedLeaf[] {
  const out: ExpandedLeaf[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node === 'string') out.push({ path, raw: node, value: expandValue(node, env) });
    else if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(parse(yamlText), '');
  return out;
}
