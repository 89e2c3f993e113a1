/**
 * Roots of a polynomial in one unknown with rational coefficients: exact for degrees 1–2
 * (rationals and square-root surds, printed the way SymPy prints them: `-1/2 + sqrt(5)/2`,
 * `1 - sqrt(3)*I`), closed-form Cardano (3) and Ferrari (4) evaluated in complex doubles, and
 * Durand–Kerner beyond; numeric roots are Newton-polished and snapped to exact rationals when an
 * exact check confirms them. Deliberately no symbolic radicals above degree 2.
 */
import { sympyFloat } from './pyfloat.js';
import * as R from './rational.js';
import { PluginError } from './types.js';

type C = [number, number];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const csub = (a: C, b: C): C => [a[0] - b[0], a[1] - b[1]];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => { const d = b[0] ** 2 + b[1] ** 2; return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d]; };
const cabs = (a: C): number => Math.hypot(a[0], a[1]);
function cpow(a: C, k: number): C { const r = cabs(a) ** k; const t = Math.atan2(a[1], a[0]) * k; return [r * Math.cos(t), r * Math.sin(t)]; }
const csqrt = (a: C): C => cpow(a, 0.5);
const re = (x: number): C => [x, 0];

/** One root, with its printed form. */
export interface Root { readonly re: number; readonly im: number; readonly text: string }

function horner(c: readonly number[], z: C): [C, C] {
  let p: C = [0, 0]; let dp: C = [0, 0];
  for (let i = c.length - 1; i >= 0; i--) { dp = cadd(cmul(dp, z), p); p = cadd(cmul(p, z), re(c[i])); }
  return [p, dp];
}

function cubic(a: number, b: number, c: number, d: number): C[] {
  const d0 = b * b - 3 * a * c;
  const d1 = 2 * b ** 3 - 9 * a * b * c + 27 * a * a * d;
  if (Math.abs(d0) < 1e-300 && Math.abs(d1) < 1e-300) return [re(-b / (3 * a)), re(-b / (3 * a)), re(-b / (3 * a))];
  const s = csqrt(re(d1 * d1 - 4 * d0 ** 3));
  let inner = cdiv(cadd(re(d1), s), re(2));
  if (cabs(inner) < 1e-300) inner = cdiv(csub(re(d1), s), re(2));
  const C0 = cpow(inner, 1 / 3);
  const xi: C = [-0.5, Math.sqrt(3) / 2];
  const out: C[] = [];
  let Ck = C0;
  for (let k = 0; k < 3; k++, Ck = cmul(Ck, xi)) out.push(cdiv(cadd(cadd(re(b), Ck), cdiv(re(d0), Ck)), re(-3 * a)));
  return out;
}

function quartic(a: number, b: number, c: number, d: number, e: number): C[] {
  // Depressed y^4 + p y^2 + q y + r with x = y - b/(4a).
  const B = b / a, Cc = c / a, D = d / a, E = e / a;
  const p = Cc - (3 * B * B) / 8;
  const q = D - (B * Cc) / 2 + B ** 3 / 8;
  const r = E - (B * D) / 4 + (B * B * Cc) / 16 - (3 * B ** 4) / 256;
  const shift = re(-B / 4);
  let ys: C[];
  if (Math.abs(q) < 1e-14 * Math.max(1, Math.abs(p), Math.abs(r))) {
    const s = csqrt(re(p * p - 4 * r));
    ys = [cdiv(csub(re(-p), s), re(2)), cdiv(cadd(re(-p), s), re(2))].flatMap((z) => [csqrt(z), cmul(re(-1), csqrt(z))]);
  } else {
    // Ferrari: m solves 8m^3 + 8p m^2 + (2p^2 - 8r) m - q^2 = 0; take the one farthest from 0.
    const ms = cubic(8, 8 * p, 2 * p * p - 8 * r, -q * q);
    const m = ms.reduce((best, z) => (cabs(z) > cabs(best) ? z : best));
    const s2m = csqrt(cmul(re(2), m));
    ys = [];
    for (const s1 of [1, -1]) {
      const t = cmul(re(-1), cadd(re(2 * p), cadd(cmul(re(2), m), cdiv(re(s1 * Math.SQRT2 * q), csqrt(m)))));
      for (const s2 of [1, -1]) ys.push(cdiv(cadd(cmul(re(s1), s2m), cmul(re(s2), csqrt(t))), re(2)));
    }
  }
  return ys.map((y) => cadd(y, shift));
}

