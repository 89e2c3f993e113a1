/**
 * Rebuilds a byte-level BPE vocabulary from its merges alone: ids 0..255 are GPT-2's byte symbols in
 * GPT-2's order (printable bytes first), then each merge's result in merge order, skipping results
 * already present (first occurrence keeps its id). Applied to GPT-2's vocab.bpe this reproduces
 * encoder.json exactly (see test/tokenizer/moss.test.ts); it is how the unpublished MOSS vocab.json is
 * reconstructed (docs/tokenizers.md). Deliberately not here: added tokens (the caller appends them).
 */
import { BYTE_TO_CHAR, GPT2_BYTE_ORDER } from './byte-unicode.js';

/** Token strings by id, rebuilt from merges ("a b" lines in rank order). */
export function vocabFromMerges(merges: readonly string[]): string[] {
  const tokens = GPT2_BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]);
  const seen = new Set(tokens);
  for (const m of merges) {
    const sp = m.indexOf(' ', 1);
    if (sp < 0) throw new Error(`merges: line ${JSON.stringify(m)} is not "a b"`);
    const t = m.slice(0, sp) + m.slice(sp + 1);
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  }
  return tokens;
}
