/**
 * LLaMA-family generation defaults, used where a checkpoint has no generation_config.json: greedy,
 * as HF generate() is; a prompt starts with BOS for SentencePiece models (llama2.c, HF
 * LlamaTokenizer's add_bos_token), not for Qwen2 (byte-level BPE, no BOS added).
 * Not here: applying them (src/generate/defaults.ts).
 */
import type { SamplingDefaults } from '../types.js';

export const LLAMA_SAMPLING: Readonly<SamplingDefaults> = { temperature: 0 };

/** Whether a prompt of model_type `modelType` ('llama', 'gguf:qwen2', 'llama2c', ...) starts with BOS. */
export function llamaAddsBos(modelType: string): boolean {
  return !modelType.includes('qwen2');
}