function durandKerner(c: readonly number[]): C[] {
  const n = c.length - 1;
  const mon = c.map((x) => x / c[n]);
  // start on a circle of the Fujiwara-style radius bound: products of differences stay finite up to high degrees
  const r = Math.max(1e-3, ...mon.slice(0, n).map((a, i) => Math.abs(a) ** (1 / (n - i))));
  let z: C[] = Array.from({ length: n }, (_, k) => { const t = (2 * Math.PI * k) / n + 0.4; return [r * Math.cos(t), r * Math.sin(t)]; });
  for (let it = 0; it < 500; it++) {
    let delta = 0;
    z = z.map((zi, i) => {
      let den: C = [1, 0];
      z.forEach((zj, j) => { if (j !== i) den = cmul(den, csub(zi, zj)); });
      const step = cdiv(horner(mon, zi)[0], den);
      delta = Math.max(delta, cabs(step));
      return csub(zi, step);
    });
    if (delta < 1e-15) break;
  }
  return z;
}

const trim = (a: R.Q[]): R.Q[] => { while (a.length && R.isZero(a[a.length - 1])) a.pop(); return a; };
const monic = (a: R.Q[]): R.Q[] => a.map((x) => R.div(x, a[a.length - 1]));
const tooBig = (a: readonly R.Q[]): boolean => a.some((x) => R.bits(x.n) + R.bits(x.d) > 8192);

/** p / gcd(p, p') over the rationals: the same roots, each once (the input when the coefficients grow too big). */
function squareFreePart(p: readonly R.Q[]): R.Q[] {
  const dp = trim(p.slice(1).map((x, i) => R.mul(x, R.q(BigInt(i + 1)))));
  let [a, b] = [monic([...p]), monic(dp)];
  while (b.length > 1) {
    // a mod b
    const r = [...a];
    for (let i = r.length - b.length; i >= 0; i--) {
      const f = r[i + b.length - 1];
      if (!R.isZero(f)) for (let j = 0; j < b.length; j++) r[i + j] = R.sub(r[i + j], R.mul(f, b[j]));
    }
    const rem = trim(r.slice(0, b.length - 1));
    if (tooBig(rem)) return [...p];
    [a, b] = [b, rem.length ? monic(rem) : []];
  }
  if (b.length === 1) return [...p]; // gcd is a constant: already square-free
  // exact division p / a (a is the monic gcd)
  const q: R.Q[] = new Array<R.Q>(p.length - a.length + 1).fill(R.ZERO);
  const r = [...p];
  for (let i = q.length - 1; i >= 0; i--) {
    q[i] = r[i + a.length - 1];
    for (let j = 0; j < a.length; j++) r[i + j] = R.sub(r[i + j], R.mul(q[i], a[j]));
  }
  return q;
}

/** Best rational approximation with denominator ≤ maxDen (continued fractions). */
function approxRational(x: number, maxDen = 1_000_000): R.Q | undefined {
  if (!Number.isFinite(x) || Math.abs(x) > 1e15) return undefined;
  let [h0, h1, k0, k1] = [0n, 1n, 1n, 0n];
  let v = x;
  for (let i = 0; i < 40; i++) {
    const a = Math.floor(v);
    const A = BigInt(a);
    [h0, h1] = [h1, A * h1 + h0];
    [k0, k1] = [k1, A * k1 + k0];
    if (k1 > BigInt(maxDen)) return R.q(h0, k0);
    if (v - a < 1e-12) break;
    v = 1 / (v - a);
  }
  return R.q(h1, k1);
}
function evalExact(c: readonly R.Q[], x: R.Q): R.Q {
  let s = R.ZERO;
  for (let i = c.length - 1; i >= 0; i--) s = R.add(R.mul(s, x), c[i]);
  return s;
}

/** Square-free split of a non-negative integer: n = k^2 * m. */
function squareFree(n: bigint): [bigint, bigint] {
  let k = 1n; let m = n;
  if (n > 10n ** 14n) return [1n, n];
  for (let p = 2n; p * p <= m; p++) while (m % (p * p) === 0n) { m /= p * p; k *= p; }
  return [k, m];
}

function surdTerm(s: R.Q, m: bigint, imag: boolean): string {
  const a = s.n < 0n ? -s.n : s.n;
  const core = m === 1n ? (imag ? 'I' : '1') : `sqrt(${m})${imag ? '*I' : ''}`;
  const head = a === 1n ? core : m === 1n && !imag ? `${a}` : `${a}*${core}`;
  return s.d === 1n ? head : `${head}/${s.d}`;
}

