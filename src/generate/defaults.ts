/**
 * Default generation settings for a model: HF's generation_config.json when the checkpoint has one
 * (do_sample, temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens, eos_token_id),
 * else MOSS's own defaults for MOSS models (moss_cli_demo.py: sampling with temperature 0.7,
 * top_k 40, top_p 0.8, repetition_penalty 1.02), else greedy as HF generate() does.
 * Caller options override these. Not here: reading files (the caller passes the parsed JSON).
 */
import type { ModelInfo } from '../models/types.js';
import type { GenerateOptions } from './generate.js';

/**
 * The one BOS policy, used by every entry point (`moss generate`, `/v1/completions`, chat):
 * LLaMA-family SentencePiece models start with BOS (llama2.c, HF LlamaTokenizer's add_bos_token);
 * MOSS/CodeGen (GPT-2 tokenizer, no BOS added by HF) and Qwen2 do not.
 */
export function addsBos(info: Pick<ModelInfo, 'family' | 'modelType'>): boolean {
  return info.family === 'llama' && !info.modelType.includes('qwen2');
}

export const MOSS_DEFAULTS: Readonly<GenerateOptions> = { temperature: 0.7, topK: 40, topP: 0.8, repetitionPenalty: 1.02 };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Settings from `generationConfig` (parsed generation_config.json or null) for `info`'s model. */
export function generationDefaults(info: ModelInfo, generationConfig: Record<string, unknown> | null): GenerateOptions {
  const stopIds = [...info.eosIds];
  if (!generationConfig) return info.family === 'moss' ? { ...MOSS_DEFAULTS, stopIds } : { temperature: 0, stopIds };
  const g = generationConfig;
  const eos = g.eos_token_id;
  for (const id of Array.isArray(eos) ? eos : [eos]) if (typeof id === 'number' && !stopIds.includes(id)) stopIds.push(id);
  const o: GenerateOptions = { stopIds, temperature: g.do_sample === true ? (num(g.temperature) ?? 1) : 0 };
  if (g.do_sample === true) {
    // HF's defaults when do_sample is set without them: top_k 50, top_p 1
    o.topK = num(g.top_k) ?? 50;
    o.topP = num(g.top_p) ?? 1;
    if (num(g.min_p) !== undefined) o.minP = num(g.min_p);
  }
  if (num(g.repetition_penalty) !== undefined) o.repetitionPenalty = num(g.repetition_penalty);
  if (num(g.max_new_tokens) !== undefined) o.maxNewTokens = num(g.max_new_tokens);
  return o;
}
