/**
 * Number printing as Python's `repr(float)` does (what MOSS's recorded calculator results show:
 * `'1200.0'`, `'0.3'`, `'1e+16'`, `'1.5e-05'`), and SymPy's 15-significant-digit Float printing
 * used by the recorded equation-solver results (`'550.000000000000'`).
 */

/** Python `repr(x)` for a finite double. */
export function pyRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() without digits gives the shortest round-trip digits, like Python's repr.
  const [mant, e] = x.toExponential().split('e');
  const exp = Number(e);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= 16 || exp < -4) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    body = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${body}` : body;
}

/** SymPy's `str(Float(x))` at its default 15 significant digits (`2.50000000000000`, `-3.8`→`-3.80000000000000`). */
export function sympyFloat(x: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp >= 15 || exp < -5) {
    const [m, e] = x.toExponential(14).split('e');
    return `${m}e${e.replace('+', '+')}`;
  }
  return x.toFixed(Math.max(0, 14 - exp)).replace(/^(-?\d+)$/, '$1.');
}
