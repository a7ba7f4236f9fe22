import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath } from './errors.js';
import { readCredential, readSecretFile, resolveSecretFiles } from './secret-file.js';

/**
 * Reads a YAML config, substitutes ${VAR} from the environment, and validates it.
 * Every problem is reported as `FILE:LINE: path: problem`; values are never echoed,
 * since they may be secrets.
 */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const source = readConfigSource(file, env);
  return validateConfig(source.value, schema, source.locate);
}

export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const source = parseConfigSource(text, file, env);
  return validateConfig(source.value, schema, source.locate);
}

/** One config file, parsed and substituted but not validated: what conf.d merging works on. */
export interface ConfigSource {
  readonly file: string;
  readonly value: unknown;
  /** `FILE:LINE: ` of the node at `path` in this file (or its nearest existing ancestor). */
  locate(path: readonly PropertyKey[]): string;
}

/** Reads one file into a ConfigSource; an unreadable file is a ConfigError naming it. */
export function readConfigSource(file: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfigSource(text, file, env);
}

/** YAML problems and ${VAR} substitution, each reported as `FILE:LINE: ...`. */
export function parseConfigSource(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // A warning (an unknown !tag) is an error too: yaml would turn `password: !Xy9…` into an empty
  // string that validates.
  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    // One YAML mistake cascades into many parser errors: the first few locate it.
    const problems = yamlProblems.slice(0, 3).map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: invalid YAML: ${yamlProblem(e.code)}`;
    });
    if (yamlProblems.length > 3) problems.push(`${file}: (${yamlProblems.length - 3} more YAML errors follow from the first)`);
    throw new ConfigError(problems.join('\n'), problems);
  }
  const raw = toPlain(doc, file, lineCounter);
  const locateIn = (path: readonly PropertyKey[]) => locate(file, doc, lineCounter, path);
  const problems: string[] = [];
  const value = substituteEnv(raw, [], env, (path, msg) => problems.push(`${locateIn(path)}${formatPath(path)}: ${msg}`));
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  return { file, value, locate: locateIn };
}

/**
 * Validates `value` against `schema`; every issue is `FILE:LINE: path: problem`, located by
 * `locateAt`, its path as `pathInFile` gives it (merged files: the path in the file that wrote it).
 */
export function validateConfig<S extends z.ZodType>(
  value: unknown,
  schema: S,
  locateAt: (path: readonly PropertyKey[]) => string,
  pathInFile: (path: readonly PropertyKey[]) => readonly PropertyKey[] = (path) => path,
): z.output<S> {
  const secretProblems: string[] = [];
  const resolved = resolveSecretFiles(value, schema, (path, msg) => secretProblems.push(`${locateAt(path)}${formatPath(pathInFile(path))}: ${msg}`));
  if (secretProblems.length) throw new ConfigError(secretProblems.join('\n'), secretProblems);
  const parsed = schema.safeParse(resolved);
  if (!parsed.success) {
    const out = parsed.error.issues.map((issue) => {
      // Unknown keys are reported at their parent; point at the key itself.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const path = keys.length === 1 ? [...issue.path, keys[0]!] : issue.path;
      return `${locateAt(path)}${formatPath(pathInFile(path))}: ${describe(issue, resolved, locateAt, pathInFile)}`;
    });
    throw new ConfigError(out.join('\n'), out);
  }
  return parsed.data;
}

/**
 * yaml's messages quote the offending source (`Unresolved alias …: Xy9…`, `Block scalar header
 * includes extra characters: |Xy9…`), which may be a password: only the error's code is used.
 */
const YAML_PROBLEMS: Record<string, string> = {
  BAD_ALIAS: 'an alias (*name) that refers to no anchor',
  BAD_DQ_ESCAPE: 'a bad escape in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_SCALAR_START: 'a plain value cannot start with this character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a block value used as a key',
  DUPLICATE_KEY: 'a key given twice',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  MULTILINE_IMPLICIT_KEY: 'a key spans lines',
  MULTIPLE_DOCS: 'more than one YAML document',
  TAB_AS_INDENT: 'a tab used for indentation',
  TAG_RESOLVE_FAILED: 'an unknown !tag (quote a value that starts with !)',
  UNEXPECTED_TOKEN: 'unexpected characters (a value that starts with | > * & ! % @ must be quoted)',
};

function yamlProblem(code: string): string {
  return YAML_PROBLEMS[code] ?? code.toLowerCase().replaceAll('_', ' ');
}

/** yaml allows 100 alias expansions by default; a config needs a handful, a bomb needs millions. */
const MAX_ALIASES = 100;

/** The document as plain values; an alias that cannot be resolved or expands without end is a config error at its line. */
function toPlain(doc: Document, file: string, lc: LineCounter): unknown {
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
    // An anchor that contains its own alias (`&a [*a]`) is a cycle, which no config means.
    if (hasCycle(value)) throw new Error('cycle');
    return value;
  } catch {
    // Never the error's message: it quotes the alias name, which may be a password written unquoted.
    const alias = firstBadAlias(doc);
    const where = alias ? `${file}:${lc.linePos(alias.start).line}:${lc.linePos(alias.start).col}` : file;
    const what = alias?.unresolved ? YAML_PROBLEMS.BAD_ALIAS : `aliases expand past ${MAX_ALIASES} times or into themselves (an alias bomb?)`;
    throw new ConfigError(`${where}: invalid YAML: ${what}`);
  }
}

function hasCycle(v: unknown, open = new Set<object>()): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (open.has(v)) return true;
  open.add(v);
  const cyclic = Object.values(v).some((c) => hasCycle(c, open));
  open.delete(v);
  return cyclic;
}

/** The first alias whose anchor is not defined before it, else the first alias at all. */
function firstBadAlias(doc: Document): { start: number; unresolved: boolean } | undefined {
  const anchors = new Set<string>();
  let first: { start: number; unresolved: boolean } | undefined;
  let unresolved: { start: number; unresolved: boolean } | undefined;
  visit(doc, (_, node) => {
    if (isAlias(node)) {
      const at = { start: node.range?.[0] ?? 0, unresolved: !anchors.has(node.source) };
      first ??= at;
      if (at.unresolved && !unresolved) unresolved = at;
    } else if (isNode(node) && node.anchor) anchors.add(node.anchor);
  });
  return unresolved ?? first;
}

/** What a value is, in words, without the value: "a number", "a list". */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

const ARTICLE: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'a boolean', array: 'a list', object: 'a map', int: 'an integer' };

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !(k in (v as Record<PropertyKey, unknown>))) return { found: false };
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return { found: true, value: v };
}

function describe(
  issue: z.core.$ZodIssue,
  input: unknown,
  locateAt: (path: readonly PropertyKey[]) => string,
  pathInFile: (path: readonly PropertyKey[]) => readonly PropertyKey[],
): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type': {
      // zod's "received" would echo the shape of a value; its kind alone is enough.
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      const at = valueAt(input, issue.path);
      return !at.found || at.value === undefined ? `required (expected ${expected})` : `expected ${expected}, got ${kindOf(at.value)}`;
    }
    default: {
      // A refinement that names another place (the same node twice) points at its line too.
      // params.also is relative to the instance; depth says how much of this issue's path is the instance's.
      const params = (issue as { params?: { also?: readonly PropertyKey[]; depth?: number } }).params;
      if (!params?.also) return issue.message;
      const other = [...issue.path.slice(0, issue.path.length - (params.depth ?? 0)), ...params.also];
      return `${issue.message} ${formatPath(pathInFile(other))} (${locateAt(other).replace(/: $/, '')})`;
    }
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

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{(file|credential):([^}]*)\}|\$\$/g;

/**
 * Replaces ${VAR} and ${VAR:-default} inside string values, ${file:/path} and ${credential:NAME}
 * by that file's content (secret-file.ts); `$$` is a literal `$`.
 */
function substituteEnv(value: unknown, path: PropertyKey[], env: NodeJS.ProcessEnv, problem: (path: PropertyKey[], msg: string) => void): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) return value;
    return value.replace(VAR, (whole, name: string | undefined, fallback: string | undefined, source: string | undefined, ref: string | undefined) => {
      if (whole === '$$') return '$';
      if (source !== undefined) {
        const read = source === 'file' ? readSecretFile(ref!) : readCredential(ref!, env);
        if ('value' in read) return read.value;
        problem(path, read.problem);
        return '';
      }
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
