/**
 * MOSS-moon-003 / CodeGen (GPT-J style), exact to HF transformers' modeling_codegen.py (MOSS's
 * modeling_moss.py is the same code): one ln_1 per block feeding attention and MLP in parallel
 * (x + attn(h) + mlp(h)); fused qkv_proj without bias; GPT-J rotate-every-two rotary on the first
 * rotary_dim dims of each head (base 10000); scores in f32 scaled by 1/sqrt(head_dim); gelu_new
 * MLP with biases; ln_f; lm_head with bias; no tied embeddings.
 * Fields are named like checkpoint keys (transformer.h.N.attn.qkv_proj.weight ...), so loading is
 * a walk; `attn.causal_mask` / `attn.masked_bias` buffers in checkpoints are ignored.
 * Not here: dropout (inference), GPTQ int4/int8 layers (later), multi-device sharding.
 * Legend: B batch, T time, C channels (n_embd), H heads, D head dim, V vocab.
 */
import type { Backend } from '../../backends/backend.js';
import { Module, type Embedding, type LayerNorm, type Linear } from '../../nn/index.js';
import { ops, type Tensor } from '../../tensor/index.js';
import { beginChunk, causalAttention, endChunk } from '../attention.js';
import { ids, int, num, type Json } from '../config.js';
import { planned } from '../decode-plan.js';
import { runLayers } from '../layer-scope.js';
import { MOSS_ADDS_BOS, MOSS_SAMPLING } from './defaults.js';
import { KVCache } from '../kv-cache.js';
import { loadLayerNorm, loadLinear } from '../layers.js';
import { loadEmbedding } from '../quant-embedding.js';
import type { CausalLM, ForwardOptions, ModelInfo } from '../types.js';
import type { WeightLoader } from '../weights.js';

/** MOSS packs qkv for 4 TPU shards: view qkv as (..., 4, 3C/4) and split each shard in q, v, k order. */
const MP_NUM = 4;

export interface MossConfig {
  modelType: string;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  rotaryDim: number;
  nPositions: number;
  vocabSize: number;
  layerNormEpsilon: number;
  /** MLP width: n_inner, or 4 * n_embd when config.json has n_inner null (HF's rule). */
  nInner: number;
  bosId: number | null;
  eosIds: number[];
}

/** Reads a MOSS/CodeGen config.json object; every shape field is required. */
export function parseMossConfig(cfg: Json, file: string): MossConfig {
  const nEmbd = int(cfg, file, 'n_embd');
  const nHead = int(cfg, file, 'n_head');
  const act = cfg.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new') throw new Error(`${file}: activation_function '${String(act)}' is not supported (MOSS/CodeGen use gelu_new)`);
  if (nHead % MP_NUM !== 0 || nEmbd % nHead !== 0) throw new Error(`${file}: n_head ${nHead} must be a multiple of ${MP_NUM} and divide n_embd ${nEmbd}`);
  const rotaryDim = int(cfg, file, 'rotary_dim');
  if (rotaryDim % 2 !== 0 || rotaryDim > nEmbd / nHead) throw new Error(`${file}: rotary_dim ${rotaryDim} must be even and at most the head dim ${nEmbd / nHead}`);
  const bos = ids(cfg, 'bos_token_id');
  return {
    modelType: String(cfg.model_type ?? 'moss'),
    nEmbd,
    nLayer: int(cfg, file, 'n_layer'),
    nHead,
    rotaryDim,
    nPositions: int(cfg, file, 'n_positions'),
    vocabSize: int(cfg, file, 'vocab_size'),
    layerNormEpsilon: num(cfg, file, 'layer_norm_epsilon'),
    nInner: cfg.n_inner === null || cfg.n_inner === undefined ? 4 * nEmbd : int(cfg, file, 'n_inner'),
    bosId: bos.length ? bos[0] : null,
    eosIds: ids(cfg, 'eos_token_id'),
  };
}

class MossAttention extends Module {
  constructor(public qkv_proj: Linear, public out_proj: Linear, private readonly _c: MossConfig) {
    super();
  }

  forward(h: Tensor, positions: Tensor, cache: KVCache | undefined, layer: number, starts: readonly number[]): Tensor {
    const { nEmbd: C, nHead: H, rotaryDim } = this._c;
    const D = C / H;
    const [B, T] = h.shape;
    const qkv = this.qkv_proj.forward(h).reshape(B, T, MP_NUM, (3 * C) / MP_NUM); // (B, T, 4, 3C/4)
    const local = C / MP_NUM;
    // shard s holds heads s*H/4 .. (s+1)*H/4 - 1 of each of q, v, k
    const heads = (i: number): Tensor => qkv.slice(-1, i * local, (i + 1) * local).reshape(B, T, H, D);
    const rot = { rotaryDim, interleaved: true, base: 10000 };
    const q = ops.rope(heads(0), positions, rot); // (B, T, H, D)
    const v = heads(1);
    const k = ops.rope(heads(2), positions, rot);
    return this.out_proj.forward(causalAttention(q, k, v, cache, layer, starts)); // (B, T, C)
  }
}

