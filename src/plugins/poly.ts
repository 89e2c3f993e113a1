/**
 * Sparse multivariate polynomials with exact rational coefficients, and rational functions
 * (num/den) built from the expression tree of ./expr.ts — the algebra under the equation solver.
 * Deliberately small: no factorisation, no Gröbner bases; non-polynomial terms are refused.
 */
import type { Node } from './expr.js';
import * as R from './rational.js';
import { PluginError } from './types.js';

/** Monomial key: `x^2*y` as "x:2,y:1" (variables sorted); "" is the constant monomial. */
export type Poly = Map<string, R.Q>;

const MAX_TERMS = 2000;
const MAX_DEGREE = 64;

export function constant(c: R.Q): Poly {
  return R.isZero(c) ? new Map() : new Map([['', c]]);
}
export function variable(name: string): Poly {
  return new Map([[`${name}:1`, R.ONE]]);
}

function parseKey(key: string): Map<string, number> {
  const m = new Map<string, number>();
  if (key) for (const part of key.split(',')) { const [v, e] = part.split(':'); m.set(v, Number(e)); }
  return m;
}
function makeKey(m: Map<string, number>): string {
  return [...m].filter(([, e]) => e > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([v, e]) => `${v}:${e}`).join(',');
}

/** Bits of one coefficient's numerator plus denominator at most: beyond it a double cannot hold the value anyway. */
const MAX_COEFF_BITS = 4096;

function addTo(p: Poly, key: string, c: R.Q): void {
  const s = R.add(p.get(key) ?? R.ZERO, c);
  if (R.bits(s.n) + R.bits(s.d) > MAX_COEFF_BITS) throw new PluginError('too-large', `a coefficient exceeds ${MAX_COEFF_BITS} bits`);
  if (R.isZero(s)) p.delete(key); else p.set(key, s);
  if (p.size > MAX_TERMS) throw new PluginError('too-large', 'polynomial too large');
}

export function add(a: Poly, b: Poly, sign = 1): Poly {
  const r = new Map(a);
  for (const [k, c] of b) addTo(r, k, sign < 0 ? R.neg(c) : c);
  return r;
}
export function mul(a: Poly, b: Poly): Poly {
  const r: Poly = new Map();
  for (const [ka, ca] of a) for (const [kb, cb] of b) {
    const m = parseKey(ka);
    for (const [v, e] of parseKey(kb)) m.set(v, (m.get(v) ?? 0) + e);
    if ([...m.values()].some((e) => e > MAX_DEGREE)) throw new PluginError('too-large', 'degree too high');
    addTo(r, makeKey(m), R.mul(ca, cb));
  }
  return r;
}
export function scale(a: Poly, c: R.Q): Poly {
  return mul(a, constant(c));
}
/** The constant value of a polynomial without variables, or undefined. */
export function asConstant(p: Poly): R.Q | undefined {
  if (p.size === 0) return R.ZERO;
  return p.size === 1 && p.has('') ? p.get('')! : undefined;
}
export function variables(p: Poly): Set<string> {
  const s = new Set<string>();
  for (const k of p.keys()) for (const v of parseKey(k).keys()) s.add(v);
  return s;
}
/** Total degree of `p` in `v`. */
export function degreeIn(p: Poly, v: string): number {
  let d = 0;
  for (const k of p.keys()) d = Math.max(d, parseKey(k).get(v) ?? 0);
  return d;
}
/** Largest total degree of any monomial. */
export function totalDegree(p: Poly): number {
  let d = 0;
  for (const k of p.keys()) d = Math.max(d, [...parseKey(k).values()].reduce((s, e) => s + e, 0));
  return d;
}
/** Coefficient of v^1 in a linear polynomial (key "v:1"). */
export function linearCoeff(p: Poly, v: string): R.Q {
  return p.get(`${v}:1`) ?? R.ZERO;
}
/** Dense coefficients [c0, c1, ...] of a polynomial in one variable. */
export function dense(p: Poly, v: string): R.Q[] {
  const out: R.Q[] = new Array(degreeIn(p, v) + 1).fill(R.ZERO);
  for (const [k, c] of p) out[parseKey(k).get(v) ?? 0] = c;
  return out;
}

