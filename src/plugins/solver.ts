/**
 * Equation solver plugin — `Solve("x+y=500;5x+8y=4000")`. Equations are separated by `;` or
 * top-level `,`; every unknown is a name that is not a known constant/function (`x`, `y`, `r`,
 * `total_water`). Linear systems are solved by exact rational Gaussian elimination; one unknown
 * of higher degree by ./roots.ts. Output follows MOSS's recorded (SymPy) results: one `x = 60` line
 * per unknown in name order, `x_0 = -6` / `x_1 = 4` for several roots, rationals as `160/3`,
 * 15-digit Floats when the input had decimals. Deliberately refuses (→ `No result.`) nonlinear
 * systems in several unknowns and under-determined or inconsistent systems.
 */
import { lex, parseTokens } from './expr.js';
import * as P from './poly.js';
import { sympyFloat } from './pyfloat.js';
import * as R from './rational.js';
import { polyRoots } from './roots.js';
import { deadline, PluginError, type Plugin, type PluginResult, type RunOptions } from './types.js';

const CONSTANTS = new Map<string, number>([['pi', Math.PI], ['e', Math.E], ['E', Math.E]]);
const FUNCS = new Map<string, (x: number[]) => number>([
  ['sqrt', (a) => Math.sqrt(a[0])], ['sin', (a) => Math.sin(a[0])], ['cos', (a) => Math.cos(a[0])], ['tan', (a) => Math.tan(a[0])],
  ['exp', (a) => Math.exp(a[0])], ['log', (a) => Math.log(a[0])], ['ln', (a) => Math.log(a[0])], ['abs', (a) => Math.abs(a[0])],
]);
const ENV: P.FracEnv = {
  constant: (n) => CONSTANTS.get(n),
  isFunction: (n) => FUNCS.has(n),
  callConstant: (fn, args) => FUNCS.get(fn)?.(args),
};
const FUNCTION_NAMES: ReadonlySet<string> = new Set(FUNCS.keys());

/** Splits the argument into equations: `;` always, `,` outside parentheses. */
function splitEquations(src: string): string[] {
  const out: string[] = [];
  let depth = 0; let cur = '';
  for (const ch of src) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ';' || ch === '；' || ((ch === ',' || ch === '，') && depth === 0)) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** One equation `lhs = rhs` as a polynomial `num = 0` (denominators cleared). */
function equation(src: string): { poly: P.Poly; float: boolean } {
  const toks = lex(src);
  const eq = toks.findIndex((t) => t.k === 'op' && t.s === '=');
  if (eq < 0 || toks.slice(eq + 1).some((t) => t.k === 'op' && t.s === '=')) throw new PluginError('invalid', `not an equation: ${src}`);
  const a = P.toFrac(parseTokens(toks.slice(0, eq), { functions: FUNCTION_NAMES }), ENV);
  const b = P.toFrac(parseTokens(toks.slice(eq + 1), { functions: FUNCTION_NAMES }), ENV);
  return { poly: P.add(P.mul(a.num, b.den), P.mul(b.num, a.den), -1), float: a.float || b.float };
}

function formatValue(v: R.Q, float: boolean): string {
  return float ? sympyFloat(R.toNumber(v)) : R.toFraction(v);
}

/** Exact Gaussian elimination; returns the unique solution or throws 'no-result'. */
function solveLinear(eqs: P.Poly[], vars: string[], check: () => void): R.Q[] {
  const rows = eqs.map((p) => [...vars.map((v) => P.linearCoeff(p, v)), R.neg(p.get('') ?? R.ZERO)]);
  const n = vars.length;
  let r = 0;
  for (let c = 0; c < n; c++) {
    check();
    const piv = rows.findIndex((row, i) => i >= r && !R.isZero(row[c]));
    if (piv < 0) throw new PluginError('no-result', 'the system has no unique solution');
    [rows[r], rows[piv]] = [rows[piv], rows[r]];
    const inv = R.div(R.ONE, rows[r][c]);
    rows[r] = rows[r].map((x) => R.mul(x, inv));
    for (let i = 0; i < rows.length; i++) {
      if (i === r || R.isZero(rows[i][c])) continue;
      const f = rows[i][c];
      rows[i] = rows[i].map((x, j) => R.sub(x, R.mul(f, rows[r][j])));
    }
    r++;
  }
  // Extra equations must reduce to 0 = 0, else the system is inconsistent.
  for (let i = r; i < rows.length; i++) if (!R.isZero(rows[i][n])) throw new PluginError('no-result', 'the system is inconsistent');
  return rows.slice(0, n).map((row) => row[n]);
}

/** Solves the equations; returns the result lines (`x = 60`, ...). */
export function solve(src: string, opts: RunOptions = {}): string[] {
  const dl = deadline(opts);
  if (opts.signal?.aborted) throw new PluginError('timeout', 'cancelled');
  const parts = splitEquations(src);
  if (parts.length === 0) throw new PluginError('invalid', 'no equation');
  const eqs = parts.map(equation);
  const float = eqs.some((e) => e.float);
  const polys = eqs.map((e) => e.poly).filter((p) => p.size > 0);
  const vars = [...new Set(polys.flatMap((p) => [...P.variables(p)]))].sort();
  if (vars.length === 0) throw new PluginError('no-result', 'no unknown to solve for');
  if (polys.every((p) => P.totalDegree(p) <= 1)) {
    const sol = solveLinear(polys, vars, dl.check);
    return vars.map((v, i) => `${v} = ${formatValue(sol[i], float)}`);
  }
  if (vars.length === 1) {
    const v = vars[0];
    // Several equations in one unknown: solve the first, keep roots that satisfy the others.
    const roots = polyRoots(P.dense(polys[0], v), float).filter((rt) =>
      polys.slice(1).every((p) => {
        const c = P.dense(p, v).map(R.toNumber);
        let [x, y] = [0, 0];
        for (let i = c.length - 1; i >= 0; i--) [x, y] = [x * rt.re - y * rt.im + c[i], x * rt.im + y * rt.re];
        return Math.hypot(x, y) < 1e-9 * Math.max(1, ...c.map(Math.abs));
      }));
    if (roots.length === 0) throw new PluginError('no-result', 'no solution');
    if (roots.length === 1) return [`${v} = ${roots[0].text}`];
    return roots.map((rt, i) => `${v}_${i} = ${rt.text}`);
  }
  throw new PluginError('unsupported', 'nonlinear systems in several unknowns are not supported');
}

/** The `Solve` plugin. */
export const solverPlugin: Plugin = {
  name: 'Solve',
  async run(args: string, opts?: RunOptions): Promise<PluginResult> {
    return { kind: 'lines', lines: solve(args, opts) };
  },
};
