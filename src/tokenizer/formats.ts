/**
 * Tokenizer file formats, parsed from their contents (no file system here; src/io/load-tokenizer.ts
 * reads files): GPT-2/HF `vocab.json` (`encoder.json`) + `merges.txt` (`vocab.bpe`) + `added_tokens.json`
 * + `special_tokens_map.json`, HF `tokenizer.json` (BPE + ByteLevel), and llama2.c `tokenizer.bin`
 * (int32 max_token_length, then per token: float32 score, int32 byte length, bytes; little-endian).
 * Deliberately not here: GGUF (src/io), SentencePiece `.model` protobufs, WordPiece/Unigram.
 */
import type { AddedToken } from './added-tokens.js';
import type { ByteLevelBpeSpec } from './byte-level-bpe.js';
import { preTokenizerFromHf } from './pre-tokenizers.js';
import type { SpmSpec } from './spm.js';

/** Lines of merges.txt / vocab.bpe without the `#version` header and blank lines. */
export function parseMerges(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l.length === 0 || (i === 0 && l.startsWith('#version'))) continue;
    out.push(l);
  }
  return out;
}

/** Token strings by id from a `{token: id}` map. */
export function tokensFromVocab(vocab: Record<string, number>): (string | undefined)[] {
  const tokens: (string | undefined)[] = [];
  for (const [t, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new Error(`vocab: token ${JSON.stringify(t)} has invalid id ${String(id)}`);
    tokens[id] = t;
  }
  return tokens;
}

function contentOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** The special-token strings named by a special_tokens_map.json object, with its bos/eos. */
export function parseSpecialTokensMap(map: unknown): { specials: Set<string>; bos?: string; eos?: string } {
  const specials = new Set<string>();
  if (!map || typeof map !== 'object') return { specials };
  const m = map as Record<string, unknown>;
  for (const [k, v] of Object.entries(m)) {
    if (k === 'additional_special_tokens' && Array.isArray(v)) {
      for (const x of v) {
        const c = contentOf(x);
        if (c !== undefined) specials.add(c);
      }
    } else {
      const c = contentOf(v);
      if (c !== undefined) specials.add(c);
    }
  }
  return { specials, bos: contentOf(m.bos_token), eos: contentOf(m.eos_token) };
}

/**
 * A byte-level BPE spec from GPT-2/HF slow-tokenizer files. Tokens named in special_tokens_map are
 * special; other added_tokens.json entries are plain added tokens; with no map, `<|endoftext|>` is
 * the special token (as in GPT-2's encoder.json) and also BOS/EOS.
 */
export function byteLevelFromVocabFiles(
  vocab: Record<string, number>,
  merges: readonly string[],
  addedTokens: Record<string, number> = {},
  specialTokensMap?: unknown,
): ByteLevelBpeSpec {
  const tokens = tokensFromVocab(vocab);
  const sm = parseSpecialTokensMap(specialTokensMap);
  if (specialTokensMap === undefined) {
    sm.specials.add('<|endoftext|>');
    sm.bos = sm.eos = '<|endoftext|>';
  }
  const added: AddedToken[] = [];
  const seen = new Set<string>();
  for (const [content, id] of Object.entries(addedTokens)) {
    added.push({ id, content, special: sm.specials.has(content) });
    seen.add(content);
  }
  for (const s of sm.specials) {
    const id = vocab[s];
    if (id !== undefined && !seen.has(s)) added.push({ id, content: s, special: true });
  }
  const idOf = (t?: string): number | null => {
    if (t === undefined) return null;
    return addedTokens[t] ?? vocab[t] ?? null;
  };
  return { tokens, merges, added, bosId: idOf(sm.bos), eosId: idOf(sm.eos) };
}

type NormalForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/** HF `normalizer` -> a Unicode normalization form (null, one of NFC/NFD/NFKC/NFKD, or a Sequence of one). */
function normalForm(n: unknown, where: string): NormalForm | undefined {
  const j = n as { type?: string; normalizers?: unknown[] } | null | undefined;
  if (j === null || j === undefined) return undefined;
  if (j.type === 'Sequence' && (j.normalizers ?? []).length <= 1) return normalForm(j.normalizers?.[0], where);
  if (j.type === 'NFC' || j.type === 'NFD' || j.type === 'NFKC' || j.type === 'NFKD') return j.type;
  throw new Error(`${where}: normalizer ${String(j.type)} is not supported for byte-level BPE (supported: none, NFC, NFD, NFKC, NFKD)`);
}

/**
 * A byte-level BPE spec from a parsed HF tokenizer.json (model BPE with a ByteLevel pre-tokenizer,
 * optionally after Split/Digits/Punctuation steps and a Unicode normalizer). BOS/EOS are the
 * `bos_token`/`eos_token` of tokenizer_config.json (or special_tokens_map.json) when given, else
 * `<|endoftext|>` when the vocabulary has it.
 */
export function byteLevelFromTokenizerJson(json: unknown, where = 'tokenizer.json', config?: unknown): ByteLevelBpeSpec {
  const j = json as {
    model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; ignore_merges?: boolean };
    normalizer?: unknown;
    pre_tokenizer?: unknown;
    added_tokens?: { id: number; content: string; special?: boolean }[];
  };
  const model = j?.model;
  if (!model || (model.type !== undefined && model.type !== 'BPE') || !model.vocab || !model.merges)
    throw new Error(`${where}: model is ${model?.type ?? 'missing'}, expected a BPE model with vocab and merges`);
  const preTokenizer = preTokenizerFromHf(j.pre_tokenizer, where);
  const added: AddedToken[] = (j.added_tokens ?? []).map((t) => ({ id: t.id, content: t.content, special: t.special === true }));
  const idOf = (t: string | undefined): number | null => {
    if (t === undefined) return null;
    return added.find((a) => a.content === t)?.id ?? model.vocab![t] ?? null;
  };
  const sm = parseSpecialTokensMap(config);
  const has = (k: string): boolean => config !== null && typeof config === 'object' && Object.hasOwn(config, k);
  const eot = idOf('<|endoftext|>');
  return {
    tokens: tokensFromVocab(model.vocab),
    merges: model.merges,
    added,
    // a config that names bos_token: null (Qwen2) means no BOS
    bosId: has('bos_token') ? idOf(sm.bos) : eot,
    eosId: has('eos_token') ? idOf(sm.eos) : eot,
    preTokenizer,
    ignoreMerges: model.ignore_merges === true,
    normalize: normalForm(j.normalizer, where),
  };
}

