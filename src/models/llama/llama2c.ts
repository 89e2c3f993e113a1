/**
 * Karpathy's llama2.c checkpoints (.bin, run.c layout) as LLaMA models. io's reader (src/io/
 * llama2c.ts) maps every tensor zero-copy under HF names and keeps q/k in llama2.c's adjacent-pair
 * rope layout, so the model uses interleaved rope (see ./model.ts) and no weight is rewritten.
 * llama2.c has no ids in the file: BOS is 1 and EOS 2 (its tokenizer.bin convention).
 * Not here: the v1/v2 exports and int8 files (io refuses them).
 */
import type { Backend } from '../../backends/backend.js';
import { readLlama2c } from '../../io/index.js';
import { checkLlamaConfig, LlamaForCausalLM, type LlamaConfig } from './model.js';
import type { CausalLM } from '../types.js';
import { mapSource, WeightLoader } from '../weights.js';

export function loadLlama2cModel(path: string, backend: Backend): CausalLM {
  const f = readLlama2c(path);
  const k = f.config;
  const config: LlamaConfig = {
    modelType: 'llama2c',
    hiddenSize: k.dim,
    intermediateSize: k.hiddenDim,
    nLayers: k.nLayers,
    nHeads: k.nHeads,
    nKvHeads: k.nKvHeads,
    headDim: k.headSize,
    vocabSize: k.vocabSize,
    rmsNormEps: k.normEps,
    ropeTheta: k.ropeTheta,
    ropeFactors: null,
    ropeInterleaved: k.ropeInterleaved,
    maxPositions: k.seqLen,
    // io hands the tied classifier out as lm_head.weight (the same view), so load it as a head
    tieWordEmbeddings: false,
    qkvBias: false,
    bosId: 1,
    eosIds: [2],
  };
  const w = new WeightLoader(mapSource(path, [{ file: path, tensors: f.tensors }]), backend, `${path} header`);
  return LlamaForCausalLM.load(checkLlamaConfig(config, path), w);
}