/** A rational function num/den. */
export interface Frac { readonly num: Poly; readonly den: Poly; readonly float: boolean }

/** Known constants and exact-root functions the solver accepts inside equations. */
export interface FracEnv {
  /** Approximates a constant/function value as a rational (marks the result float). */
  readonly constant: (name: string) => number | undefined;
  readonly isFunction: (name: string) => boolean;
  readonly callConstant: (fn: string, args: number[]) => number | undefined;
}

function fromNumber(x: number): R.Q {
  if (!Number.isFinite(x)) throw new PluginError('no-result', 'not a finite number');
  return R.fromDecimal(x.toExponential(16).replace(/e\+?/, 'e'));
}

/** Converts an expression tree to a rational function; names not in `env` are unknowns. */
export function toFrac(n: Node, env: FracEnv): Frac {
  switch (n.t) {
    case 'num': return { num: constant(n.v), den: constant(R.ONE), float: n.float };
    case 'name': {
      const c = env.constant(n.id);
      if (c !== undefined) return { num: constant(fromNumber(c)), den: constant(R.ONE), float: true };
      return { num: variable(n.id), den: constant(R.ONE), float: false };
    }
    case 'neg': { const x = toFrac(n.x, env); return { ...x, num: scale(x.num, R.q(-1n)) }; }
    case 'post': {
      if (n.op !== '%') throw new PluginError('unsupported', 'factorial in an equation');
      const x = toFrac(n.x, env);
      return { ...x, den: scale(x.den, R.q(100n)) };
    }
    case 'call': {
      const args = n.args.map((a) => toFrac(a, env));
      const vals = args.map((a) => { const c = asConstant(a.num); const d = asConstant(a.den); return c && d ? R.div(c, d) : undefined; });
      if (vals.some((v) => v === undefined)) throw new PluginError('unsupported', `${n.fn}() of an unknown`);
      const qs = vals as R.Q[];
      if (n.fn === 'sqrt' && qs.length === 1 && qs[0].n >= 0n) {
        const a = R.exactRoot(qs[0].n, 2); const b = R.exactRoot(qs[0].d, 2);
        if (a !== undefined && b !== undefined) return { num: constant(R.q(a, b)), den: constant(R.ONE), float: args[0].float };
      }
      const x = env.callConstant(n.fn, qs.map(R.toNumber));
      if (x === undefined) throw new PluginError('unsupported', `unknown function ${n.fn}`);
      return { num: constant(fromNumber(x)), den: constant(R.ONE), float: true };
    }
    case 'bin': {
      const a = toFrac(n.a, env);
      const b = toFrac(n.b, env);
      const float = a.float || b.float;
      switch (n.op) {
        case '+': return { num: add(mul(a.num, b.den), mul(b.num, a.den)), den: mul(a.den, b.den), float };
        case '-': return { num: add(mul(a.num, b.den), mul(b.num, a.den), -1), den: mul(a.den, b.den), float };
        case '*': return { num: mul(a.num, b.num), den: mul(a.den, b.den), float };
        case '/': {
          if (b.num.size === 0) throw new PluginError('no-result', 'division by zero');
          return { num: mul(a.num, b.den), den: mul(a.den, b.num), float };
        }
        case '^': {
          const e = asConstant(b.num); const ed = asConstant(b.den);
          const ex = e && ed ? R.div(e, ed) : undefined;
          if (!ex || !R.isInt(ex) || ex.n < -MAX_DEGREE || ex.n > BigInt(MAX_DEGREE)) throw new PluginError('unsupported', 'non-integer power of an unknown');
          let num: Poly = constant(R.ONE); let den: Poly = constant(R.ONE);
          for (let i = 0n; i < (ex.n < 0n ? -ex.n : ex.n); i++) { num = mul(num, a.num); den = mul(den, a.den); }
          return ex.n < 0n ? { num: den, den: num, float: float || true } : { num, den, float };
        }
        default: throw new PluginError('unsupported', `${n.op} in an equation`);
      }
    }
  }
}
