/**
 * LLaMA / Mistral / Qwen2 / Gemma (HF modeling_llama.py, modeling_qwen2.py, modeling_gemma.py): pre-norm RMSNorm blocks,
 * grouped-query attention, rotary embeddings with rope_theta, SwiGLU MLP, optional q/k/v biases
 * (Qwen2), tied or untied head. Fields are named like HF checkpoint keys (model.layers.N.self_attn.
 * q_proj.weight ...); GGUF and llama2.c sources rename their tensors to these (llama/gguf.ts,
 * llama/llama2c.ts). Rope pairs: HF checkpoints use half-split pairs (rotate_half); llama.cpp's GGUF
 * (arch llama) and llama2.c store q/k rows permuted for adjacent pairs, which interleaved rope on
 * the stored rows reproduces exactly (q.k is unchanged by the same permutation of both), so no
 * weight is rewritten.
 * Rope scaling: HF rope_scaling 'linear' and 'llama3' (Llama 3.1+) become per-pair frequency
 * factors (rope-scaling.ts), as do a GGUF's rope_freqs tensor and linear scaling keys.
 * Sliding-window attention (Mistral): the cache keeps every position and attention reads the last
 * `sliding_window` of them (see hfSlidingWindow()).
 * Not here: position-dependent rope scaling (dynamic NTK, YaRN, LongRoPE: refused), a rolling
 * (window-sized) KV cache, Qwen2's per-layer windows (refused), MoE.
 * Gemma (v1): GeGLU, embeddings times sqrt(hidden_size), RMSNorm as 1 + w (see gemmaParts()).
 * Legend: B batch, T time, C channels, H query heads, Hkv kv heads, D head dim, I MLP width.
 */
import type { Backend } from '../../backends/backend.js';
import { Module, type Embedding, type Linear, type RMSNorm } from '../../nn/index.js';
import { ops, type Tensor } from '../../tensor/index.js';
import { beginChunk, causalAttention, endChunk } from '../attention.js';
import { ids, int, num, type Json } from '../config.js';
import { LLAMA_SAMPLING, llamaAddsBos } from './defaults.js';
import { hfRopeFactors } from './rope-scaling.js';
import { planned } from '../decode-plan.js';
import { runLayers } from '../layer-scope.js';
import { KVCache } from '../kv-cache.js';
import { loadLinear, loadRMSNorm } from '../layers.js';
import { loadEmbedding } from '../quant-embedding.js';
import type { CausalLM, ForwardOptions, ModelInfo } from '../types.js';
import type { WeightLoader } from '../weights.js';

export interface LlamaConfig {
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Per-pair rope frequency divisors (headDim / 2), or null (rope-scaling.ts). */
  ropeFactors: number[] | null;
  /** true: adjacent pairs (GGUF llama, llama2.c); false: half-split pairs (HF). */
  ropeInterleaved: boolean;
  /** Positions the model can attend over (max_position_embeddings, GGUF context_length). */
  maxPositions: number;
  /** Mistral's sliding window (HF `sliding_window`, GGUF `<arch>.attention.sliding_window`): each
   *  query sees the last slidingWindow positions, itself included; null/absent: full attention. */
  slidingWindow?: number | null;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2). */
  qkvBias: boolean;
  /** Gemma: token embeddings times this (sqrt(hidden_size), rounded to f32); absent: 1. */
  embedScale?: number;
  /** Gemma (HF): added to every RMSNorm weight at load (its norm is x * rstd * (1 + w); llama.cpp's
   *  converter stores 1 + w already). Absent: 0. */
  normOffset?: number;
  /** MLP gate activation: silu (SwiGLU, default) or Gemma's tanh-approximated GELU (GeGLU). */
  mlpAct?: 'silu' | 'gelu_tanh';
  bosId: number | null;
  eosIds: number[];
}

/**
 * max_position_embeddings and Mistral's sliding window (HF `sliding_window`, Mistral v0.1: 4096 of
 * 32768): each query attends to the last `sliding_window` positions, itself included (HF's mask
 * kv > q - window; llama.cpp's SWA). null when absent, null, or not below the positions (then it
 * changes nothing). Qwen2 windows only layers from `max_window_layers` on and only with
 * `use_sliding_window: true` (no released Qwen2 sets it): that is refused rather than guessed.
 */
function hfSlidingWindow(cfg: Json, file: string, maxPositions: number): number | null {
  const w = cfg.sliding_window;
  const qwen2 = cfg.model_type === 'qwen2';
  const on = qwen2 ? cfg.use_sliding_window === true : cfg.use_sliding_window !== false;
  if (!on || w === null || w === undefined) return null;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) throw new Error(`${file}: sliding_window must be a positive integer or null, got ${JSON.stringify(w)}`);
  if (qwen2) throw new Error(`${file}: use_sliding_window: true (Qwen2's per-layer window from max_window_layers) is not supported`);
  return w < maxPositions ? w : null;
}

