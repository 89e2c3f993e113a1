/**
 * The merge-rank BPE core shared by byte-level BPE and the trainer's checks: symbols are token ids,
 * merges are an integer-keyed map (a * 2^20 + b) -> rank * 2^20 + result id, and a word is merged
 * lowest-rank-first, leftmost on ties, with a linked list + binary min-heap (as HF tokenizers'
 * BPE does), so long words (Chinese runs, code) stay O(n log n).
 * Deliberately not here: pre-tokenization, bytes, caching, dropout.
 */

/** Ids must be below 2^20 (1,048,576). */
export const ID_LIMIT = 1 << 20;
const POS_LIMIT = 2 ** 26;

/** Pair key for the merge map. */
export function pairKey(a: number, b: number): number {
  return a * ID_LIMIT + b;
}

/** Merge table: pairKey(a, b) -> rank * 2^20 + merged id. Earlier (lower) rank wins. */
export class MergeTable {
  readonly map = new Map<number, number>();
  private ranks = 0;

  /** Adds the next merge (a, b) -> result; a repeated pair takes its later rank (as HF's dict/HashMap do). */
  add(a: number, b: number, result: number): void {
    this.map.set(pairKey(a, b), this.ranks++ * ID_LIMIT + result);
  }

  /** Consumes a rank without a merge (an unusable merge line keeps later ranks aligned). */
  skip(): void {
    this.ranks++;
  }

  get size(): number {
    return this.ranks;
  }
}

// Reusable scratch buffers (grown on demand).
let sym = new Int32Array(256);
let next = new Int32Array(256);
let prev = new Int32Array(256);
let heap = new Float64Array(1024);

function grow(n: number): void {
  if (sym.length >= n) return;
  let m = sym.length;
  while (m < n) m *= 2;
  sym = new Int32Array(m);
  next = new Int32Array(m);
  prev = new Int32Array(m);
  heap = new Float64Array(4 * m);
}

/**
 * Merges `ids[0..n)` in place with the merge table and returns the merged ids.
 * `ids` is read only; the result is a fresh array.
 */
export function bpeMerge(merges: Map<number, number>, ids: ArrayLike<number>, n: number): number[] {
  if (n < 2) return n === 1 ? [ids[0]] : [];
  if (n >= POS_LIMIT) throw new Error(`bpe: word of ${n} symbols is too long`);
  grow(n);
  for (let i = 0; i < n; i++) {
    sym[i] = ids[i];
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  next[n - 1] = -1;
  // heap of keys rank * POS_LIMIT + pos
  let hn = 0;
  const push = (key: number): void => {
    let i = hn++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] <= key) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap[--hn];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= hn) break;
      if (c + 1 < hn && heap[c + 1] < heap[c]) c++;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
    return top;
  };
  for (let i = 0; i + 1 < n; i++) {
    const v = merges.get(sym[i] * ID_LIMIT + sym[i + 1]);
    if (v !== undefined) push(Math.floor(v / ID_LIMIT) * POS_LIMIT + i);
  }
  let count = n;
  while (hn > 0) {
    const key = pop();
    const rank = Math.floor(key / POS_LIMIT);
    const pos = key - rank * POS_LIMIT;
    if (sym[pos] < 0) continue; // removed
    const r = next[pos];
    if (r < 0) continue;
    const v = merges.get(sym[pos] * ID_LIMIT + sym[r]);
    if (v === undefined) continue;
    const vr = Math.floor(v / ID_LIMIT);
    if (vr !== rank) continue; // stale entry
    sym[pos] = v - vr * ID_LIMIT;
    sym[r] = -1;
    const rr = next[r];
    next[pos] = rr;
    if (rr >= 0) prev[rr] = pos;
    count--;
    const l = prev[pos];
    if (l >= 0) {
      const w = merges.get(sym[l] * ID_LIMIT + sym[pos]);
      if (w !== undefined) push(Math.floor(w / ID_LIMIT) * POS_LIMIT + l);
    }
    if (rr >= 0) {
      const w = merges.get(sym[pos] * ID_LIMIT + sym[rr]);
      if (w !== undefined) push(Math.floor(w / ID_LIMIT) * POS_LIMIT + pos);
    }
  }
  const out = new Array<number>(count);
  for (let i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
  return out;
}
