/**
 * GPT-2's pre-tokenizer: the regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * implemented as a hand-written scanner over a code-point class table (same matches, no per-match
 * allocation). `\s` is Unicode White_Space (as Python's `regex` and HF tokenizers use it): it includes
 * U+0085 and excludes U+FEFF, unlike JavaScript's `\s`. The regex itself is exported for tests.
 * Deliberately not here: other pre-tokenizers (Llama-3, StarCoder, DeepSeek digit splits).
 */

/** The GPT-2 pattern as a JS regex (JS `\s` differs on U+0085/U+FEFF: the scanner is the reference). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;

const WHITE_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);
const IS_L = /^\p{L}$/u;
const IS_N = /^\p{N}$/u;

function classify(ch: string, cp: number): number {
  if (WHITE_SPACE.has(cp)) return SPACE;
  if (IS_L.test(ch)) return LETTER;
  if (IS_N.test(ch)) return NUMBER;
  return OTHER;
}

/** Classes of the BMP (surrogates are OTHER here; pairs are classified as code points). */
const BMP = (() => {
  const t = new Uint8Array(65536);
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    t[c] = classify(String.fromCharCode(c), c);
  }
  return t;
})();
const astral = new Map<number, number>();

/** Class of the code point at i and its width in code units, packed as cls*4+width. */
function classAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return BMP[c] * 4 + 1;
  const d = s.charCodeAt(i + 1);
  if (d < 0xdc00 || d > 0xdfff) return OTHER * 4 + 1;
  const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  let k = astral.get(cp);
  if (k === undefined) {
    k = classify(String.fromCodePoint(cp), cp);
    astral.set(cp, k);
  }
  return k * 4 + 2;
}

/** End of a run of class `cls` starting at i. */
function runEnd(s: string, i: number, cls: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) {
      if (BMP[c] !== cls) return i;
      i++;
    } else {
      const k = classAt(s, i);
      if (k >> 2 !== cls) return i;
      i += k & 3;
    }
  }
  return i;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at i (s[i] is an apostrophe), else 0. */
function contraction(s: string, i: number): number {
  const a = s.charCodeAt(i + 1);
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  const b = s.charCodeAt(i + 2);
  if ((a === 0x72 || a === 0x76) && b === 0x65) return 3; // re ve
  if (a === 0x6c && b === 0x6c) return 3; // ll
  return 0;
}

/** Calls `emit(start, end)` for each GPT-2 pre-token of s, in order. */
export function gpt2Split(str: string, emit: (start: number, end: number) => void): void {
  const to = str.length;
  let i = 0;
  while (i < to) {
    const c = str.charCodeAt(i);
    if (c === 0x27) {
      const k = contraction(str, i);
      if (k > 0) {
        emit(i, i + k);
        i += k;
        continue;
      }
    }
    let start = i;
    let j = i;
    if (c === 0x20 && i + 1 < to) {
      const k = classAt(str, i + 1) >> 2;
      if (k !== SPACE) j = i + 1; // " ?" then a letter/number/other run
    }
    const k = classAt(str, j);
    const cls = k >> 2;
    if (cls !== SPACE) {
      const end = runEnd(str, j + (k & 3), cls);
      emit(start, end);
      i = end;
      continue;
    }
    // whitespace run: \s+(?!\S) backs off one character before a non-space, else \s+
    start = i;
    const end = runEnd(str, i, SPACE);
    if (end < to && end - start > 1) {
      // back off one code point (whitespace is always BMP)
      emit(start, end - 1);
      i = end - 1;
    } else {
      emit(start, end);
      i = end;
    }
  }
}

/** The pre-tokens of s as strings (for tests and tools; the encoder uses gpt2Split). */
export function gpt2PreTokens(s: string): string[] {
  const out: string[] = [];
  gpt2Split(s, (a, b) => out.push(s.slice(a, b)));
  return out;
}
