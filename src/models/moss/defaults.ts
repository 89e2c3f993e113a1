/**
 * MOSS's generation defaults, used where a checkpoint has no generation_config.json: sampling as
 * moss_cli_demo.py does (temperature 0.7, top_k 40, top_p 0.8, repetition_penalty 1.02), and no
 * BOS before a prompt (CodeGen's GPT-2 tokenizer; HF adds none). Not here: applying them
 * (src/generate/defaults.ts).
 */
import type { SamplingDefaults } from '../types.js';

export const MOSS_SAMPLING: Readonly<SamplingDefaults> = { temperature: 0.7, topK: 40, topP: 0.8, repetitionPenalty: 1.02 };

export const MOSS_ADDS_BOS = false;
