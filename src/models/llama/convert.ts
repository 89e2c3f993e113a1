/**
 * LLaMA-family checkpoints as llama.cpp GGUFs (arch `llama` for llama/mistral, `qwen2`), as
 * convert_hf_to_gguf.py writes them: llama.cpp tensor names (./gguf.ts, both directions), q/k rows
 * (and biases) of arch `llama` permuted from HF half-split rope to adjacent pairs, rope scaling as
 * a `rope_freqs` tensor, Mistral's sliding window, `<arch>.*` hyper-parameters. llama2.c files
 * already keep q/k in adjacent-pair order and are not permuted.
 * Not here: the streaming writer (../quantize.ts), reading GGUFs back (./gguf.ts).
 */
import { readLlama2c } from '../../io/index.js';
import { f32Of, fromF32, fromHf, tokenizerMetadata, type HfPlan, type Pick, type Planned } from '../gguf-plan.js';
import { ggufName } from './gguf.js';
import { parseLlamaConfig } from './model.js';

/** HF model_type -> llama.cpp general.architecture. */
export const LLAMA_GGUF_ARCH: Readonly<Record<string, string>> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2' };

/** convert_hf_to_gguf's permute: HF half-split rope rows -> adjacent pairs, per head. */
function permuteQk(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(w.length);
  const hd = rows / heads, half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (const [j, src] of [[2 * i, i], [2 * i + 1, half + i]]) {
        out.set(w.subarray((h * hd + src) * cols, (h * hd + src + 1) * cols), (h * hd + j) * cols);
      }
    }
  }
  return out;
}

/** The planned tensors and GGUF metadata of llama-family HF folder `p` (model_type a key of LLAMA_GGUF_ARCH). */
export function planLlamaHf(p: HfPlan): { plan: Planned[]; metadata: Record<string, unknown> } {
  const { dir, hf, names, pick } = p;
  const c = hf.config;
  const type = String(c.model_type);
  const arch = LLAMA_GGUF_ARCH[type];
  if (names.some((n) => n.endsWith('.qweight'))) throw new Error(`${dir}: GPTQ-packed ${type} checkpoints cannot be quantized (only MOSS GPTQ releases are dequantized)`);
  const k = parseLlamaConfig(c, `${dir}/config.json`);
  const { nHeads: heads, nKvHeads: kvHeads, headDim } = k;
  const plan: Planned[] = [];
  // rope scaling travels as llama.cpp's rope_freqs tensor (its convert script does this for llama3)
  const factors = k.ropeFactors;
  if (factors) plan.push(fromF32('rope_freqs.weight', [factors.length], 'q8_0', () => Float32Array.from(factors)));
  // a tied head has no lm_head.weight: llama.cpp then uses token_embd for the output, as we do
  for (const name of names) {
    const gn = ggufName(name);
    if (!gn) continue;
    if (arch === 'llama' && /attn_[qk]\.(weight|bias)$/.test(gn)) {
      // convert_hf_to_gguf permutes q/k rows (and their biases) into adjacent rope pairs
      const shape = hf.locate(name)?.shape ?? hf.get(name).shape;
      const cols = shape.length === 2 ? shape[1] : 1;
      plan.push(fromF32(gn, shape, pick(gn, shape), () => permuteQk(f32Of(hf.get(name)), shape[0], cols, gn.includes('attn_q') ? heads : kvHeads), shape.length === 2));
    } else plan.push(fromHf(p, name, gn));
  }
  return {
    plan,
    metadata: {
      'general.architecture': arch, 'general.name': String(c._name_or_path ?? type), 'general.file_type': p.fileType,
      [`${arch}.context_length`]: k.maxPositions, [`${arch}.embedding_length`]: k.hiddenSize,
      [`${arch}.block_count`]: k.nLayers, [`${arch}.feed_forward_length`]: k.intermediateSize,
      [`${arch}.attention.head_count`]: heads, [`${arch}.attention.head_count_kv`]: kvHeads,
      [`${arch}.attention.layer_norm_rms_epsilon`]: k.rmsNormEps, [`${arch}.rope.freq_base`]: k.ropeTheta,
      [`${arch}.rope.dimension_count`]: headDim,
      ...(k.slidingWindow ? { [`${arch}.attention.sliding_window`]: k.slidingWindow } : {}),
      ...p.tokenizer,
    },
  };
}

/** The planned tensors and GGUF metadata of llama2.c file `input`; `pickFor` makes the type choice from the output names. */
export function planLlama2c(input: string, fileType: number, pickFor: (names: readonly string[]) => Pick): { plan: Planned[]; metadata: Record<string, unknown> } {
  const f = readLlama2c(input);
  const k = f.config;
  const metadata: Record<string, unknown> = {
    'general.architecture': 'llama', 'general.name': 'llama2c', 'general.file_type': fileType,
    'llama.context_length': k.seqLen, 'llama.embedding_length': k.dim, 'llama.block_count': k.nLayers,
    'llama.feed_forward_length': k.hiddenDim, 'llama.attention.head_count': k.nHeads, 'llama.attention.head_count_kv': k.nKvHeads,
    'llama.attention.layer_norm_rms_epsilon': k.normEps, 'llama.rope.dimension_count': k.headSize, 'llama.rope.freq_base': k.ropeTheta,
    'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2,
    ...tokenizerMetadata(input.replace(/[^/]*$/, '') || '.', ['tokenizer.bin', 'tok512.bin']),
  };
  const pick = pickFor([...f.tensors.keys()].map((n) => ggufName(n) ?? n));
  const plan: Planned[] = [];
  for (const [name, v] of f.tensors) {
    const gn = ggufName(name);
    if (!gn) continue;
    // llama2.c keeps q/k in adjacent-pair rope order already (= llama.cpp's layout); no permute
    if (!k.ropeInterleaved && /attn_[qk]\.weight$/.test(gn)) {
      const heads = gn.endsWith('attn_q.weight') ? k.nHeads : k.nKvHeads;
      plan.push(fromF32(gn, v.shape, pick(gn, v.shape), () => permuteQk(f32Of(v), v.shape[0], v.shape[1], heads)));
    } else {
      plan.push(fromF32(gn, v.shape, pick(gn, v.shape), () => f32Of(v)));
    }
  }
  return { plan, metadata };
}
