/**
 * A reader for the subset of the Alloy configuration syntax that promtail/alloy/imom.alloy uses:
 * blocks (`name "label" { ... }`), attributes (`key = value`), strings ("..." and `raw`),
 * numbers, lists, objects, and any other expression kept as its source text. No Alloy parser
 * exists on this network (see promtail-alloy.test.ts), so this one matches braces itself; it
 * throws on anything it does not understand rather than guess.
 */

/** An expression that is not a literal (`coalesce(sys.env("X"), "d")`), as its source with whitespace collapsed. */
export interface AlloyExpr { readonly expr: string }
export type AlloyValue = string | number | boolean | AlloyExpr | readonly AlloyValue[] | { readonly [key: string]: AlloyValue };

export interface AlloyBlock {
  readonly name: string;
  readonly label: string | undefined;
  readonly attrs: Readonly<Record<string, AlloyValue>>;
  readonly blocks: readonly AlloyBlock[];
  readonly line: number;
}

interface Token { readonly kind: 'ident' | 'string' | 'number' | 'punct'; readonly text: string; readonly value: string; readonly line: number; readonly start: number; readonly end: number }

const IDENT = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER = /-?\d+(?:\.\d+)?/y;
const PUNCT = /==|!=|<=|>=|&&|\|\||[{}[\]()=,+\-*/%<>!.:]/y;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const at = (re: RegExp) => { re.lastIndex = i; return re.exec(src)?.[0]; };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith('//', i)) { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`alloy:${line}: unterminated /* comment`);
      line += src.slice(i, end).split('\n').length - 1;
      i = end + 2;
      continue;
    }
    const start = i;
    if (c === '"') {
      let value = '';
      for (i++; src[i] !== '"'; i++) {
        if (i >= src.length || src[i] === '\n') throw new Error(`alloy:${line}: unterminated string`);
        if (src[i] === '\\') {
          const e = src[++i]!;
          value += ({ n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' } as Record<string, string>)[e] ?? (() => { throw new Error(`alloy:${line}: unsupported escape \\${e}`); })();
        } else value += src[i];
      }
      i++;
      out.push({ kind: 'string', text: src.slice(start, i), value, line, start, end: i });
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new Error(`alloy:${line}: unterminated raw string`);
      const value = src.slice(i + 1, end);
      i = end + 1;
      out.push({ kind: 'string', text: src.slice(start, i), value, line, start, end: i });
      line += value.split('\n').length - 1;
      continue;
    }
    for (const [kind, re] of [['ident', IDENT], ['number', NUMBER], ['punct', PUNCT]] as const) {
      const m = at(re);
      if (m) {
        i += m.length;
        out.push({ kind, text: m, value: m, line, start, end: i });
        break;
      }
    }
    if (i === start) throw new Error(`alloy:${line}: unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

const OPEN: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

class Reader {
  private pos = 0;
  constructor(private readonly src: string, private readonly toks: Token[]) {}

  private peek(k = 0): Token | undefined { return this.toks[this.pos + k]; }
  private next(): Token {
    const t = this.toks[this.pos++];
    if (!t) throw new Error('alloy: unexpected end of file');
    return t;
  }
  private expect(text: string): Token {
    const t = this.next();
    if (t.text !== text) throw new Error(`alloy:${t.line}: expected ${text}, got ${t.text}`);
    return t;
  }

  /** Statements until `}` (inside a block) or the end of the file (at the top). */
  body(inBlock: boolean): { attrs: Record<string, AlloyValue>; blocks: AlloyBlock[] } {
    const attrs: Record<string, AlloyValue> = {};
    const blocks: AlloyBlock[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) {
        if (inBlock) throw new Error('alloy: a block is not closed');
        return { attrs, blocks };
      }
      if (t.text === '}' && inBlock) { this.pos++; return { attrs, blocks }; }
      const name = this.next();
      if (name.kind !== 'ident') throw new Error(`alloy:${name.line}: expected a block or attribute name, got ${name.text}`);
      if (this.peek()?.text === '=') {
        this.pos++;
        if (name.text in attrs) throw new Error(`alloy:${name.line}: attribute ${name.text} set twice`);
        attrs[name.text] = this.value();
        const after = this.peek();
        if (after && after.line === this.toks[this.pos - 1]!.line && after.text !== '}') throw new Error(`alloy:${after.line}: unexpected ${after.text} after ${name.text}`);
        continue;
      }
      let label: string | undefined;
      if (this.peek()?.kind === 'string') label = this.next().value;
      this.expect('{');
      const inner = this.body(true);
      blocks.push({ name: name.text, label, line: name.line, ...inner });
    }
  }

  /** One value: a literal, a list, an object, or an expression up to `,`, a closer or the end of its line. */
  private value(): AlloyValue {
    const first = this.peek();
    if (!first) throw new Error('alloy: a value is missing at the end of the file');
    if (first.text === '[') return this.list();
    if (first.text === '{') return this.object();
    const startPos = this.pos;
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (!t) break;
      if (depth === 0 && (t.text === ',' || t.text === '}' || t.text === ']' || t.text === ')')) break;
      if (this.pos > startPos && depth === 0 && t.line !== this.toks[this.pos - 1]!.line) break;
      if (t.text in OPEN) depth++;
      else if (t.text === '}' || t.text === ']' || t.text === ')') depth--;
      this.pos++;
    }
    const used = this.toks.slice(startPos, this.pos);
    if (used.length === 0) throw new Error(`alloy:${first.line}: a value is missing`);
    if (used.length === 1 && used[0]!.kind === 'string') return used[0]!.value;
    if (used.length === 1 && used[0]!.kind === 'number') return Number(used[0]!.text);
    if (used.length === 1 && (used[0]!.text === 'true' || used[0]!.text === 'false')) return used[0]!.text === 'true';
    return { expr: this.src.slice(used[0]!.start, used.at(-1)!.end).replace(/\s+/g, ' ') };
  }

  private list(): AlloyValue[] {
    this.expect('[');
    const out: AlloyValue[] = [];
    while (this.peek()?.text !== ']') {
      out.push(this.value());
      if (this.peek()?.text === ',') this.pos++;
      else if (this.peek()?.text !== ']') throw new Error(`alloy:${this.peek()?.line}: expected , or ] in a list`);
    }
    this.pos++;
    return out;
  }

  private object(): Record<string, AlloyValue> {
    this.expect('{');
    const out: Record<string, AlloyValue> = {};
    while (this.peek()?.text !== '}') {
      const key = this.next();
      if (key.kind !== 'ident' && key.kind !== 'string') throw new Error(`alloy:${key.line}: expected an object key, got ${key.text}`);
      this.expect('=');
      if (key.value in out) throw new Error(`alloy:${key.line}: key ${key.value} given twice`);
      out[key.value] = this.value();
      if (this.peek()?.text === ',') this.pos++;
      else if (this.peek()?.text !== '}') throw new Error(`alloy:${this.peek()?.line}: expected , or } in an object`);
    }
    this.pos++;
    return out;
  }
}

/** The top-level blocks of an Alloy file (a top-level attribute is an error: Alloy has none). */
export function readAlloy(src: string): AlloyBlock[] {
  const top = new Reader(src, tokenize(src)).body(false);
  const stray = Object.keys(top.attrs);
  if (stray.length) throw new Error(`alloy: attributes outside any block: ${stray.join(', ')}`);
  return top.blocks;
}

/** The one block `name "label"` among `blocks`; throws when there is none or more than one. */
export function theBlock(blocks: readonly AlloyBlock[], name: string, label?: string): AlloyBlock {
  const found = blocks.filter((b) => b.name === name && b.label === label);
  if (found.length !== 1) throw new Error(`${found.length} blocks ${name}${label === undefined ? '' : ` "${label}"`} (expected 1)`);
  return found[0]!;
}
