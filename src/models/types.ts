/**
 * The contract every causal language model in src/models implements, so that src/generate, chat
 * and serve never look inside a model file. Follows mlx-lm's `Model.__call__(inputs, cache)`.
 * Legend: B batch, T time (this chunk), V vocab, S cache capacity.
 * Deliberately not here: sampling, tokenizers, training loops.
 */
import type { Backend } from '../backends/backend.js';
import type { Tensor } from '../tensor/index.js';
import type { KVCache } from './kv-cache.js';

/** What generation needs to know about a model's shape. */
export interface ModelInfo {
  /** HF `model_type` (moss, codegen, llama, mistral, qwen2) or 'llama2c' / 'gguf:<arch>'. */
  readonly modelType: string;
  /** 'moss' or 'llama': the implementation used. */
  readonly family: 'moss' | 'llama';
  readonly vocabSize: number;
  readonly nLayers: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Longest sequence the model was trained for (n_positions / max_position_embeddings). */
  readonly maxPositions: number;
  readonly bosId: number | null;
  /** End-of-sequence ids from the config (may be several). */
  readonly eosIds: readonly number[];
  /** Whether a text prompt starts with BOS: the family's one policy, the same in every entry point. */
  readonly addsBos: boolean;
  /** The family's sampling when the checkpoint has no generation_config.json (src/generate/defaults.ts). */
  readonly sampling: Readonly<SamplingDefaults>;
}

/** Sampling settings a model family publishes (names as src/generate's GenerateOptions). */
export interface SamplingDefaults {
  readonly temperature: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
}

export interface ForwardOptions {
  /** Cache to read past keys from and append this chunk to (rows start at `cache.lens[b]`). */
  cache?: KVCache;
  /** Valid tokens per row of this chunk (right padding beyond); default all T. */
  lengths?: readonly number[];
  /** 'all' -> logits (B, T, V); 'last' -> logits (B, V) at each row's last valid token. */
  logits?: 'all' | 'last';
  /** Collects named intermediates (e.g. `h.0.attn_out`) for comparison with a reference. */
  trace?: Map<string, Tensor>;
  /** Token embeddings (B, T, C) to use instead of looking `ids` up (HF's inputs_embeds; the decode
   *  plan's input, see decode-plan.ts). `ids` still gives the shape. */
  embeds?: Tensor;
}

export interface CausalLM {
  readonly info: ModelInfo;
  readonly backend: Backend;
  /** Logits (f32) for ids (B, T) i32; appends to `o.cache` when given. Call inside `tidy`. */
  forward(ids: Tensor, o?: ForwardOptions): Tensor;
  /** A preallocated cache for `batch` rows of up to `maxLen` tokens. */
  newCache(batch: number, maxLen: number): KVCache;
  /** Frees weights this model owns (weights borrowed from mapped files are just dropped). */
  dispose(): void;
}