/**
 * Gemma (HF modeling_gemma.py): GeGLU with the tanh GELU (`hidden_activation`, which HF defaults to
 * gelu_pytorch_tanh whatever `hidden_act` says), embeddings times sqrt(hidden_size), RMSNorm
 * weights used as 1 + w, tied head by default.
 */
function gemmaParts(cfg: Json, file: string, hiddenSize: number): Pick<LlamaConfig, 'embedScale' | 'normOffset' | 'mlpAct'> {
  const act = cfg.hidden_activation ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_new') throw new Error(`${file}: hidden_activation '${String(act)}' is not supported (Gemma: gelu_pytorch_tanh)`);
  return { embedScale: Math.fround(Math.sqrt(hiddenSize)), normOffset: 1, mlpAct: 'gelu_tanh' };
}

/** Reads an HF llama/mistral/qwen2/gemma config.json object. */
export function parseLlamaConfig(cfg: Json, file: string): LlamaConfig {
  const modelType = String(cfg.model_type);
  const hiddenSize = int(cfg, file, 'hidden_size');
  const nHeads = int(cfg, file, 'num_attention_heads');
  const gemma = modelType === 'gemma';
  const act = cfg.hidden_act ?? 'silu';
  if (!gemma && act !== 'silu') throw new Error(`${file}: hidden_act '${String(act)}' is not supported (expected silu)`);
  const bos = ids(cfg, 'bos_token_id');
  const headDim = int(cfg, file, 'head_dim', hiddenSize / nHeads);
  const ropeTheta = num(cfg, file, 'rope_theta', 10000);
  return {
    modelType,
    hiddenSize,
    intermediateSize: int(cfg, file, 'intermediate_size'),
    nLayers: int(cfg, file, 'num_hidden_layers'),
    nHeads,
    // HF's rule: no num_key_value_heads means one kv head per query head
    nKvHeads: int(cfg, file, 'num_key_value_heads', nHeads),
    headDim,
    vocabSize: int(cfg, file, 'vocab_size'),
    rmsNormEps: num(cfg, file, 'rms_norm_eps'),
    ropeTheta,
    ropeFactors: hfRopeFactors(cfg.rope_scaling, headDim, ropeTheta, file),
    ropeInterleaved: false,
    maxPositions: int(cfg, file, 'max_position_embeddings'),
    slidingWindow: hfSlidingWindow(cfg, file, int(cfg, file, 'max_position_embeddings')),
    tieWordEmbeddings: cfg.tie_word_embeddings === true || (gemma && cfg.tie_word_embeddings === undefined),
    qkvBias: modelType === 'qwen2' || cfg.attention_bias === true,
    ...(gemma ? gemmaParts(cfg, file, hiddenSize) : {}),
    bosId: bos.length ? bos[0] : null,
    eosIds: ids(cfg, 'eos_token_id'),
  };
}

/** Checks head counts; throws naming `file`. */
export function checkLlamaConfig(c: LlamaConfig, file: string): LlamaConfig {
  if (c.nKvHeads < 1 || c.nHeads % c.nKvHeads !== 0) throw new Error(`${file}: ${c.nHeads} attention heads are not a multiple of ${c.nKvHeads} kv heads`);
  if (!Number.isInteger(c.headDim) || c.headDim % 2 !== 0) throw new Error(`${file}: head dim ${c.headDim} must be an even integer`);
  const f = c.ropeFactors;
  if (f && (f.length !== c.headDim / 2 || !f.every((x) => Number.isFinite(x) && x > 0))) {
    throw new Error(`${file}: rope frequency factors must be ${c.headDim / 2} positive numbers (one per rotary pair), got ${f.length}`);
  }
  return c;
}

class LlamaAttention extends Module {
  constructor(public q_proj: Linear, public k_proj: Linear, public v_proj: Linear, public o_proj: Linear, private readonly _c: LlamaConfig) {
    super();
  }

  forward(h: Tensor, positions: Tensor, cache: KVCache | undefined, layer: number, starts: readonly number[]): Tensor {
    const { nHeads: H, nKvHeads: Hkv, headDim: D, ropeTheta, ropeInterleaved } = this._c;
    const [B, T] = h.shape;
    const rot = { rotaryDim: D, interleaved: ropeInterleaved, base: ropeTheta, freqFactors: this._c.ropeFactors };
    const q = ops.rope(this.q_proj.forward(h).reshape(B, T, H, D), positions, rot); // (B, T, H, D)
    const k = ops.rope(this.k_proj.forward(h).reshape(B, T, Hkv, D), positions, rot); // (B, T, Hkv, D)
    const v = this.v_proj.forward(h).reshape(B, T, Hkv, D);
    return this.o_proj.forward(causalAttention(q, k, v, cache, layer, starts, this._c.slidingWindow ?? 0)); // (B, T, C)
  }
}

class LlamaMLP extends Module {
  constructor(public gate_proj: Linear, public up_proj: Linear, public down_proj: Linear, private readonly _gelu: boolean) {
    super();
  }

