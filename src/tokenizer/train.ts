/**
 * A deterministic byte-level BPE trainer (for models trained from scratch): texts are cut around the
 * special tokens, pre-tokenized with GPT-2's regex, counted as words of byte symbols (ids 0..255 in
 * GPT-2's byte order, so the result is a GPT-2-style vocab.json + merges.txt), and the most frequent
 * adjacent pair is merged until the vocabulary is full. Ties: the smaller (left id, right id) wins, so
 * the same texts always give the same merges. Pair counts are updated incrementally (only words
 * containing the merged pair are touched) with a lazy max-heap.
 * Deliberately not here: min-frequency/alphabet limits, continuing from an existing vocabulary.
 */
import { BinaryHeap } from './heap.js';
import { AddedTokenSplitter } from './added-tokens.js';
import { BYTE_TO_CHAR, GPT2_BYTE_ORDER } from './byte-unicode.js';
import { ID_LIMIT } from './bpe-merge.js';
import { gpt2Split } from './pretokenize.js';

export interface TrainOptions {
  /** Special tokens, given the last ids (after the merges), e.g. ['<|endoftext|>']. */
  readonly specialTokens?: readonly string[];
}

export interface TrainResult {
  /** Token strings by id (byte-level spelling; special tokens as their text, last). */
  readonly tokens: string[];
  /** Merges in rank order, "a b". */
  readonly merges: string[];
  readonly specialTokens: readonly string[];
}

interface Cand {
  count: number;
  a: number;
  b: number;
}
const better = (x: Cand, y: Cand): boolean => x.count > y.count || (x.count === y.count && (x.a < y.a || (x.a === y.a && x.b < y.b)));

/** Trains merges until `vocabSize` tokens (256 bytes + merges + special tokens) or no pair is left (like HF, pairs seen once still merge). */
export function trainBpe(texts: Iterable<string>, vocabSize: number, opts: TrainOptions = {}): TrainResult {
  const specials = [...(opts.specialTokens ?? [])];
  const nMerges = vocabSize - 256 - specials.length;
  if (nMerges < 0) throw new Error(`train: vocabSize ${vocabSize} is below 256 bytes + ${specials.length} special tokens`);
  if (vocabSize > ID_LIMIT) throw new Error(`train: vocabSize ${vocabSize} exceeds ${ID_LIMIT}`);
  const splitter = new AddedTokenSplitter(specials.map((content, i) => ({ id: i, content, special: true })));
  const freq = new Map<string, number>();
  for (const text of texts) {
    splitter.split(text, true, (s, e) => {
      const seg = text.slice(s, e);
      gpt2Split(seg, (a, b) => {
        const w = seg.slice(a, b);
        freq.set(w, (freq.get(w) ?? 0) + 1);
      });
    }, () => {});
  }
  const byteId = new Int32Array(256);
  GPT2_BYTE_ORDER.forEach((b, i) => (byteId[b] = i));
  const enc = new TextEncoder();
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of [...freq.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    words.push(Array.from(enc.encode(w), (b) => byteId[b]));
    counts.push(c);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number, touched: Set<number> | null): void => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * ID_LIMIT + w[i + 1];
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let s = where.get(k);
        if (!s) where.set(k, (s = new Set()));
        s.add(wi);
      }
      touched?.add(k);
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, null);
  const heap = new BinaryHeap<Cand>(better);
  for (const [k, count] of pairCount) heap.push({ count, a: Math.floor(k / ID_LIMIT), b: k % ID_LIMIT });
  const tokens = GPT2_BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]);
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const merges: string[] = [];
  while (tokens.length < 256 + nMerges && heap.size > 0) {
    const c = heap.pop();
    const k = c.a * ID_LIMIT + c.b;
    if (pairCount.get(k) !== c.count) continue; // stale
    if (c.count < 1) continue;
    // a result spelled like an existing token reuses its id (as HF's trainer does)
    const str = tokens[c.a] + tokens[c.b];
    let id = idOf.get(str);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(str);
      idOf.set(str, id);
    }
    merges.push(`${tokens[c.a]} ${tokens[c.b]}`);
    const touched = new Set<number>();
    for (const wi of where.get(k) ?? []) {
      const w = words[wi];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === c.a && w[i + 1] === c.b) has = true;
      if (!has) continue;
      addPairs(wi, -1, touched);
      const nw: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === c.a && w[i + 1] === c.b) {
          nw.push(id!);
          i++;
        } else nw.push(w[i]);
      }
      words[wi] = nw;
      addPairs(wi, 1, touched);
    }
    where.delete(k);
    for (const t of touched) {
      const n = pairCount.get(t)!;
      if (n <= 0) pairCount.delete(t);
      else heap.push({ count: n, a: Math.floor(t / ID_LIMIT), b: t % ID_LIMIT });
    }
  }
  for (const s of specials) tokens.push(s);
  return { tokens, merges, specialTokens: specials };
}

/** The trained tokenizer as files: vocab.json, merges.txt, special_tokens_map.json (contents). */
export function trainedFiles(r: TrainResult): Record<string, string> {
  const vocab: Record<string, number> = {};
  r.tokens.forEach((t, i) => (vocab[t] = i));
  const map: Record<string, unknown> = { additional_special_tokens: [...r.specialTokens] };
  if (r.specialTokens.length > 0) map.bos_token = map.eos_token = r.specialTokens[0];
  return {
    'vocab.json': JSON.stringify(vocab),
    'merges.txt': `#version: 0.2\n${r.merges.join('\n')}\n`,
    'special_tokens_map.json': JSON.stringify(map, null, 2),
  };
}