/**
 * llama2.c tokenizer.bin -> tokens and scores (BOS 1, EOS 2, <unk> 0 as llama2.c assumes). llama2.c's
 * export wrote SentencePiece's "▁" as a plain space; it is turned back into "▁" here.
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, vocabSize?: number, where = 'tokenizer.bin'): SpmSpec {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new Error(`${where}: too short for a llama2.c tokenizer`);
  const maxLen = dv.getInt32(0, true);
  if (maxLen <= 0 || maxLen > 1 << 16) throw new Error(`${where}: max_token_length ${maxLen} is not plausible (not a llama2.c tokenizer?)`);
  const dec = new TextDecoder('utf-8');
  const tokens: string[] = [];
  const scores: number[] = [];
  let o = 4;
  while (o < bytes.byteLength && (vocabSize === undefined || tokens.length < vocabSize)) {
    if (o + 8 > bytes.byteLength) throw new Error(`${where}: truncated at token ${tokens.length} (offset ${o})`);
    scores.push(dv.getFloat32(o, true));
    const len = dv.getInt32(o + 4, true);
    o += 8;
    if (len < 0 || len > maxLen || o + len > bytes.byteLength) throw new Error(`${where}: token ${tokens.length} has bad length ${len} at offset ${o - 4}`);
    tokens.push(dec.decode(bytes.subarray(o, o + len)).replaceAll(' ', '\u2581'));
    o += len;
  }
  if (vocabSize !== undefined && tokens.length < vocabSize) throw new Error(`${where}: has ${tokens.length} tokens, expected ${vocabSize}`);
  return { tokens, scores, bosId: 1, eosId: 2, unkId: 0 };
}
