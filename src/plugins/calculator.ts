/**
 * Calculator plugin — `Calculate("expression")`. Evaluates the tree from ./expr.ts exactly over
 * BigInt rationals where possible (integers of any size, fractions, perfect roots), falling back to
 * doubles for transcendental functions. Results print as MOSS's recorded (Python) calculator did:
 * integer arithmetic prints as an integer (`'36'`), anything involving `/`, a decimal or a float
 * function prints as Python's float repr (`'1200.0'`, `'20.25'`) — but computed exactly first, so
 * `29-24.7` gives `4.3`, not `4.300000000000001`. Deliberately no variables, strings or code.
 */
import { parse, type Node } from './expr.js';
import { pyRepr } from './pyfloat.js';
import * as R from './rational.js';
import { deadline, PluginError, type Plugin, type PluginResult, type RunOptions } from './types.js';

/** An exact rational (`q`) or an approximate double (`x`); `float` = Python would print a float. */
interface Val {
  readonly q?: R.Q;
  readonly x: number;
  readonly float: boolean;
}

const MAX_BITS = 40_000; // ~12k decimal digits: bigger exact results fall back to doubles
const MAX_FACTORIAL = 3000;
const MAX_OUT_DIGITS = 1000;

const qBits = (q: R.Q): number => R.bits(q.n) + R.bits(q.d);
const exact = (q: R.Q, float: boolean): Val => ({ q, x: R.toNumber(q), float });
const approx = (x: number): Val => {
  if (Number.isNaN(x)) throw new PluginError('no-result', 'math domain error');
  if (!Number.isFinite(x)) throw new PluginError('too-large', 'numerical result out of range');
  return { x, float: true };
};

type Fn = (args: Val[]) => Val;
const f1 = (g: (x: number) => number): Fn => (a) => {
  if (a.length !== 1) throw new PluginError('invalid', 'expected one argument');
  return approx(g(a[0].x));
};

function toInt(v: Val, what: string): bigint {
  if (!v.q || !R.isInt(v.q)) {
    if (Number.isInteger(v.x) && Math.abs(v.x) < 2 ** 53) return BigInt(v.x);
    throw new PluginError('no-result', `${what} needs an integer`);
  }
  return v.q.n;
}

function factorial(v: Val): Val {
  const n = toInt(v, 'factorial');
  if (n < 0n) throw new PluginError('no-result', 'factorial of a negative number');
  if (n > BigInt(MAX_FACTORIAL)) throw new PluginError('too-large', `factorial above ${MAX_FACTORIAL}`);
  let r = 1n;
  for (let i = 2n; i <= n; i++) r *= i;
  return exact(R.q(r), v.float);
}

function sqrt(a: Val[]): Val {
  const v = a[0];
  if (a.length !== 1) throw new PluginError('invalid', 'sqrt takes one argument');
  if (v.x < 0) throw new PluginError('no-result', 'math domain error');
  return root(v, 2) ?? approx(Math.sqrt(v.x));
}

/** Exact k-th root of a rational when numerator and denominator are perfect powers. */
function root(v: Val, k: number): Val | undefined {
  if (!v.q || v.q.n < 0n) return undefined;
  const n = R.exactRoot(v.q.n, k);
  const d = R.exactRoot(v.q.d, k);
  return n !== undefined && d !== undefined ? exact(R.q(n, d), true) : undefined;
}

function log(a: Val[]): Val {
  if (a.length === 2) return approx(Math.log(a[0].x) / Math.log(a[1].x));
  return f1(Math.log)(a);
}

