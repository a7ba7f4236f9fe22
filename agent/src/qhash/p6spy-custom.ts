/**
 * p6spy custom `logMessageFormat` patterns (`%(currentTime)|%(executionTime)|%(category)|%(sqlSingleLine)`),
 * compiled to a cheap first-byte test and a regex; `…\n%(sql)` puts the SQL on the following lines.
 */
import { Byte } from './bytes.js';
import { isDigit, startsWith } from './scan.js';
import type { SqlStart } from './sql-start.js';

const PLACEHOLDERS = ['connectionId', 'currentTime', 'executionTime', 'category', 'effectiveSql', 'effectiveSqlSingleLine', 'sql', 'sqlSingleLine', 'url'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const SQL_PLACEHOLDERS: ReadonlySet<string> = new Set(['effectiveSql', 'effectiveSqlSingleLine', 'sql', 'sqlSingleLine']);

export interface CustomFormat {
  pattern: string;
  /** Cheap byte test before the regex. */
  quick(b: Buffer, m: number, e: number): boolean;
  match(b: Buffer, m: number, e: number): SqlStart | undefined;
}

/** Throws an Error naming the problem when the pattern is not usable. */
export function compileCustomFormat(pattern: string, allowEmpty = false): CustomFormat {
  // "…%(url)\n%(sql)": a header line, then the SQL on the following lines (a common
  // MessageFormattingStrategy). The header is matched; the SQL runs to the next record start.
  const nl = /^([^\n]*)\r?\n(%\((?:sql|effectiveSql)\);?)$/.exec(pattern);
  if (nl) return compileHeaderFormat(pattern, nl[1]!);
  if (pattern.includes('\n')) throw new Error('a newline may only come right before a final %(sql) or %(effectiveSql)');
  const parts: ({ lit: string } | { ph: Placeholder })[] = [];
  const re = /%\(([A-Za-z]+)\)/g;
  let last = 0;
  for (const m of pattern.matchAll(re)) {
    if (m.index > last) parts.push({ lit: pattern.slice(last, m.index) });
    const name = m[1]!;
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) throw new Error(`unknown placeholder %(${name}); known: ${PLACEHOLDERS.map((p) => `%(${p})`).join(', ')}`);
    parts.push({ ph: name as Placeholder });
    last = m.index + m[0].length;
  }
  if (last < pattern.length) parts.push({ lit: pattern.slice(last) });
  const sqlParts = parts.filter((p) => 'ph' in p && SQL_PLACEHOLDERS.has(p.ph));
  if (sqlParts.length === 0) throw new Error('pattern has no SQL placeholder (%(sql), %(sqlSingleLine), %(effectiveSql) or %(effectiveSqlSingleLine))');
  const first = parts[0]!;
  if (!('lit' in first) && !['connectionId', 'executionTime', 'currentTime'].includes(first.ph)) {
    throw new Error('pattern must start with literal text, %(currentTime), %(executionTime) or %(connectionId), so that its lines can be recognised');
  }
  const names: Placeholder[] = [];
  let src = '^';
  parts.forEach((p, i) => {
    if ('lit' in p) { src += p.lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); return; }
    names.push(p.ph);
    const isLast = i === parts.length - 1;
    switch (p.ph) {
      case 'executionTime':
      case 'connectionId': src += '(-?\\d+)'; break;
      case 'category': src += '([A-Za-z]*)'; break;
      default: src += isLast ? '(.*)' : '(.*?)';
    }
  });
  src += '$';
  const rx = new RegExp(src, 'd');
  const lastPart = parts[parts.length - 1]!;
  const multiline = 'ph' in lastPart && (lastPart.ph === 'sql' || lastPart.ph === 'effectiveSql');
  const firstLit = 'lit' in first ? Buffer.from(first.lit) : undefined;
  const numericStart = !firstLit && (first as { ph: Placeholder }).ph !== 'currentTime';
  return {
    pattern,
    quick(b, m, e) {
      if (firstLit) return startsWith(b, m, e, firstLit);
      return numericStart ? isDigit(b[m]) || b[m] === Byte.DASH : true;
    },
    match(b, m, e) {
      const text = b.toString('utf8', m, e);
      const r = rx.exec(text);
      if (!r?.indices) return undefined;
      const got: Partial<Record<Placeholder, { v: string; at: number }>> = {};
      names.forEach((n, k) => {
        const v = r[k + 1];
        const at = r.indices![k + 1];
        if (v !== undefined && at && got[n] === undefined) got[n] = { v, at: at[0] };
      });
      // Prefer the text with placeholders for the shape and the text with values for the example.
      const withQ = got.effectiveSql ?? got.effectiveSqlSingleLine;
      const withValues = got.sql ?? got.sqlSingleLine;
      const sqlAt = Math.min(...[withQ, withValues].filter((x) => x !== undefined).map((x) => x!.at));
      const shape = withQ?.v.trim() ? withQ.v : withValues?.v ?? '';
      if (shape.trim() === '' && !allowEmpty) return undefined;
      const prefixEnd = m + Buffer.byteLength(text.slice(0, sqlAt));
      let extra = '';
      if (got.executionTime && got.executionTime.at > sqlAt) extra += `,"elapsed_ms":${Number(got.executionTime.v)}`;
      if (got.category && got.category.at > sqlAt) extra += `,"category":${JSON.stringify(got.category.v)}`;
      return {
        kind: 'custom',
        prefixEnd,
        sqlStart: prefixEnd,
        sqlEnd: e,
        multiline,
        shapeSql: shape,
        exampleSql: withValues?.v.trim() ? withValues.v : shape,
        extra,
        thread: '',
      };
    },
  };
}

function compileHeaderFormat(pattern: string, header: string): CustomFormat {
  if (/%\((sql|sqlSingleLine|effectiveSql|effectiveSqlSingleLine)\)/.test(header)) throw new Error('the header line before the newline must not contain SQL');
  const head = compileCustomFormat(`${header}%(sqlSingleLine)`, true);
  return {
    pattern,
    quick: head.quick,
    match(b, m, e) {
      const r = head.match(b, m, e);
      // The header line is kept whole; the SQL is on the next lines.
      if (!r) return undefined;
      return { kind: 'custom', prefixEnd: e, sqlStart: e, sqlEnd: e, multiline: true, extra: r.extra, thread: '', lead: ' ' };
    },
  };
}
