/**
 * LLaMA-family models from a llama.cpp .gguf file: hyper-parameters from `<arch>.*` metadata,
 * tensors renamed from llama.cpp names (token_embd, blk.N.attn_q, ..., output_norm, output) to the
 * HF names llama/model.ts walks. llama.cpp's converter permutes q/k rows of arch `llama` for adjacent-pair
 * rope, so those use interleaved rope (see llama/model.ts); qwen2 is stored unpermuted (NEOX rope).
 * Not here: arch `moss` (../moss/gguf.ts), other architectures (refused by ../load.ts), K-quant
 * compute (io refuses those tensors).
 */
import type { Backend, View } from '../../backends/backend.js';
import type { GgufFile } from '../../io/index.js';
import { checkLlamaConfig, LlamaForCausalLM, type LlamaConfig } from './model.js';
import type { CausalLM } from '../types.js';
import { mapSource, WeightLoader } from '../weights.js';

/** llama.cpp tensor names and their HF names (N: layer, S: weight or bias). */
const NAMES: Array<[string, string]> = [
  ['token_embd.weight', 'model.embed_tokens.weight'],
  ['output_norm.weight', 'model.norm.weight'],
  ['output.weight', 'lm_head.weight'],
  ['blk.N.attn_norm.weight', 'model.layers.N.input_layernorm.weight'],
  ['blk.N.attn_q.S', 'model.layers.N.self_attn.q_proj.S'],
  ['blk.N.attn_k.S', 'model.layers.N.self_attn.k_proj.S'],
  ['blk.N.attn_v.S', 'model.layers.N.self_attn.v_proj.S'],
  ['blk.N.attn_output.weight', 'model.layers.N.self_attn.o_proj.weight'],
  ['blk.N.ffn_norm.weight', 'model.layers.N.post_attention_layernorm.weight'],
  ['blk.N.ffn_gate.weight', 'model.layers.N.mlp.gate_proj.weight'],
  ['blk.N.ffn_up.weight', 'model.layers.N.mlp.up_proj.weight'],
  ['blk.N.ffn_down.weight', 'model.layers.N.mlp.down_proj.weight'],
];

/** Renames `name` from one column of NAMES to the other (undefined when no pattern matches). */
function rename(name: string, from: 0 | 1): string | undefined {
  for (const pair of NAMES) {
    const re = new RegExp(`^${pair[from].replace(/\./g, '\\.').replace('N', '(\\d+)').replace('S', '(weight|bias)')}$`);
    const m = re.exec(name);
    if (!m) continue;
    let i = 1;
    return pair[1 - from].replace(/[NS]/g, (ch) => (ch === 'N' || ch === 'S' ? m[i++] : ch));
  }
  return undefined;
}

/** The llama.cpp name of HF LLaMA tensor `hfName` (undefined for a tensor llama.cpp has no name for). */
export function ggufName(hfName: string): string | undefined {
  return rename(hfName, 1);
}

/** Architectures whose q/k llama.cpp stores permuted for adjacent-pair (NORM) rope. */
const INTERLEAVED: Record<string, boolean> = { llama: true, mistral: true, qwen2: false };

/** The llama-family `general.architecture` values this file loads. */
export const LLAMA_GGUF_ARCHS: readonly string[] = Object.keys(INTERLEAVED);

