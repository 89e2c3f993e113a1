/** Parsing of numeric command-line flags, with one clear message naming the flag. */

/** The number in `v` (undefined when absent), checked for integer-ness and range. */
export function number(flag: string, v: string | undefined, o: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    const range = o.min !== undefined ? ` >= ${o.min}${o.max !== undefined ? ` and <= ${o.max}` : ''}` : '';
    throw new Error(`--${flag}: "${v}" is not ${o.int ? 'an integer' : 'a number'}${range}`);
  }
  return n;
}
