/**
 * Exact and near-duplicate removal. Exact: SHA-256 of the text lower-cased with whitespace
 * collapsed. Near: MinHash over character 5-gram shingles (works for Chinese and English alike)
 * with 128 hash functions, banded LSH to find candidates, and a duplicate when the estimated Jaccard
 * similarity to an earlier kept text is at least the threshold (distilabel's MinHashDedup defaults:
 * 128 permutations, 5-grams, 0.9; ALIGNMENT.md §3). Deterministic: the hash seeds are fixed and the
 * first text seen is kept. Deliberately in-memory (one signature of 512 bytes per kept text).
 */
import { createHash } from 'node:crypto';

const PERMS = 128;
const SHINGLE = 5;

/** Lower case, whitespace collapsed (the exact-duplicate key's input). */
export function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** 32-bit FNV-1a of a string. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A 32-bit mix (murmur3 finaliser) of x with seed. */
function mix(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const SEEDS = Array.from({ length: PERMS }, (_, i) => mix(i + 1, 0x9e3779b9));

/** The MinHash signature of a text's 5-gram shingles. */
export function minhash(text: string): Uint32Array {
  const s = [...normalize(text)];
  const shingles = new Set<number>();
  for (let i = 0; i + SHINGLE <= Math.max(s.length, SHINGLE); i++) shingles.add(fnv(s.slice(i, i + SHINGLE).join('')));
  const sig = new Uint32Array(PERMS).fill(0xffffffff);
  for (const x of shingles) for (let p = 0; p < PERMS; p++) {
    const v = mix(x, SEEDS[p]);
    if (v < sig[p]) sig[p] = v;
  }
  return sig;
}

/** Estimated Jaccard similarity of two signatures. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < PERMS; i++) if (a[i] === b[i]) eq++;
  return eq / PERMS;
}

/** Rows per band for a threshold: the divisor r of 128 whose (1/b)^(1/r) is closest to it. */
export function bandRows(threshold: number): number {
  let best = 1;
  for (const r of [1, 2, 4, 8, 16, 32, 64, 128]) {
    const t = (1 / (PERMS / r)) ** (1 / r);
    if (Math.abs(t - threshold) < Math.abs((1 / (PERMS / best)) ** (1 / best) - threshold)) best = r;
  }
  // take one step wider (fewer rows) so that pairs right at the threshold are still candidates
  return Math.max(1, best / 2);
}

export type DupKind = 'exact' | 'near';

export class Deduper {
  private readonly exact = new Set<string>();
  private readonly sigs: Uint32Array[] = [];
  private readonly buckets = new Map<string, number[]>();
  private readonly rows: number;

  /** `threshold` in (0, 1]: near duplicates at or above it are dropped; 0 turns near-dedup off. */
  constructor(readonly threshold = 0.9) {
    this.rows = bandRows(threshold || 0.9);
  }

  /** Null when `text` is new (and remembers it), else the kind of duplicate it is. */
  check(text: string): DupKind | null {
    const key = createHash('sha256').update(normalize(text)).digest('hex');
    if (this.exact.has(key)) return 'exact';
    let sig: Uint32Array | null = null;
    const bands: string[] = [];
    if (this.threshold > 0) {
      sig = minhash(text);
      for (let b = 0; b < PERMS / this.rows; b++) bands.push(`${b}:${Array.from(sig.subarray(b * this.rows, (b + 1) * this.rows)).join(',')}`);
      const seen = new Set<number>();
      for (const k of bands) for (const j of this.buckets.get(k) ?? []) {
        if (seen.has(j)) continue;
        seen.add(j);
        if (similarity(sig, this.sigs[j]) >= this.threshold) return 'near';
      }
    }
    this.exact.add(key);
    if (sig) {
      const j = this.sigs.push(sig) - 1;
      for (const k of bands) {
        const list = this.buckets.get(k);
        if (list) list.push(j);
        else this.buckets.set(k, [j]);
      }
    }
    return null;
  }
}