/** Exact quadratic roots a x^2 + b x + c (rational coefficients), ordered like SymPy. */
function quadraticExact(c0: R.Q, c1: R.Q, c2: R.Q): Root[] {
  const r = R.div(R.neg(c1), R.mul(R.q(2n), c2));
  const disc = R.sub(R.mul(c1, c1), R.mul(R.q(4n), R.mul(c2, c0)));
  const imag = disc.n < 0n;
  const [k, m] = squareFree((imag ? -disc.n : disc.n) * disc.d);
  // sqrt(|disc|) = k*sqrt(m)/d, so the ± term is k*sqrt(m)/(d*2a) in absolute value.
  const s0 = R.div(R.q(k), R.mul(R.q(disc.d), R.mul(R.q(2n), c2)));
  const s = s0.n < 0n ? R.neg(s0) : s0;
  const sx = R.toNumber(s) * Math.sqrt(Number(m));
  if (R.isZero(disc)) return [{ re: R.toNumber(r), im: 0, text: R.toFraction(r) }];
  if (m === 1n && !imag) {
    const lo = R.sub(r, s); const hi = R.add(r, s);
    return [lo, hi].map((v) => ({ re: R.toNumber(v), im: 0, text: R.toFraction(v) }));
  }
  const t = surdTerm(s, m, imag);
  const rx = R.toNumber(r);
  const mk = (sign: -1 | 1): Root => ({
    re: imag ? rx : rx + sign * sx, im: imag ? sign * sx : 0,
    text: R.isZero(r) ? `${sign < 0 ? '-' : ''}${t}` : `${R.toFraction(r)} ${sign < 0 ? '-' : '+'} ${t}`,
  });
  return [mk(-1), mk(1)];
}

function formatNumeric(z: C): string {
  const [x, y] = [Math.abs(z[0]) < 1e-13 * Math.max(1, cabs(z)) ? 0 : z[0], Math.abs(z[1]) < 1e-12 * Math.max(1, cabs(z)) ? 0 : z[1]];
  if (y === 0) return sympyFloat(x);
  const im = `${sympyFloat(Math.abs(y))}*I`;
  return x === 0 ? `${y < 0 ? '-' : ''}${im}` : `${sympyFloat(x)} ${y < 0 ? '-' : '+'} ${im}`;
}

/**
 * Distinct roots of sum c[i] x^i (c[deg] ≠ 0, deg ≥ 1), reals ascending then complex.
 * `float` prints every root as a SymPy Float (the input had decimals).
 */
export function polyRoots(c0: readonly R.Q[], float: boolean): Root[] {
  // repeated roots are ill-conditioned for the numeric methods: solve the square-free part instead
  const c = c0.length > 3 ? squareFreePart(c0) : c0;
  const deg = c.length - 1;
  if (deg === 1) {
    const x = R.div(R.neg(c[0]), c[1]);
    return [{ re: R.toNumber(x), im: 0, text: float ? sympyFloat(R.toNumber(x)) : R.toFraction(x) }];
  }
  if (deg === 2 && !float) return quadraticExact(c[0], c[1], c[2]);
  const f = c.map(R.toNumber);
  let zs: C[] = deg === 2 ? [cdiv(csub(re(-f[1]), csqrt(re(f[1] ** 2 - 4 * f[2] * f[0]))), re(2 * f[2])), cdiv(cadd(re(-f[1]), csqrt(re(f[1] ** 2 - 4 * f[2] * f[0]))), re(2 * f[2]))]
    : deg === 3 ? cubic(f[3], f[2], f[1], f[0]) : deg === 4 ? quartic(f[4], f[3], f[2], f[1], f[0]) : durandKerner(f);
  // Newton polish on the original polynomial.
  zs = zs.map((z) => { for (let i = 0; i < 8; i++) { const [p, dp] = horner(f, z); if (cabs(dp) === 0) break; z = csub(z, cdiv(p, dp)); } return z; });
  if (zs.some((z) => !Number.isFinite(z[0]) || !Number.isFinite(z[1]))) throw new PluginError('no-result', `the roots of this degree-${deg} polynomial could not be computed in double precision`);
  const roots: Root[] = [];
  for (const z of zs) {
    const scaleZ = Math.max(1, cabs(z));
    const isReal = Math.abs(z[1]) < 1e-9 * scaleZ;
    let text = formatNumeric(z);
    let value: C = isReal ? [z[0], 0] : z;
    if (isReal && !float) {
      const rq = approxRational(z[0]);
      if (rq && R.isZero(evalExact(c, rq))) { text = R.toFraction(rq); value = [R.toNumber(rq), 0]; }
    }
    if (roots.some((r) => Math.hypot(r.re - value[0], r.im - value[1]) < 1e-7 * scaleZ)) continue;
    roots.push({ re: value[0], im: value[1], text });
  }
  return roots.sort((a, b) => (a.im !== 0 ? 1 : 0) - (b.im !== 0 ? 1 : 0) || a.re - b.re || a.im - b.im);
}
