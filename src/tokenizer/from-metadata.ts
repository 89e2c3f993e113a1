/**
 * Tokenizers from already-parsed sources: GGUF `tokenizer.ggml.*` metadata (as plain JS values, so
 * this layer never reads GGUF itself) and MOSS-style folders that ship merges.txt + added_tokens.json
 * without vocab.json (the vocabulary is rebuilt by vocab-from-merges.ts).
 * GGUF `gpt2` models: control tokens (type 3) are special added tokens, user-defined (type 4) plain
 * added tokens; the pre-tokenizer is chosen by `tokenizer.ggml.pre` (pre-tokenizers.ts; an unknown
 * name is refused with the supported list).
 * Deliberately not here: file reading (src/io/load-tokenizer.ts), other GGUF tokenizer models.
 */
import type { AddedToken } from './added-tokens.js';
import { ByteLevelBpe } from './byte-level-bpe.js';
import { byteLevelFromVocabFiles } from './formats.js';
import { preTokenizerByName } from './pre-tokenizers.js';
import { SentencePieceBpe, TokenType } from './spm.js';
import type { Tokenizer } from './types.js';
import { vocabFromMerges } from './vocab-from-merges.js';

function arr<T>(md: Record<string, unknown>, key: string, where: string): ArrayLike<T> {
  const v = md[key];
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v as unknown as ArrayLike<T>;
  throw new Error(`${where}: metadata ${key} is ${v === undefined ? 'missing' : 'not an array'}`);
}

function optId(md: Record<string, unknown>, key: string): number | null {
  const v = md[key];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
}

/** A tokenizer from GGUF metadata (`tokenizer.ggml.model` gpt2 or llama). */
export function tokenizerFromGgufMetadata(md: Record<string, unknown>, where = 'gguf'): Tokenizer {
  const model = md['tokenizer.ggml.model'];
  const tokens = Array.from(arr<string>(md, 'tokenizer.ggml.tokens', where));
  const types = md['tokenizer.ggml.token_type'] === undefined ? undefined : Array.from(arr<number>(md, 'tokenizer.ggml.token_type', where), Number);
  const bosId = optId(md, 'tokenizer.ggml.bos_token_id');
  const eosId = optId(md, 'tokenizer.ggml.eos_token_id');
  if (model === 'gpt2') {
    const preName = md['tokenizer.ggml.pre'];
    const { pre, ignoreMerges } = preTokenizerByName(preName === undefined ? undefined : String(preName), where);
    const added: AddedToken[] = [];
    types?.forEach((t, id) => {
      if (t === TokenType.CONTROL || t === TokenType.USER_DEFINED) added.push({ id, content: tokens[id], special: t === TokenType.CONTROL });
    });
    const merges = Array.from(arr<string>(md, 'tokenizer.ggml.merges', where));
    return new ByteLevelBpe({ tokens, merges, added, bosId, eosId, preTokenizer: pre, ignoreMerges });
  }
  if (model === 'llama') {
    const asp = md['tokenizer.ggml.add_space_prefix'];
    return new SentencePieceBpe({
      tokens,
      scores: arr<number>(md, 'tokenizer.ggml.scores', where),
      types,
      bosId,
      eosId,
      unkId: optId(md, 'tokenizer.ggml.unknown_token_id'),
      addSpacePrefix: typeof asp === 'boolean' ? asp : true,
    });
  }
  throw new Error(`${where}: tokenizer.ggml.model "${String(model)}" is not supported (gpt2 and llama are)`);
}

/**
 * A MOSS/CodeGen-style byte-level BPE from merges + added_tokens.json (+ special_tokens_map.json)
 * with no vocab.json: ids 0..255 bytes, then merge results, then `<|endoftext|>`, then added tokens.
 */
export function byteLevelFromMergesOnly(merges: readonly string[], addedTokens: Record<string, number>, specialTokensMap?: unknown): ByteLevelBpe {
  const tokens = vocabFromMerges(merges);
  tokens.push('<|endoftext|>');
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => (vocab[t] = id));
  const map = specialTokensMap ?? { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' };
  const sm = map as Record<string, unknown>;
  // <|endoftext|> is a control token even where the map names it only as unk/bos.
  const withEot = { ...sm, additional_special_tokens: [...((sm.additional_special_tokens as unknown[]) ?? []), '<|endoftext|>'] };
  return new ByteLevelBpe(byteLevelFromVocabFiles(vocab, merges, addedTokens, withEot));
}