/** A llama-family model from the already-read GGUF `g` of `path` (arch one of LLAMA_GGUF_ARCHS). */
export function loadLlamaGguf(path: string, g: GgufFile, backend: Backend): CausalLM {
  const md = g.metadata;
  const arch = md['general.architecture'] as string;
  const need = (key: string): number => {
    const v = md[`${arch}.${key}`];
    if (typeof v !== 'number') throw new Error(`${path}: metadata '${arch}.${key}' is missing`);
    return v;
  };
  const opt = (key: string, fallback: number): number => (typeof md[`${arch}.${key}`] === 'number' ? (md[`${arch}.${key}`] as number) : fallback);
  const renamed = new Map<string, View>();
  for (const [n, v] of g.tensors) {
    const h = rename(n, 0);
    if (h) renamed.set(h, v);
  }
  // tensors of unsupported types are absent from g.tensors: name them rather than "missing"
  for (const t of g.tensorInfos) if (t.dtype === null) throw new Error(`${path}: tensor '${t.name}' has type ${t.typeName}, which the engine cannot compute with`);
  const emb = renamed.get('model.embed_tokens.weight');
  if (!emb) throw new Error(`${path}: tensor 'token_embd.weight' is missing`);
  const C = need('embedding_length');
  const H = need('attention.head_count');
  const headDim = opt('attention.key_length', C / H);
  const rotDims = md[`${arch}.rope.dimension_count`];
  if (typeof rotDims === 'number' && rotDims !== headDim) throw new Error(`${path}: rope on ${rotDims} of ${headDim} head dims (partial rotary) is not supported for arch '${arch}'`);
  const bos = md['tokenizer.ggml.bos_token_id'];
  const eos = md['tokenizer.ggml.eos_token_id'];
  const c: LlamaConfig = {
    modelType: `gguf:${arch}`,
    hiddenSize: C,
    intermediateSize: need('feed_forward_length'),
    nLayers: need('block_count'),
    nHeads: H,
    nKvHeads: opt('attention.head_count_kv', H),
    headDim,
    vocabSize: emb.shape[0],
    rmsNormEps: need('attention.layer_norm_rms_epsilon'),
    ropeTheta: opt('rope.freq_base', 10000),
    ropeFactors: ggufRopeFactors(path, arch, md, g.tensors.get('rope_freqs.weight'), headDim),
    ropeInterleaved: INTERLEAVED[arch],
    maxPositions: need('context_length'),
    slidingWindow: ggufWindow(path, arch, md, need('context_length')),
    tieWordEmbeddings: !renamed.has('lm_head.weight'),
    qkvBias: renamed.has('model.layers.0.self_attn.q_proj.bias'),
    bosId: typeof bos === 'number' ? bos : null,
    eosIds: typeof eos === 'number' ? [eos] : [],
  };
  const src = { ...mapSource(path, [{ file: path, tensors: renamed }]), nameOf: (n: string) => rename(n, 1) ?? n };
  return LlamaForCausalLM.load(checkLlamaConfig(c, path), new WeightLoader(src, backend, `${path} metadata`));
}

/**
 * Rope frequency factors of a llama-family GGUF: the `rope_freqs.weight` tensor (Llama 3.1+, as
 * llama.cpp's convert script computes it) times linear scaling (`rope.scaling.type` 'linear',
 * `rope.scaling.factor`); null when neither is present. YaRN and other scalings are refused.
 */
function ggufRopeFactors(path: string, arch: string, md: Record<string, unknown>, freqs: View | undefined, headDim: number): number[] | null {
  let f: number[] | null = null;
  if (freqs) {
    if (freqs.dtype !== 'f32' || freqs.shape.length !== 1 || freqs.shape[0] !== headDim / 2) {
      throw new Error(`${path}: tensor 'rope_freqs.weight' must be f32 [${headDim / 2}], got ${freqs.dtype} [${freqs.shape}]`);
    }
    f = Array.from(new Float32Array(freqs.storage.buffer, freqs.storage.byteOffset + freqs.offset * 4, headDim / 2));
  }
  const type = md[`${arch}.rope.scaling.type`];
  if (type === undefined || type === 'none') return f;
  if (type !== 'linear') throw new Error(`${path}: rope scaling '${String(type)}' is not supported (supported: none, linear, rope_freqs)`);
  const factor = md[`${arch}.rope.scaling.factor`];
  if (typeof factor !== 'number' || !(factor > 0)) throw new Error(`${path}: ${arch}.rope.scaling.factor must be a positive number, got ${JSON.stringify(factor)}`);
  return (f ?? new Array<number>(headDim / 2).fill(1)).map((x) => x * factor);
}

/** `<arch>.attention.sliding_window` (Mistral's window, written by `moss quantize`; llama.cpp's key
 *  for SWA models) when below the context, else null. */
function ggufWindow(path: string, arch: string, md: Record<string, unknown>, context: number): number | null {
  const w = md[`${arch}.attention.sliding_window`];
  if (w === undefined || w === 0) return null;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0) throw new Error(`${path}: ${arch}.attention.sliding_window must be a non-negative integer, got ${JSON.stringify(w)}`);
  return w < context ? w : null;
}
