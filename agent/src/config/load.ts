import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath } from './errors.js';

/**
 * Reads a YAML config, substitutes ${VAR} from the environment, and validates it.
 * Every problem is reported as `FILE:LINE: path: problem`; values are never echoed,
 * since they may be secrets.
 */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfigText(text, file, schema, env);
}

export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // One YAML mistake cascades into many parser errors: the first few locate it.
    const problems = doc.errors.slice(0, 3).map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: invalid YAML: ${e.message.split('\n')[0]}`;
    });
    if (doc.errors.length > 3) problems.push(`${file}: (${doc.errors.length - 3} more YAML errors follow from the first)`);
    throw new ConfigError(problems.join('\n'), problems);
  }
  const raw: unknown = doc.toJS() ?? {};
  const problems: string[] = [];
  const substituted = substituteEnv(raw, [], env, (path, msg) => problems.push(`${locate(file, doc, lineCounter, path)}${formatPath(path)}: ${msg}`));
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);

  const parsed = schema.safeParse(substituted);
  if (!parsed.success) {
    const out = parsed.error.issues.map((issue) => {
      // Unknown keys are reported at their parent; point at the key itself.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const path = keys.length === 1 ? [...issue.path, keys[0]!] : issue.path;
      return `${locate(file, doc, lineCounter, path)}${formatPath(path)}: ${describe(issue)}`;
    });
    throw new ConfigError(out.join('\n'), out);
  }
  return parsed.data;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      // zod's "received" would echo the shape of a value; the expected type is enough.
      return issue.input === undefined ? `required (expected ${issue.expected})` : `expected ${issue.expected}`;
    default:
      return issue.message;
  }
}

/** `file:line: ` for the node at `path`, or its nearest existing ancestor. */
function locate(file: string, doc: Document, lc: LineCounter, path: readonly PropertyKey[]): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
      const start = (node as { range: [number, number, number] }).range[0];
      return `${file}:${lc.linePos(start).line}: `;
    }
    if (n > 0 && (isMap(node) || isSeq(node) || isScalar(node))) break;
  }
  return `${file}: `;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$/g;

/** Replaces ${VAR} and ${VAR:-default} inside string values; `$$` is a literal `$`. */
function substituteEnv(value: unknown, path: PropertyKey[], env: NodeJS.ProcessEnv, problem: (path: PropertyKey[], msg: string) => void): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) return value;
    return value.replace(VAR, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$$') return '$';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problem(path, `environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, problem));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...path, k], env, problem);
    return out;
  }
  return value;
}

/** `host: auto` means the OS hostname. */
export function resolveHost(host: string): string {
  return host === 'auto' ? hostname() : host;
}
