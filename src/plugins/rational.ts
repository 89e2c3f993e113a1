/**
 * Exact rationals over BigInt for the calculator and the equation solver.
 * Always normalised: gcd(n, d) = 1 and d > 0. Deliberately minimal: no decimals, no intervals.
 */

export interface Q {
  readonly n: bigint;
  readonly d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Builds n/d in lowest terms; throws on d = 0. */
export function q(n: bigint, d = 1n): Q {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

export const ZERO = q(0n);
export const ONE = q(1n);
export const add = (a: Q, b: Q): Q => q(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Q, b: Q): Q => q(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Q, b: Q): Q => q(a.n * b.n, a.d * b.d);
export const div = (a: Q, b: Q): Q => q(a.n * b.d, a.d * b.n);
export const neg = (a: Q): Q => ({ n: -a.n, d: a.d });
export const isZero = (a: Q): boolean => a.n === 0n;
export const isInt = (a: Q): boolean => a.d === 1n;
export const cmp = (a: Q, b: Q): number => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};

/** Floor of a/b as a rational integer (Python `//`). */
export function floorDiv(a: Q, b: Q): Q {
  const r = div(a, b);
  let f = r.n / r.d;
  if (r.n < 0n && f * r.d !== r.n) f -= 1n;
  return q(f);
}

/** Bit length of |x|. */
export function bits(x: bigint): number {
  return x === 0n ? 0 : (x < 0n ? -x : x).toString(2).length;
}

/** The nearest double (to within one rounding), also for huge numerators and denominators. */
export function toNumber(a: Q): number {
  const lim = 1n << 53n;
  const an = a.n < 0n ? -a.n : a.n;
  if (an < lim && a.d < lim) return Number(a.n) / Number(a.d);
  // Scale so the integer quotient carries ~64 significant bits, then scale back.
  const shift = 64 - (bits(a.n) - bits(a.d));
  const num = shift >= 0 ? a.n << BigInt(shift) : a.n;
  const den = shift >= 0 ? a.d : a.d << BigInt(-shift);
  return Number(num / den) * 2 ** -shift;
}

/** Exact k-th root of a non-negative integer, or undefined when it is not a perfect power. */
export function exactRoot(x: bigint, k: number): bigint | undefined {
  if (x < 0n) return undefined;
  if (x < 2n) return x;
  const kk = BigInt(k);
  // Newton's method on integers from an over-estimate.
  let r = 1n << BigInt(Math.ceil(bits(x) / k) + 1);
  for (;;) {
    const next = ((kk - 1n) * r + x / r ** (kk - 1n)) / kk;
    if (next >= r) break;
    r = next;
  }
  return r ** kk === x ? r : undefined;
}

/** Parses a decimal literal (`12.5`, `3e8`, `.25`) exactly. */
export function fromDecimal(s: string): Q {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) throw new SyntaxError(`bad number ${s}`);
  const frac = m[2] ?? '';
  const exp = Number(m[3] ?? 0) - frac.length;
  if (Math.abs(exp) > 4000) throw new RangeError('exponent too large');
  const n = BigInt((m[1] || '0') + frac);
  return exp >= 0 ? q(n * 10n ** BigInt(exp)) : q(n, 10n ** BigInt(-exp));
}

/** `n/d` or `n` (SymPy's printing of rationals). */
export function toFraction(a: Q): string {
  return a.d === 1n ? a.n.toString() : `${a.n}/${a.d}`;
}
