/**
 * llama.cpp's per-tensor type choice for its k-quant file types (llama-quant.cpp,
 * llama_tensor_get_type, no importance matrix, dense models), for `moss quantize --type
 * q4_k_m|q5_k_m|q6_k`:
 * - Q4_K_M (file type 15): Q4_K, except output.weight (or token_embd when the head is tied) Q6_K,
 *   attn_v and ffn_down Q6_K in the layers `useMoreBits` picks, fused attn_qkv Q5_K;
 * - Q5_K_M (17): the same with Q5_K as the base (fused attn_qkv Q6_K);
 * - Q6_K (18): Q6_K everywhere.
 * Names are llama.cpp's (blk.N.attn_v.weight) or HF/MOSS ones (model.layers.N.self_attn.v_proj.weight,
 * transformer.h.N.attn.qkv_proj.weight, mlp.fc_out). A weight whose rows are not whole 256-value
 * super-blocks falls back to Q8_0 (llama.cpp picks Q5_0/Q5_1/Q8_0 there; Q5_0/Q5_1 are not written here).
 * Deliberately does not: the MoE / 70B / Falcon special cases, importance matrices, the _S/_L mixes.
 */
import type { QuantType } from '../io/quantize-rows.js';

export type KMix = 'q4_k_m' | 'q5_k_m' | 'q6_k';
export const KMIXES: readonly KMix[] = ['q4_k_m', 'q5_k_m', 'q6_k'];
/** llama_ftype values written as general.file_type. */
export const KMIX_FILE_TYPE: Record<KMix, number> = { q4_k_m: 15, q5_k_m: 17, q6_k: 18 };
const BASE: Record<KMix, QuantType> = { q4_k_m: 'q4_k', q5_k_m: 'q5_k', q6_k: 'q6_k' };

export function isKMix(s: string): s is KMix {
  return (KMIXES as readonly string[]).includes(s);
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between. */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.floor(n / 8);
  return i < e || i >= Math.floor((7 * n) / 8) || (i - e) % 3 === 2;
}

type Role = 'output' | 'embd' | 'attn_v' | 'ffn_down' | 'attn_qkv' | 'other';

function roleOf(name: string): Role {
  if (/^(output|lm_head)\.weight$/.test(name)) return 'output';
  if (/^(token_embd|model\.embed_tokens|transformer\.wte)\.weight$/.test(name)) return 'embd';
  if (/(\.attn_v|\.self_attn\.v_proj)\.weight$/.test(name)) return 'attn_v';
  if (/(\.ffn_down|\.mlp\.down_proj|\.mlp\.fc_out)\.weight$/.test(name)) return 'ffn_down';
  if (/(\.attn_qkv|\.attn\.qkv_proj)\.weight$/.test(name)) return 'attn_qkv';
  return 'other';
}

function layerOf(name: string): number {
  const m = /(?:^blk|layers|^transformer\.h)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : 0;
}

/**
 * The per-tensor chooser of `mix` for a model whose tensor names are `names`: (name, 2-d shape) ->
 * the type to write. 1-d tensors are the caller's (they stay f32).
 * @example const pick = kmixPicker('q4_k_m', names); pick('blk.0.attn_v.weight', [512, 4096]) // 'q6_k'
 */
export function kmixPicker(mix: KMix, names: readonly string[]): (name: string, shape: readonly number[]) => QuantType {
  const count = (r: Role): number => names.filter((n) => roleOf(n) === r).length;
  const nV = count('attn_v') + count('attn_qkv');
  const nDown = count('ffn_down');
  const hasOutput = count('output') > 0;
  const base = BASE[mix];
  return (name, shape) => {
    let t: QuantType = base;
    const role = roleOf(name);
    if (role === 'output' || (role === 'embd' && !hasOutput)) t = 'q6_k';
    else if (mix !== 'q6_k') {
      if (role === 'attn_v' && useMoreBits(layerOf(name), nV)) t = 'q6_k';
      else if (role === 'ffn_down' && useMoreBits(layerOf(name), nDown)) t = 'q6_k';
      else if (role === 'attn_qkv') t = mix === 'q4_k_m' ? 'q5_k' : 'q6_k';
    }
    if (shape.length >= 2 && shape[shape.length - 1] % 256 !== 0) t = 'q8_0';
    return t;
  };
}
