/**
 * llama2.c checkpoints (the legacy `export.py --version 0` / run.c layout, e.g. stories260K.bin):
 * 7 x int32 header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size — negative means an
 * untied classifier —, seq_len), then f32 weights in run.c's order: token_embedding, rms_att, wq,
 * wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis_real + freq_cis_imag (seq_len*head_size/2
 * each, skipped: rope is recomputed), [wcls].
 * Returned as zero-copy Views under HuggingFace LLaMA names:
 *   model.embed_tokens.weight (vocab, dim)           model.norm.weight (dim)
 *   model.layers.N.input_layernorm.weight (dim)      model.layers.N.post_attention_layernorm.weight
 *   model.layers.N.self_attn.{q,k,v,o}_proj.weight   q/o (dim, dim), k/v (kv_dim, dim)
 *   model.layers.N.mlp.gate_proj.weight = w1 (hidden, dim), up_proj = w3, down_proj = w2 (dim, hidden)
 *   lm_head.weight (vocab, dim) — the same View as embed_tokens when tied.
 * RoPE caveat: llama2.c rotates interleaved pairs (2i, 2i+1) inside each head; HF LLaMA rotates
 * half-split pairs. By default q/k stay as stored and `config.ropeInterleaved` is true; with
 * `{ hfRope: true }` q_proj/k_proj rows are permuted (copies) exactly like transformers'
 * convert_llama_weights_to_hf, and ropeInterleaved is false. Not supported: the v1/v2 exports
 * (magic "ak42", refused), quantized (Q8) llama2.c files.
 */
import type { Storage, View } from '../backends/backend.js';
import { fail } from './errors.js';
import { openStorage } from './file-storage.js';
import { viewAt, viewOf } from './views.js';

export interface Llama2cConfig {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly headSize: number;
  readonly sharedClassifier: boolean;
  /** true: q/k are in llama2.c's interleaved-pair rope layout. */
  readonly ropeInterleaved: boolean;
  /** llama2.c's constants (run.c): RMSNorm eps 1e-5, rope theta 10000. */
  readonly normEps: number;
  readonly ropeTheta: number;
}

export interface Llama2cFile {
  readonly path: string;
  readonly config: Llama2cConfig;
  /** The same config in HF LlamaConfig field names (for a models/llama.ts loader). */
  readonly hfConfig: Record<string, unknown>;
  readonly tensors: Map<string, View>;
  readonly storage: Storage;
}

const LIMITS: Record<string, number> = { dim: 1 << 16, hidden_dim: 1 << 18, n_layers: 1024, n_heads: 1024, n_kv_heads: 1024, vocab_size: 1 << 22, seq_len: 1 << 22 };

/**
 * Reads a llama2.c checkpoint.
 * @example const { config, tensors } = readLlama2c('stories260K.bin'); tensors.get('model.norm.weight')
 */
export function readLlama2c(path: string, opts: { hfRope?: boolean } = {}): Llama2cFile {
  return parseLlama2c(openStorage(path), path, opts);
}

