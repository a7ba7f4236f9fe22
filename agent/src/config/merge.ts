/**
 * Merges config files (a main file, then conf.d overlays in order) into one value before it is
 * validated, remembering where every node came from, so an issue in the merged value is still
 * reported as `FILE:LINE: path: problem` of the file that wrote it.
 *
 * Maps merge key by key. A list at a path `rules.isList` names (an instance list) is
 * concatenated. Anything else is a scalar: an overlay's replaces the main file's, and two
 * overlays that set the same one are an error naming both places, as are two items of
 * concatenated lists from different files with the same `rules.itemKey` (an instance name).
 */
import { ConfigError, formatPath } from './errors.js';
import type { ConfigSource } from './load.js';

export interface MergeRules {
  /** Whether the list at this (merged) path is concatenated rather than replaced. */
  isList(path: readonly PropertyKey[]): boolean;
  /** The key that names an item of such a list ("name"): the same name from two files is an error. */
  readonly itemKey: string;
}

export interface MergedConfig {
  readonly value: unknown;
  /** `FILE:LINE: ` of the file that wrote the merged node at `path`. */
  locate(path: readonly PropertyKey[]): string;
  /** The merged path as written in that file (list indexes count within the file). */
  pathInFile(path: readonly PropertyKey[]): readonly PropertyKey[];
}

interface Origin {
  readonly src: ConfigSource;
  /** The node's path inside src. */
  readonly path: readonly PropertyKey[];
}

type PlainMap = Record<string, unknown>;
const isMap = (v: unknown): v is PlainMap => v !== null && typeof v === 'object' && !Array.isArray(v);
const keyOf = (path: readonly PropertyKey[]): string => JSON.stringify(path);
/** The prefix of keyOf() of every path strictly below `path`. */
const keysBelow = (path: readonly PropertyKey[]): string => (path.length ? `${keyOf(path).slice(0, -1)},` : '[');
/** `FILE:LINE` without the trailing `: ` that locate() adds for a message prefix. */
const place = (o: Origin): string => o.src.locate(o.path).replace(/: $/, '');

export function mergeSources(main: ConfigSource, overlays: readonly ConfigSource[], rules: MergeRules): MergedConfig {
  const origins = new Map<string, Origin>();
  /** Scalars set by an overlay, by merged path: a second overlay setting one is a conflict. */
  const overlaySet = new Map<string, Origin>();
  /** The first item of each concatenated list with a given name. */
  const items = new Map<string, Origin>();
  const problems: string[] = [];

  /** Records `value` and everything under it as coming from `origin`. */
  const record = (value: unknown, path: readonly PropertyKey[], origin: Origin): void => {
    origins.set(keyOf(path), origin);
    if (Array.isArray(value)) value.forEach((v, i) => record(v, [...path, i], { src: origin.src, path: [...origin.path, i] }));
    else if (isMap(value)) for (const [k, v] of Object.entries(value)) record(v, [...path, k], { src: origin.src, path: [...origin.path, k] });
  };

  /** An overlay's scalar at `path` that another overlay set already (here, above or below). */
  const setByAnotherOverlay = (path: readonly PropertyKey[], src: ConfigSource): Origin | undefined => {
    for (let n = path.length; n > 0; n--) {
      const o = overlaySet.get(keyOf(path.slice(0, n)));
      if (o && o.src !== src) return o;
    }
    const below = keysBelow(path);
    for (const [k, o] of overlaySet) if (k.startsWith(below) && o.src !== src) return o;
    return undefined;
  };

  const forget = (path: readonly PropertyKey[]): void => {
    const below = keysBelow(path);
    for (const k of [...origins.keys()]) if (k.startsWith(below)) origins.delete(k);
  };

  const merge = (base: unknown, incoming: unknown, path: readonly PropertyKey[], at: Origin, overlay: boolean): unknown => {
    if (Array.isArray(incoming) && rules.isList(path) && (base === undefined || Array.isArray(base))) {
      const out = [...((base as unknown[] | undefined) ?? [])];
      if (!origins.has(keyOf(path))) origins.set(keyOf(path), at);
      incoming.forEach((item, j) => {
        const itemAt: Origin = { src: at.src, path: [...at.path, j] };
        const name = isMap(item) ? item[rules.itemKey] : undefined;
        if (typeof name === 'string') {
          const nameAt: Origin = { src: at.src, path: [...itemAt.path, rules.itemKey] };
          const first = items.get(`${keyOf(path)}\0${name}`);
          // The same name twice in one file is the schema's to report, at its own line.
          if (first && first.src !== at.src) problems.push(`${at.src.locate(nameAt.path)}${formatPath(nameAt.path)}: instance "${name}" is also defined at ${place(first)}`);
          else if (!first) items.set(`${keyOf(path)}\0${name}`, nameAt);
        }
        record(item, [...path, out.length], itemAt);
        out.push(item);
      });
      return out;
    }
    if (isMap(incoming) && (base === undefined || isMap(base))) {
      const out: PlainMap = base ?? {};
      if (!origins.has(keyOf(path))) origins.set(keyOf(path), at);
      for (const [k, v] of Object.entries(incoming)) out[k] = merge(out[k], v, [...path, k], { src: at.src, path: [...at.path, k] }, overlay);
      return out;
    }
    if (overlay) {
      const other = setByAnotherOverlay(path, at.src);
      if (other) problems.push(`${at.src.locate(at.path)}${formatPath(at.path)}: also set at ${place(other)}`);
      overlaySet.set(keyOf(path), at);
    }
    forget(path);
    record(incoming, path, at);
    return incoming;
  };

  let value: unknown = undefined;
  for (const [i, src] of [main, ...overlays].entries()) {
    // structuredClone: merging writes into maps, and a source's own value stays as read.
    value = merge(value, structuredClone(src.value), [], { src, path: [] }, i > 0);
  }
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);

  const originOf = (path: readonly PropertyKey[]): { origin: Origin; rest: readonly PropertyKey[] } => {
    for (let n = path.length; n >= 0; n--) {
      const origin = origins.get(keyOf(path.slice(0, n)));
      if (origin) return { origin, rest: path.slice(n) };
    }
    return { origin: { src: main, path: [] }, rest: path };
  };
  return {
    value: value ?? {},
    locate: (path) => {
      const { origin, rest } = originOf(path);
      return origin.src.locate([...origin.path, ...rest]);
    },
    pathInFile: (path) => {
      const { origin, rest } = originOf(path);
      return [...origin.path, ...rest];
    },
  };
}