class MossMLP extends Module {
  constructor(public fc_in: Linear, public fc_out: Linear) {
    super();
  }

  forward(h: Tensor): Tensor {
    return this.fc_out.forward(ops.geluNew(this.fc_in.forward(h)));
  }
}

class MossBlock extends Module {
  constructor(public ln_1: LayerNorm, public attn: MossAttention, public mlp: MossMLP) {
    super();
  }
}

class MossTransformer extends Module {
  constructor(public wte: Embedding, public h: MossBlock[], public ln_f: LayerNorm) {
    super();
  }
}

/** MOSS / CodeGen causal LM. Build with `MossForCausalLM.load`. */
export class MossForCausalLM extends Module implements CausalLM {
  readonly info: ModelInfo;

  constructor(public transformer: MossTransformer, public lm_head: Linear, readonly config: MossConfig, readonly backend: Backend) {
    super();
    this.info = {
      modelType: config.modelType,
      family: 'moss',
      vocabSize: config.vocabSize,
      nLayers: config.nLayer,
      nKvHeads: config.nHead,
      headDim: config.nEmbd / config.nHead,
      maxPositions: config.nPositions,
      bosId: config.bosId,
      eosIds: config.eosIds,
      addsBos: MOSS_ADDS_BOS,
      sampling: MOSS_SAMPLING,
    };
    this.eval();
  }

  /**
   * Builds the model from checkpoint weights (names as in HF checkpoints). `head: 'score'` loads a
   * preference model instead: the same backbone with `score.weight` (1, C), no bias, as the head,
   * so forward gives one reward per position (B, T, 1).
   */
  static load(c: MossConfig, w: WeightLoader, head: 'lm_head' | 'score' = 'lm_head'): MossForCausalLM {
    const { nEmbd: C, nInner: I, layerNormEpsilon: eps } = c;
    const blocks: MossBlock[] = [];
    for (let i = 0; i < c.nLayer; i++) {
      const p = `transformer.h.${i}`;
      blocks.push(new MossBlock(
        loadLayerNorm(w, `${p}.ln_1`, C, eps),
        new MossAttention(loadLinear(w, `${p}.attn.qkv_proj`, 3 * C, C, false), loadLinear(w, `${p}.attn.out_proj`, C, C, false), c),
        new MossMLP(loadLinear(w, `${p}.mlp.fc_in`, I, C, true), loadLinear(w, `${p}.mlp.fc_out`, C, I, true)),
      ));
    }
    const wte = loadEmbedding(w, 'transformer.wte.weight', [c.vocabSize, C]);
    const transformer = new MossTransformer(wte, blocks, loadLayerNorm(w, 'transformer.ln_f', C, eps));
    const out = head === 'score' ? loadLinear(w, 'score', 1, C, false) : loadLinear(w, 'lm_head', c.vocabSize, C, true);
    return new MossForCausalLM(transformer, out, c, w.backend);
  }

  forward(ids: Tensor, o: ForwardOptions = {}): Tensor {
    return planned(this, ids, o) ?? this.forwardOps(ids, o);
  }

  /** The forward, op by op (a batch-1 decode step replays a plan captured from it: decode-plan.ts). */
  forwardOps(ids: Tensor, o: ForwardOptions): Tensor {
    const { starts, lengths, positions } = beginChunk(ids, o, this.config.nPositions);
    let x = o.embeds ?? this.embed(ids); // (B, T, C)
    x = runLayers(this, x, o, this.transformer.h.length, (xi, i) => {
      const blk = this.transformer.h[i];
      const h = blk.ln_1.forward(xi);
      const a = blk.attn.forward(h, positions, o.cache, i, starts);
      const m = blk.mlp.forward(h);
      const out = ops.add(ops.add(a, m), xi);
      if (o.trace) for (const [k, t] of [['attn_out', a], ['mlp_out', m], ['out', out]] as const) o.trace.set(`h.${i}.${k}`, t);
      return out;
    });
    const last = endChunk(x, o, lengths);
    return this.lm_head.forward(this.transformer.ln_f.forward(last));
  }

  embed(ids: Tensor): Tensor {
    return this.transformer.wte.forward(ids);
  }

  newCache(batch: number, maxLen: number): KVCache {
    return new KVCache(this.backend, this.config.nLayer, batch, this.config.nHead, Math.min(maxLen, this.config.nPositions), this.config.nEmbd / this.config.nHead);
  }
}
