/**
 * A small BM25 index (Robertson/Spärck Jones, k1 = 1.2, b = 0.75) over text chunks. Tokens are
 * lower-cased ASCII words plus single CJK characters and CJK bigrams, so Chinese queries match
 * without a segmenter. Deliberately in memory and serialisable to JSON; no stemming.
 */

export interface Doc { readonly id: string; readonly text: string }
export interface Bm25Index {
  readonly docs: Doc[];
  readonly tf: Record<string, number>[];
  readonly len: number[];
  readonly df: Record<string, number>;
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/** Terms of a text (also used for queries). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[a-z0-9]+|[\u3400-\u9fff\uf900-\ufaff]+/g)) {
    const w = m[0];
    if (!CJK.test(w[0])) { out.push(w); continue; }
    for (let i = 0; i < w.length; i++) {
      out.push(w[i]);
      if (i + 1 < w.length) out.push(w.slice(i, i + 2));
    }
  }
  return out;
}

export function buildIndex(docs: Doc[]): Bm25Index {
  const df: Record<string, number> = Object.create(null);
  const tf = docs.map((d) => {
    const m: Record<string, number> = Object.create(null);
    for (const t of terms(d.text)) m[t] = (m[t] ?? 0) + 1;
    for (const t of Object.keys(m)) df[t] = (df[t] ?? 0) + 1;
    return m;
  });
  return { docs, tf, len: tf.map((m) => Object.values(m).reduce((a, b) => a + b, 0)), df };
}

/** Top-k documents for a query, best first, with scores > 0. */
export function searchIndex(ix: Bm25Index, query: string, k: number): { doc: Doc; score: number }[] {
  const N = ix.docs.length;
  const avg = ix.len.reduce((a, b) => a + b, 0) / Math.max(1, N);
  const q = [...new Set(terms(query))];
  const scored = ix.tf.map((tf, i) => {
    let s = 0;
    for (const t of q) {
      const f = Object.hasOwn(tf, t) ? tf[t] : 0;
      if (!f) continue;
      const n = Object.hasOwn(ix.df, t) ? ix.df[t] : 0;
      const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
      s += (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * ix.len[i]) / avg));
    }
    return { doc: ix.docs[i], score: s };
  });
  return scored.filter((x) => x.score > 0).sort((a, b) => b.score - a.score).slice(0, k);
}
