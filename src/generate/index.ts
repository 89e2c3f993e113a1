/** Generation: samplers, the generate loop (batched prefill, KV cache, streaming), defaults. */
export * from './sampler.js';
export { generate, generateBatch, generateAll, type GenerateOptions, type GenerationStats, type FinishReason, type Step } from './generate.js';
export { generationDefaults } from './defaults.js';
