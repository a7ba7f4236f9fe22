/**
 * Secrets from files, so that they never sit in /proc/<pid>/environ:
 *
 *   password_file: /etc/imom/secrets/mysql      (beside every `password:`, `bearer_token:` …)
 *   password: ${file:/etc/imom/secrets/mysql}   (inside any string)
 *   password: ${credential:mysql}               (systemd LoadCredential=: $CREDENTIALS_DIRECTORY/mysql)
 *
 * One trailing newline (what `echo` and editors add) is dropped; nothing else is trimmed, since a
 * password may end in a space. Problems name the file and never its content.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

export type SecretRead = { readonly value: string } | { readonly problem: string };

/** Reads one secret file: its content minus one trailing newline, or a problem naming the file. */
export function readSecretFile(path: string): SecretRead {
  // Relative to what? The agent's cwd is / under systemd and the config's folder elsewhere: refuse.
  if (!isAbsolute(path)) return { problem: `secret file ${path} is not an absolute path` };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { problem: `cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` };
  }
  const value = text.replace(/\r?\n$/, '');
  // An empty secret is as unset as an empty ${VAR} (which is an error too).
  if (value === '') return { problem: `secret file ${path} is empty` };
  return { value };
}

/** systemd credential names: no slash, not `.` or `..` (systemd.exec(5), "Credentials"). */
const CREDENTIAL_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.@-]+$/;

/** `${credential:NAME}`: the file systemd's LoadCredential=NAME:… put under $CREDENTIALS_DIRECTORY. */
export function readCredential(name: string, env: NodeJS.ProcessEnv): SecretRead {
  if (!CREDENTIAL_NAME.test(name)) return { problem: `\${credential:${name}}: not a credential name` };
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return { problem: `\${credential:${name}} needs $CREDENTIALS_DIRECTORY (set by systemd for a unit with LoadCredential=)` };
  return readSecretFile(join(dir, name));
}

const FILE_SUFFIX = '_file';

/** `secret` (config/types.ts) carries writeOnly; .min() and the like keep it, wrappers do not. */
function isSecret(schema: z.ZodType): boolean {
  return z.globalRegistry.get(schema)?.writeOnly === true || (schema instanceof z.ZodPipe && isSecret(schema.in as z.ZodType));
}

/** The schema under optional/default/nullable/pipe wrappers: the one whose shape matters. */
function unwrap(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe && !isSecret(schema)) return unwrap(schema.in as z.ZodType);
  return schema;
}

/** The schemas a value may be checked against here: a union's options, each unwrapped. */
function alternatives(schema: z.ZodType): z.ZodType[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap(alternatives);
  return [s];
}

/** The schema of `key` in a map checked against `schemas`, if any declares it. */
function childSchemas(schemas: readonly z.ZodType[], key: string): z.ZodType[] {
  return schemas.flatMap((s) => {
    if (s instanceof z.ZodObject) {
      const child = (s.shape as Record<string, z.ZodType>)[key];
      return child ? alternatives(child) : [];
    }
    if (s instanceof z.ZodRecord) return alternatives(s.valueType as z.ZodType);
    return [];
  });
}

/**
 * Every secret accepts a file instead of its value: `K_file: /path` beside a secret `K` (one the
 * schema does not declare itself, as the relay's token_file) becomes `K: <content>` before the
 * value is validated, so a check, its refinements and its redaction see `K` whichever way it came.
 * Reading problems and both keys at once are reported at the `_file` key.
 */
export function resolveSecretFiles(value: unknown, schema: z.ZodType, problem: (path: readonly PropertyKey[], message: string) => void): unknown {
  return resolve(value, alternatives(schema), [], problem);
}

function resolve(value: unknown, schemas: readonly z.ZodType[], path: PropertyKey[], problem: (path: readonly PropertyKey[], message: string) => void): unknown {
  if (Array.isArray(value)) {
    const elements = schemas.flatMap((s) => (s instanceof z.ZodArray ? alternatives(s.element as z.ZodType) : []));
    return value.map((v, i) => resolve(v, elements, [...path, i], problem));
  }
  if (!value || typeof value !== 'object' || schemas.length === 0) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const target = key.endsWith(FILE_SUFFIX) ? key.slice(0, -FILE_SUFFIX.length) : undefined;
    const asFile = target !== undefined && childSchemas(schemas, key).length === 0 && childSchemas(schemas, target).some(isSecret);
    if (!asFile || typeof v !== 'string') {
      out[key] = resolve(v, childSchemas(schemas, key), [...path, key], problem);
      continue;
    }
    if ((value as Record<string, unknown>)[target] !== undefined) {
      problem([...path, key], `set either ${target} or ${key}, not both`);
      continue;
    }
    const read = readSecretFile(v);
    if ('value' in read) out[target] = read.value;
    else problem([...path, key], read.problem);
  }
  return out;
}