const deg = Math.PI / 180;
/** Functions by name; a Map so that `constructor` or `__proto__` are just unknown names. */
const FUNCTIONS = new Map<string, Fn>([
  ['sqrt', sqrt],
  ['cbrt', (a) => root(a[0], 3) ?? approx(Math.cbrt(a[0].x))],
  ['exp', f1(Math.exp)], ['ln', f1(Math.log)], ['log', log], ['log10', f1(Math.log10)], ['log2', f1(Math.log2)],
  ['sin', f1(Math.sin)], ['cos', f1(Math.cos)], ['tan', f1(Math.tan)],
  ['asin', f1(Math.asin)], ['acos', f1(Math.acos)], ['atan', f1(Math.atan)],
  ['arcsin', f1(Math.asin)], ['arccos', f1(Math.acos)], ['arctan', f1(Math.atan)],
  ['sinh', f1(Math.sinh)], ['cosh', f1(Math.cosh)], ['tanh', f1(Math.tanh)],
  ['sind', f1((x) => Math.sin(x * deg))], ['cosd', f1((x) => Math.cos(x * deg))], ['tand', f1((x) => Math.tan(x * deg))],
  ['degrees', f1((x) => x / deg)], ['radians', f1((x) => x * deg)],
  ['atan2', (a) => approx(Math.atan2(a[0].x, a[1].x))],
  ['abs', (a) => (a[0].q ? exact(a[0].q.n < 0n ? R.neg(a[0].q) : a[0].q, a[0].float) : approx(Math.abs(a[0].x)))],
  ['floor', (a) => (a[0].q ? exact(R.floorDiv(a[0].q, R.ONE), false) : approx(Math.floor(a[0].x)))],
  ['ceil', (a) => (a[0].q ? exact(R.neg(R.floorDiv(R.neg(a[0].q), R.ONE)), false) : approx(Math.ceil(a[0].x)))],
  ['round', (a) => approx(a.length > 1 ? Math.round(a[0].x * 10 ** a[1].x) / 10 ** a[1].x : Math.round(a[0].x))],
  ['factorial', (a) => factorial(a[0])], ['fact', (a) => factorial(a[0])],
  ['pow', (a) => power(a[0], a[1])],
  ['max', (a) => a.reduce((m, v) => (v.x > m.x ? v : m))], ['min', (a) => a.reduce((m, v) => (v.x < m.x ? v : m))],
  ['gcd', (a) => { let g = 0n; for (const v of a) { let x = toInt(v, 'gcd'); if (x < 0n) x = -x; while (x) [g, x] = [x, g % x]; } return exact(R.q(g), false); }],
  ['comb', (a) => comb(toInt(a[0], 'comb'), toInt(a[1], 'comb'), false)],
  ['perm', (a) => comb(toInt(a[0], 'perm'), toInt(a[1], 'perm'), true)],
]);
const CONSTANTS = new Map<string, number>([['pi', Math.PI], ['e', Math.E], ['tau', 2 * Math.PI], ['PI', Math.PI], ['E', Math.E]]);
export const CALC_FUNCTION_NAMES: ReadonlySet<string> = new Set(FUNCTIONS.keys());

function comb(n: bigint, k: bigint, perm: boolean): Val {
  if (n < 0n || k < 0n || n > 100_000n) throw new PluginError('no-result', 'bad comb/perm arguments');
  if (k > n) return exact(R.ZERO, false);
  if (!perm && 2n * k > n) k = n - k;
  // the result's size, estimated in doubles before any BigInt work (like the factorial cap)
  let log2 = 0;
  for (let i = 0; i < Number(k); i++) log2 += Math.log2(Number(n) - i) - (perm ? 0 : Math.log2(i + 1));
  if (log2 > MAX_BITS) throw new PluginError('too-large', `${perm ? 'perm' : 'comb'} result above ${MAX_BITS} bits`);
  let r = 1n;
  for (let i = 0n; i < k; i++) r = perm ? r * (n - i) : (r * (n - i)) / (i + 1n);
  return exact(R.q(r), false);
}