  forward(h: Tensor): Tensor {
    const g = this.gate_proj.forward(h);
    return this.down_proj.forward(ops.mul(this._gelu ? ops.geluNew(g) : ops.silu(g), this.up_proj.forward(h)));
  }
}

class LlamaLayer extends Module {
  constructor(public input_layernorm: RMSNorm, public self_attn: LlamaAttention, public post_attention_layernorm: RMSNorm, public mlp: LlamaMLP) {
    super();
  }
}

class LlamaModel extends Module {
  constructor(public embed_tokens: Embedding, public layers: LlamaLayer[], public norm: RMSNorm) {
    super();
  }
}

/** LLaMA-family causal LM. Build with `LlamaForCausalLM.load`. */
export class LlamaForCausalLM extends Module implements CausalLM {
  readonly info: ModelInfo;

  /** lm_head is null for tied models: the head reads model.embed_tokens.weight. */
  constructor(public model: LlamaModel, public lm_head: Linear | null, readonly config: LlamaConfig, readonly backend: Backend) {
    super();
    this.info = {
      modelType: config.modelType,
      family: 'llama',
      vocabSize: config.vocabSize,
      nLayers: config.nLayers,
      nKvHeads: config.nKvHeads,
      headDim: config.headDim,
      maxPositions: config.maxPositions,
      bosId: config.bosId,
      eosIds: config.eosIds,
      addsBos: llamaAddsBos(config.modelType),
      sampling: LLAMA_SAMPLING,
    };
    this.eval();
  }

  static load(c: LlamaConfig, w: WeightLoader): LlamaForCausalLM {
    checkLlamaConfig(c, w.configFile);
    const { hiddenSize: C, intermediateSize: I, nHeads: H, nKvHeads: Hkv, headDim: D, rmsNormEps: eps } = c;
    const norm = (prefix: string): RMSNorm => loadRMSNorm(w, prefix, C, eps, c.normOffset ?? 0);
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < c.nLayers; i++) {
      const p = `model.layers.${i}`;
      const attn = new LlamaAttention(
        loadLinear(w, `${p}.self_attn.q_proj`, H * D, C, c.qkvBias),
        loadLinear(w, `${p}.self_attn.k_proj`, Hkv * D, C, c.qkvBias),
        loadLinear(w, `${p}.self_attn.v_proj`, Hkv * D, C, c.qkvBias),
        loadLinear(w, `${p}.self_attn.o_proj`, C, H * D, false),
        c,
      );
      const mlp = new LlamaMLP(loadLinear(w, `${p}.mlp.gate_proj`, I, C, false), loadLinear(w, `${p}.mlp.up_proj`, I, C, false), loadLinear(w, `${p}.mlp.down_proj`, C, I, false),
        c.mlpAct === 'gelu_tanh');
      layers.push(new LlamaLayer(norm(`${p}.input_layernorm`), attn, norm(`${p}.post_attention_layernorm`), mlp));
    }
    const embed = loadEmbedding(w, 'model.embed_tokens.weight', [c.vocabSize, C]);
    const model = new LlamaModel(embed, layers, norm('model.norm'));
    const head = c.tieWordEmbeddings ? null : loadLinear(w, 'lm_head', c.vocabSize, C, false);
    return new LlamaForCausalLM(model, head, c, w.backend);
  }

  forward(ids: Tensor, o: ForwardOptions = {}): Tensor {
    return planned(this, ids, o) ?? this.forwardOps(ids, o);
  }

  /** The forward, op by op (a batch-1 decode step replays a plan captured from it: decode-plan.ts). */
  forwardOps(ids: Tensor, o: ForwardOptions): Tensor {
    const { starts, lengths, positions } = beginChunk(ids, o, this.config.maxPositions);
    let x = o.embeds ?? this.embed(ids); // (B, T, C)
    if (this.config.embedScale) x = ops.mul(x, this.config.embedScale); // Gemma
    x = runLayers(this, x, o, this.model.layers.length, (xi, i) => {
      const layer = this.model.layers[i];
      const a = layer.self_attn.forward(layer.input_layernorm.forward(xi), positions, o.cache, i, starts);
      const h = ops.add(xi, a);
      const m = layer.mlp.forward(layer.post_attention_layernorm.forward(h));
      const out = ops.add(h, m);
      if (o.trace) for (const [k, t] of [['attn_out', a], ['ffn_out', m], ['out', out]] as const) o.trace.set(`layers.${i}.${k}`, t);
      return out;
    });
    const last = endChunk(x, o, lengths);
    const h = this.model.norm.forward(last);
    return this.lm_head ? this.lm_head.forward(h) : ops.linear(h, this.model.embed_tokens.weight);
  }

  embed(ids: Tensor): Tensor {
    return this.model.embed_tokens.forward(ids);
  }

  newCache(batch: number, maxLen: number): KVCache {
    return new KVCache(this.backend, this.config.nLayers, batch, this.config.nKvHeads, Math.min(maxLen, this.config.maxPositions), this.config.headDim);
  }
}