/** Parses llama2.c bytes held in `storage`; `file` names it in errors. */
export function parseLlama2c(storage: Storage, file: string, opts: { hfRope?: boolean } = {}): Llama2cFile {
  if (storage.byteLength < 28) fail(file, 'header', `file is only ${storage.byteLength} bytes (needs 28)`);
  const dv = new DataView(storage.buffer, storage.byteOffset, 28);
  if (dv.getUint32(0, true) === 0x616b3432) fail(file, 'magic', 'llama2.c v1/v2 exports ("ak42") are not supported; use the legacy export (version 0)');
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  const h = names.map((_, i) => dv.getInt32(i * 4, true));
  const [dim, hidden, nLayers, nHeads, nKv, vocabRaw, seqLen] = h;
  h.forEach((v, i) => {
    const a = i === 5 ? Math.abs(v) : v;
    if (!(a > 0) || a > LIMITS[names[i]]) fail(file, names[i], `${v} is out of range (1..${LIMITS[names[i]]})`);
  });
  if (dim % nHeads !== 0) fail(file, 'n_heads', `dim ${dim} is not divisible by n_heads ${nHeads}`);
  if (nKv > nHeads || nHeads % nKv !== 0) fail(file, 'n_kv_heads', `${nKv} does not divide n_heads ${nHeads}`);
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) fail(file, 'n_heads', `head size ${headSize} is odd`);
  const vocab = Math.abs(vocabRaw);
  const shared = vocabRaw > 0;
  const kvDim = (dim * nKv) / nHeads;

  const plan: [string, number[]][] = [];
  const perLayer = (name: string, shape: number[]) => {
    for (let l = 0; l < nLayers; l++) plan.push([`model.layers.${l}.${name}`, shape]);
  };
  plan.push(['model.embed_tokens.weight', [vocab, dim]]);
  perLayer('input_layernorm.weight', [dim]);
  perLayer('self_attn.q_proj.weight', [dim, dim]);
  perLayer('self_attn.k_proj.weight', [kvDim, dim]);
  perLayer('self_attn.v_proj.weight', [kvDim, dim]);
  perLayer('self_attn.o_proj.weight', [dim, dim]);
  perLayer('post_attention_layernorm.weight', [dim]);
  perLayer('mlp.gate_proj.weight', [hidden, dim]);
  perLayer('mlp.down_proj.weight', [dim, hidden]);
  perLayer('mlp.up_proj.weight', [hidden, dim]);
  plan.push(['model.norm.weight', [dim]]);
  plan.push(['(freq_cis)', [2 * seqLen * (headSize / 2)]]);
  if (!shared) plan.push(['lm_head.weight', [vocab, dim]]);
  const total = 28 + 4 * plan.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
  if (total !== storage.byteLength) fail(file, 'size', `header implies ${total} bytes but the file has ${storage.byteLength}`);

  const tensors = new Map<string, View>();
  let off = 28;
  for (const [name, shape] of plan) {
    const n = shape.reduce((x, y) => x * y, 1);
    if (name !== '(freq_cis)') tensors.set(name, viewAt(storage.buffer, storage.byteOffset + off, n * 4, 'f32', shape));
    off += n * 4;
  }
  if (shared) tensors.set('lm_head.weight', tensors.get('model.embed_tokens.weight')!);
  if (opts.hfRope) {
    for (let l = 0; l < nLayers; l++) {
      for (const [p, heads] of [['q_proj', nHeads], ['k_proj', nKv]] as const) {
        const name = `model.layers.${l}.self_attn.${p}.weight`;
        tensors.set(name, permuteHalfSplit(tensors.get(name)!, heads, headSize, dim));
      }
    }
  }
  const config: Llama2cConfig = {
    dim, hiddenDim: hidden, nLayers, nHeads, nKvHeads: nKv, vocabSize: vocab, seqLen, headSize,
    sharedClassifier: shared, ropeInterleaved: !opts.hfRope, normEps: 1e-5, ropeTheta: 10000,
  };
  const hfConfig = {
    model_type: 'llama', hidden_size: dim, intermediate_size: hidden, num_hidden_layers: nLayers,
    num_attention_heads: nHeads, num_key_value_heads: nKv, vocab_size: vocab, max_position_embeddings: seqLen,
    rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: shared, hidden_act: 'silu',
  };
  return { path: file, config, hfConfig, tensors, storage };
}

/** Rows of each head reordered from interleaved pairs (2i, 2i+1) to half-split (i, i + hd/2). */
function permuteHalfSplit(v: View, heads: number, hd: number, dim: number): View {
  const src = new Float32Array(v.storage.buffer, v.storage.byteOffset, heads * hd * dim);
  const out = new Float32Array(src.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * hd + 2 * i + j) * dim;
        const to = (h * hd + j * (hd / 2) + i) * dim;
        out.set(src.subarray(from, from + dim), to);
      }
    }
  }
  return viewOf(out, 'f32', v.shape);
}
