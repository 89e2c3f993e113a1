/**
 * A freshly initialised MOSS/CodeGen model for training from scratch, built through the same
 * loader as a checkpoint (so names and layout are exactly the HF ones), plus the config.json that
 * describes it. Initialisation follows CodeGen's _init_weights: Normal(0, 0.02) for linear and
 * embedding weights, zero biases, LayerNorm weight 1 / bias 0.
 * Not here: other architectures, muP-style scaled inits.
 */
import type { Backend, View } from '../../backends/backend.js';
import { defaultBackend } from '../../backends/index.js';
import type { Json } from '../config.js';
import { MossForCausalLM, parseMossConfig, type MossConfig } from './model.js';
import { mapSource, WeightLoader } from '../weights.js';
import { full, Generator, randn, type Tensor } from '../../tensor/index.js';

export interface MossShape {
  vocabSize: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  rotaryDim: number;
  nPositions: number;
  nInner?: number;
  bosId?: number;
  eosId?: number;
}

/** config.json contents (HF MossConfig fields) for a model of this shape. */
export function mossConfigJson(s: MossShape): Record<string, unknown> {
  return {
    architectures: ['MossForCausalLM'], model_type: 'moss', activation_function: 'gelu_new',
    vocab_size: s.vocabSize, n_embd: s.nEmbd, n_layer: s.nLayer, n_head: s.nHead, rotary_dim: s.rotaryDim,
    n_positions: s.nPositions, n_ctx: s.nPositions, n_inner: s.nInner ?? null, layer_norm_epsilon: 1e-5,
    bos_token_id: s.bosId ?? 0, eos_token_id: s.eosId ?? 0, initializer_range: 0.02, tie_word_embeddings: false,
    torch_dtype: 'float32',
  };
}

/** Weights by HF name, randomly initialised (CodeGen's rule), seeded. */
export function initMossWeights(c: MossConfig, seed: number, backend: Backend = defaultBackend()): Map<string, Tensor> {
  const g = new Generator(seed);
  const o = { backend, generator: g, std: 0.02 };
  const w = new Map<string, Tensor>();
  const C = c.nEmbd;
  const norm = (p: string) => {
    w.set(`${p}.weight`, full([C], 1, { backend }).keep());
    w.set(`${p}.bias`, full([C], 0, { backend }).keep());
  };
  w.set('transformer.wte.weight', randn([c.vocabSize, C], o).keep());
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;
    norm(`${p}.ln_1`);
    w.set(`${p}.attn.qkv_proj.weight`, randn([3 * C, C], o).keep());
    w.set(`${p}.attn.out_proj.weight`, randn([C, C], o).keep());
    w.set(`${p}.mlp.fc_in.weight`, randn([c.nInner, C], o).keep());
    w.set(`${p}.mlp.fc_in.bias`, full([c.nInner], 0, { backend }).keep());
    w.set(`${p}.mlp.fc_out.weight`, randn([C, c.nInner], o).keep());
    w.set(`${p}.mlp.fc_out.bias`, full([C], 0, { backend }).keep());
  }
  norm('transformer.ln_f');
  w.set('lm_head.weight', randn([c.vocabSize, C], o).keep());
  w.set('lm_head.bias', full([c.vocabSize], 0, { backend }).keep());
  return w;
}

/** A trainable MOSS model over these tensors (training writes them in place: pass owned copies, not mapped files). */
export function mossFromTensors(c: MossConfig, tensors: ReadonlyMap<string, View>, backend: Backend = defaultBackend(), origin = 'init'): MossForCausalLM {
  const loader = new WeightLoader(mapSource(origin, [{ file: origin, tensors }]), backend, 'config.json');
  const m = MossForCausalLM.load(c, loader);
  for (const [, p] of m.namedParameters()) p.requiresGrad_(true);
  return m;
}

/** A freshly initialised, trainable MOSS model and its config.json object. */
export function newMoss(s: MossShape, seed: number, backend: Backend = defaultBackend()): { model: MossForCausalLM; configJson: Record<string, unknown> } {
  const configJson = mossConfigJson(s);
  const c = parseMossConfig(configJson as Json, 'config.json');
  const model = mossFromTensors(c, initMossWeights(c, seed, backend), backend);
  model.train();
  return { model, configJson };
}