function power(a: Val, b: Val): Val {
  if (a.q && b.q && R.isInt(b.q)) {
    const e = b.q.n;
    const size = (R.bits(a.q.n) + R.bits(a.q.d)) * Number(e < 0n ? -e : e);
    if (size <= MAX_BITS) {
      if (e < 0n && R.isZero(a.q)) throw new PluginError('no-result', 'zero to a negative power');
      const p = e < 0n ? R.q(a.q.d ** -e, a.q.n ** -e) : R.q(a.q.n ** e, a.q.d ** e);
      return exact(p, a.float || b.float || e < 0n);
    }
  }
  if (a.q && b.q && !R.isInt(b.q) && b.q.d <= 64n && a.q.n >= 0n) {
    const r = root(exact(a.q, true), Number(b.q.d));
    if (r?.q) return power(r, exact(R.q(b.q.n), true));
  }
  if (a.x < 0 && !Number.isInteger(b.x)) throw new PluginError('no-result', 'complex result');
  return approx(Math.pow(a.x, b.x));
}

function evaluate(node: Node, dl: { check(): void }): Val {
  dl.check();
  switch (node.t) {
    case 'num': return exact(node.v, node.float);
    case 'name': {
      const c = CONSTANTS.get(node.id);
      if (c === undefined) throw new PluginError('unsupported', `unknown name ${node.id}`);
      return approx(c);
    }
    case 'call': {
      const fn = FUNCTIONS.get(node.fn);
      if (!fn || node.args.length === 0) throw new PluginError('unsupported', `unknown function ${node.fn}`);
      return fn(node.args.map((a) => evaluate(a, dl)));
    }
    case 'neg': {
      const v = evaluate(node.x, dl);
      return v.q ? exact(R.neg(v.q), v.float) : approx(-v.x);
    }
    case 'post': {
      const v = evaluate(node.x, dl);
      if (node.op === '!') return factorial(v);
      return v.q ? exact(R.div(v.q, R.q(100n)), true) : approx(v.x / 100);
    }
    case 'bin': {
      const a = evaluate(node.a, dl);
      const b = evaluate(node.b, dl);
      if (node.op === '^') return power(a, b);
      const fl = a.float || b.float;
      if ((node.op === '/' || node.op === '//' || node.op === '%') && (b.q ? R.isZero(b.q) : b.x === 0)) {
        throw new PluginError('no-result', 'division by zero');
      }
      // exact only while the operands are small enough (result size cap); beyond, doubles
      if (a.q && b.q && qBits(a.q) + qBits(b.q) <= MAX_BITS) {
        switch (node.op) {
          case '+': return exact(R.add(a.q, b.q), fl);
          case '-': return exact(R.sub(a.q, b.q), fl);
          case '*': return exact(R.mul(a.q, b.q), fl);
          case '/': return exact(R.div(a.q, b.q), true);
          case '//': return exact(R.floorDiv(a.q, b.q), fl);
          case '%': return exact(R.sub(a.q, R.mul(R.floorDiv(a.q, b.q), b.q)), fl);
        }
      }
      const x = { '+': a.x + b.x, '-': a.x - b.x, '*': a.x * b.x, '/': a.x / b.x, '//': Math.floor(a.x / b.x), '%': a.x - Math.floor(a.x / b.x) * b.x }[node.op];
      return approx(x);
    }
  }
}

/** Formats a value as the recorded results do (without the surrounding quotes). */
function format(v: Val): string {
  if (v.q && !v.float && R.isInt(v.q)) {
    const s = v.q.n.toString();
    if (s.replace('-', '').length <= MAX_OUT_DIGITS) return s;
    const neg = s.startsWith('-');
    const d = s.replace('-', '');
    return `${neg ? '-' : ''}${d[0]}.${d.slice(1, 16)}e+${d.length - 1}`;
  }
  if (!Number.isFinite(v.x)) throw new PluginError('too-large', 'numerical result out of range');
  return pyRepr(v.x);
}

/** Evaluates an expression string to the printed result, e.g. `calculate("(18/4)^2") === "20.25"`. */
export function calculate(expr: string, opts: RunOptions = {}): string {
  const tree = parse(expr, { functions: CALC_FUNCTION_NAMES });
  return format(evaluate(tree, deadline(opts)));
}

/** The `Calculate` plugin. */
export const calculatorPlugin: Plugin = {
  name: 'Calculate',
  async run(args: string, opts?: RunOptions): Promise<PluginResult> {
    return { kind: 'value', text: calculate(args, opts) };
  },
};
