/**
 * Default generation settings for a model: HF's generation_config.json when the checkpoint has one
 * (do_sample, temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens, eos_token_id),
 * else the model family's own (ModelInfo.sampling: MOSS's moss_cli_demo.py sampling, greedy for
 * LLaMA as HF generate() is; src/models/<family>/defaults.ts). Caller options override these.
 * The BOS policy is ModelInfo.addsBos. Not here: reading files (the caller passes the parsed JSON).
 */
import type { ModelInfo } from '../models/types.js';
import type { GenerateOptions } from './generate.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Settings from `generationConfig` (parsed generation_config.json or null) for `info`'s model. */
export function generationDefaults(info: ModelInfo, generationConfig: Record<string, unknown> | null): GenerateOptions {
  const stopIds = [...info.eosIds];
  if (!generationConfig) return { ...info.sampling, stopIds };
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
