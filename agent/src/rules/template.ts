/**
 * The subset of Go's text/template that Prometheus/Loki rule labels and annotations use:
 *   {{ $labels.name }}  {{ .Labels.name }}  {{ $value }}  {{ .Value }}  {{ $externalLabels.x }}
 *   {{ printf "%.0f" $value }}  {{ $value | printf "%.2f" }}  {{ humanize $value }}
 * Anything else is an error, so a test never silently compares against a wrong rendering.
 */
export interface TemplateData {
  labels: Record<string, string>;
  value: number;
  externalLabels?: Record<string, string>;
}

export class TemplateError extends Error {}

export function expandTemplate(text: string, data: TemplateData): string {
  let out = '';
  for (const part of splitActions(text)) out += typeof part === 'string' ? part : String(evalPipeline(part.body, data));
  return out;
}

/** Go's text/template whitespace for trim markers: space, tab, carriage return, newline (not Unicode spaces). */
const TRIM_SPACE = ' \t\r\n';
const isTrimSpace = (c: string | undefined): boolean => c !== undefined && c !== '' && TRIM_SPACE.includes(c);

/**
 * The text split into literal text and actions, trim markers applied as Go's lexer does:
 * "{{- " drops every space, tab and newline that ends the text before it, " -}}" every one
 * that starts the text after it. The marker needs that space: "{{-3}}" is the number -3.
 */
function splitActions(text: string): (string | { body: string })[] {
  const parts: (string | { body: string })[] = [];
  let trimNext = false;
  let i = 0;
  for (;;) {
    const open = text.indexOf('{{', i);
    let literal = text.slice(i, open < 0 ? undefined : open);
    if (trimNext) literal = literal.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      parts.push(literal);
      return parts;
    }
    let start = open + 2;
    const trimBefore = text[start] === '-' && isTrimSpace(text[start + 1]);
    if (trimBefore) start += 2;
    const close = actionEnd(text, start);
    if (close < 0) {
      // Not an action: kept as text, as before (Loki refuses such a rule file when it loads it).
      parts.push(literal + text.slice(open));
      return parts;
    }
    parts.push(trimBefore ? literal.replace(/[ \t\r\n]+$/, '') : literal);
    let end = close;
    trimNext = text[close - 1] === '-' && isTrimSpace(text[close - 2]) && close - 2 >= start;
    if (trimNext) end = close - 2;
    parts.push({ body: text.slice(start, end).trim() });
    i = close + 2;
  }
}

/** Where the action that starts at `from` ends ("}}" outside quotes), or -1. */
function actionEnd(text: string, from: number): number {
  let q: string | undefined;
  for (let i = from; i < text.length - 1; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '\\' && q !== '`') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === '`' || c === "'") q = c;
    else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

type Val = string | number;

function evalPipeline(body: string, data: TemplateData): Val {
  const stages = splitPipes(body);
  let v: Val | undefined;
  for (const stage of stages) {
    const toks = tokenize(stage);
    if (toks.length === 0) throw new TemplateError(`empty template action in "{{ ${body} }}"`);
    const [head, ...args] = toks;
    if (toks.length === 1 && v === undefined && !isFunc(head!)) {
      v = operand(head!, data);
      continue;
    }
    const argv = args.map((a) => operand(a, data));
    if (v !== undefined) argv.push(v);
    v = callFunc(head!, argv, body);
  }
  return v ?? '';
}

function isFunc(name: string): boolean {
  return ['printf', 'humanize', 'toUpper', 'toLower', 'title'].includes(name);
}

function callFunc(name: string, args: Val[], body: string): Val {
  switch (name) {
    case 'printf': {
      const [fmt, ...rest] = args;
      return sprintf(String(fmt), rest);
    }
    case 'humanize':
      return humanize(Number(args[0]));
    case 'toUpper':
      return String(args[0]).toUpperCase();
    case 'toLower':
      return String(args[0]).toLowerCase();
    case 'title':
      return String(args[0]).replace(/\b\w/g, (c) => c.toUpperCase());
    default:
      throw new TemplateError(`unsupported template function "${name}" in "{{ ${body} }}"`);
  }
}

function operand(tok: string, data: TemplateData): Val {
  if (tok.startsWith('"')) return JSON.parse(tok) as string;
  if (tok.startsWith('`')) return tok.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(tok)) return Number(tok);
  if (tok === '$value' || tok === '.Value') return data.value;
  let m = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (m) return data.labels[m[1]!] ?? '';
  m = /^(?:\$externalLabels|\.ExternalLabels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (m) return data.externalLabels?.[m[1]!] ?? '';
  throw new TemplateError(`unsupported template operand "${tok}"`);
}

function splitPipes(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      cur += c;
      if (c === '\\' && q === '"') { cur += s[++i] ?? ''; continue; }
      if (c === q) q = undefined;
    } else if (c === '"' || c === '`') { q = c; cur += c; }
    else if (c === '|') { out.push(cur.trim()); cur = ''; }
    else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function tokenize(s: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|`[^`]*`|\S+/g;
  return s.match(re) ?? [];
}

/** Go's fmt: %s %v %d %f %.Nf %g %q and %%. */
function sprintf(fmt: string, args: Val[]): string {
  let i = 0;
  return fmt.replace(/%(-?\d*)(?:\.(\d+))?([sdvfgq%])/g, (_w, _width: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    switch (verb) {
      case 'd': return String(Math.trunc(Number(a)));
      case 'f': return Number(a).toFixed(prec === undefined ? 6 : Number(prec));
      case 'g': return prec === undefined ? goFloat(Number(a)) : Number(Number(a).toPrecision(Number(prec))).toString();
      case 'q': return JSON.stringify(String(a));
      default: return typeof a === 'number' ? goFloat(a) : String(a ?? '');
    }
  });
}

/** fmt.Sprint(float64): shortest representation, exponent form outside [1e-4, 1e6) as Go prints it. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const [mant, expS] = v.toExponential().split('e') as [string, string];
  const exp = Number(expS);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

/** Prometheus' humanize: 1234 → "1.234k". */
function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goFloat(v);
  const abs = Math.abs(v);
  if (abs >= 1) {
    const units = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    let x = v;
    while (Math.abs(x) >= 1000 && i < units.length - 1) { x /= 1000; i++; }
    return `${Number(x.toPrecision(4))}${units[i]}`;
  }
  const units = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  let x = v;
  while (Math.abs(x) < 1 && i < units.length - 1) { x *= 1000; i++; }
  return `${Number(x.toPrecision(4))}${units[i]}`;
}
