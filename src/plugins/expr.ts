/**
 * The arithmetic expression parser shared by the calculator and the equation solver.
 * Grammar follows Python's operator precedence (what MOSS's recorded calculator evaluated), plus
 * `^` as power, postfix `!` (factorial) and `%` (percent, when not followed by an operand),
 * implicit multiplication (`2x`, `3(4+5)`, `(a)(b)`), `[ ]` as brackets and a few Unicode
 * operators (× ÷ − （ ）). It builds a tree and never evaluates text: no eval, no property
 * access, no strings — `constructor.constructor(...)` is a syntax error here.
 */
import { fromDecimal, q, type Q } from './rational.js';
import { MAX_ARG_CHARS, PluginError } from './types.js';

export type Node =
  | { readonly t: 'num'; readonly v: Q; readonly float: boolean }
  | { readonly t: 'name'; readonly id: string }
  | { readonly t: 'call'; readonly fn: string; readonly args: readonly Node[] }
  | { readonly t: 'neg'; readonly x: Node }
  | { readonly t: 'bin'; readonly op: '+' | '-' | '*' | '/' | '//' | '%' | '^'; readonly a: Node; readonly b: Node }
  | { readonly t: 'post'; readonly op: '!' | '%'; readonly x: Node };

type Tok = { k: 'num'; v: Q; float: boolean } | { k: 'id'; s: string } | { k: 'op'; s: string };

const MAX_DEPTH = 120;
const UNICODE: Record<string, string> = { '×': '*', '÷': '/', '−': '-', '（': '(', '）': ')', '，': ',', '＋': '+', '＝': '=', 'π': 'pi' };

/** Splits `src` into tokens; throws PluginError('invalid') on any other character. */
export function lex(src: string): Tok[] {
  if (src.length > MAX_ARG_CHARS) throw new PluginError('too-large', `input longer than ${MAX_ARG_CHARS} characters`);
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = UNICODE[src[i]] ?? src[i];
    if (/\s/.test(c)) { i++; continue; }
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^0([bBxXoO])([0-9a-fA-F_]+)/.exec(rest))) {
      const base = { b: 2, x: 16, o: 8 }[m[1].toLowerCase() as 'b' | 'x' | 'o'];
      const digits = m[2]!.replace(/_/g, '');
      const ok = (base === 2 ? /^[01]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(digits);
      if (!ok) throw new PluginError('invalid', `bad base-${base} literal`);
      out.push({ k: 'num', v: q(BigInt(`0${m[1].toLowerCase()}${digits}`)), float: false });
      i += m[0].length;
    } else if ((m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest))) {
      if (m[0].length > 400) throw new PluginError('too-large', 'number literal too long');
      const isFloat = /[.eE]/.test(m[0]);
      try {
        out.push({ k: 'num', v: fromDecimal(m[0]), float: isFloat });
      } catch {
        throw new PluginError('too-large', `number ${m[0].slice(0, 20)} out of range`);
      }
      i += m[0].length;
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
      out.push({ k: 'id', s: m[0] });
      i += m[0].length;
    } else if (c === 'π') {
      out.push({ k: 'id', s: 'pi' });
      i++;
    } else if ((m = /^(\*\*|\/\/)/.exec(rest))) {
      out.push({ k: 'op', s: m[0] === '**' ? '^' : '//' });
      i += 2;
    } else if ('+-*/%^()[],!='.includes(c)) {
      out.push({ k: 'op', s: c === '[' ? '(' : c === ']' ? ')' : c });
      i++;
    } else {
      throw new PluginError('invalid', `unexpected character ${JSON.stringify(src[i])}`);
    }
  }
  return out;
}

/** Options: which names are functions (called with parentheses). */
export interface ParseOptions {
  readonly functions: ReadonlySet<string>;
}

/** Parses one expression (the whole token list must be consumed). */
export function parseTokens(toks: readonly Tok[], opts: ParseOptions): Node {
  let pos = 0;
  let depth = 0;
  const peek = (): Tok | undefined => toks[pos];
  const isOp = (s: string): boolean => toks[pos]?.k === 'op' && (toks[pos] as { s: string }).s === s;
  const expect = (s: string): void => {
    if (!isOp(s)) throw new PluginError('invalid', `expected ${s}`);
    pos++;
  };
  const startsOperand = (t: Tok | undefined): boolean => !!t && (t.k !== 'op' || t.s === '(');

  function enter(): void {
    if (++depth > MAX_DEPTH) throw new PluginError('too-large', 'expression nested too deeply');
  }

  // expr := term (('+'|'-') term)*
  function expr(): Node {
    enter();
    let a = term();
    while (isOp('+') || isOp('-')) {
      const op = (toks[pos++] as { s: '+' | '-' }).s;
      a = { t: 'bin', op, a, b: term() };
    }
    depth--;
    return a;
  }
  // term := unary (('*'|'/'|'//'|'%') unary | <implicit> power)*
  function term(): Node {
    let a = unary();
    for (;;) {
      const t = peek();
      if (t?.k === 'op' && (t.s === '*' || t.s === '/' || t.s === '//' || t.s === '%')) {
        pos++;
        a = { t: 'bin', op: t.s, a, b: unary() };
      } else if (t && (t.k === 'id' || (t.k === 'op' && t.s === '('))) {
        // Implicit multiplication: `2x`, `3(4+5)`, `(a)(b)`; never `2 3`.
        a = { t: 'bin', op: '*', a, b: power() };
      } else return a;
    }
  }
  // unary := ('-'|'+') unary | power
  function unary(): Node {
    if (isOp('-')) { pos++; enter(); const x = unary(); depth--; return { t: 'neg', x }; }
    if (isOp('+')) { pos++; enter(); const x = unary(); depth--; return x; }
    return power();
  }
  // power := postfix ('^' unary)?   (right-associative, Python: 2**-1 and -2**2 == -4)
  function power(): Node {
    const a = postfix();
    if (isOp('^')) { pos++; enter(); const b = unary(); depth--; return { t: 'bin', op: '^', a, b }; }
    return a;
  }
  function postfix(): Node {
    let x = primary();
    for (;;) {
      if (isOp('!')) { pos++; x = { t: 'post', op: '!', x }; continue; }
      // `%` is percent unless an operand follows (then it is Python's modulo, handled in term).
      if (isOp('%') && !startsOperand(toks[pos + 1])) { pos++; x = { t: 'post', op: '%', x }; continue; }
      return x;
    }
  }
  function primary(): Node {
    const t = toks[pos++];
    if (!t) throw new PluginError('invalid', 'unexpected end of expression');
    if (t.k === 'num') return { t: 'num', v: t.v, float: t.float };
    if (t.k === 'id') {
      if (opts.functions.has(t.s) && isOp('(')) {
        pos++;
        enter();
        const args: Node[] = [];
        if (!isOp(')')) {
          args.push(expr());
          while (isOp(',')) { pos++; args.push(expr()); }
        }
        expect(')');
        depth--;
        return { t: 'call', fn: t.s, args };
      }
      return { t: 'name', id: t.s };
    }
    if (t.s === '(') {
      enter();
      const x = expr();
      expect(')');
      depth--;
      return x;
    }
    throw new PluginError('invalid', `unexpected ${t.s}`);
  }

  const node = expr();
  if (pos !== toks.length) {
    const t = toks[pos];
    throw new PluginError('invalid', `unexpected ${t.k === 'num' ? 'number' : t.s}`);
  }
  return node;
}

/** Lexes and parses one expression. */
export function parse(src: string, opts: ParseOptions): Node {
  return parseTokens(lex(src), opts);
}
