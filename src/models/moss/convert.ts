/**
 * A MOSS/CodeGen HF folder as a GGUF of our arch `moss` (docs/quantization.md): tensors keep their
 * HF names, metadata `moss.config` holds the config.json text (read back by ./gguf.ts). GPTQ
 * folders (MOSS -int4/-int8 releases) are dequantized exactly (../gptq.ts) before quantizing —
 * packed integers are never read as floats — and their quantization keys leave the config.
 * Not here: the streaming writer (../quantize.ts), llama.cpp naming (MOSS has no llama.cpp arch).
 */
import type { View } from '../../backends/backend.js';
import { fromF32, fromHf, type HfPlan, type Planned } from '../gguf-plan.js';
import { dequantizeGptqFast, type GptqParts } from '../gptq.js';

/** GPTQ settings of an HF folder (config.json keys as MOSS's int4/int8 releases write them), or null. */
export function gptqConfig(config: Record<string, unknown>, names: readonly string[], where: string): { wbits: number; groupsize: number } | null {
  const qc = (config.quantization_config ?? {}) as Record<string, unknown>;
  const wbits = config.wbits ?? qc.bits ?? qc.wbits;
  const hasQ = names.some((n) => n.endsWith('.qweight'));
  if (wbits === undefined && !hasQ) return null;
  if (!hasQ) throw new Error(`${where}: wbits is ${String(wbits)} but no tensor is GPTQ-packed (no *.qweight)`);
  const groupsize = Number(config.groupsize ?? qc.group_size ?? qc.groupsize ?? 128);
  const bits = Number(wbits ?? 4);
  if (bits !== 4 && bits !== 8) throw new Error(`${where}: wbits ${String(wbits)} is not supported (4 or 8)`);
  return { wbits: bits, groupsize };
}

/** The planned tensors and GGUF metadata of MOSS HF folder `p`. */
export function planMossHf(p: HfPlan): { plan: Planned[]; metadata: Record<string, unknown> } {
  const { dir, hf, names, pick } = p;
  const c = hf.config;
  const plan: Planned[] = [];
  const gptq = gptqConfig(c, names, `${dir}/config.json`);
  const packed = new Set<string>();
  if (gptq) {
    for (const n of names) {
      if (!n.endsWith('.qweight')) continue;
      const l = n.slice(0, -'.qweight'.length);
      for (const s of ['qweight', 'qzeros', 'scales', 'g_idx']) packed.add(`${l}.${s}`);
      const need = (s: string): View => {
        if (!names.includes(`${l}.${s}`)) throw new Error(`${dir}: tensor '${l}.${s}' is missing (GPTQ layer ${l} has a qweight)`);
        return hf.get(`${l}.${s}`);
      };
      const parts = (): GptqParts => ({ qweight: need('qweight'), qzeros: need('qzeros'), scales: need('scales'), gIdx: names.includes(`${l}.g_idx`) ? hf.get(`${l}.g_idx`) : null });
      const qw = hf.get(n);
      const K = qw.shape[0] * (32 / gptq.wbits), N = qw.shape[1];
      if (K % gptq.groupsize !== 0) throw new Error(`${dir}: tensor '${n}': groupsize ${gptq.groupsize} does not divide the ${K} in-features`);
      plan.push(fromF32(`${l}.weight`, [N, K], pick(`${l}.weight`, [N, K]), () => dequantizeGptqFast(parts(), l)));
    }
  }
  for (const name of names) {
    if (/\.attn\.(causal_mask|masked_bias)$/.test(name) || packed.has(name)) continue; // buffers / GPTQ parts
    plan.push(fromHf(p, name, name));
  }
  const config = { ...c };
  if (gptq) for (const k of ['wbits', 'groupsize', 'quantization_config']) delete config[k];
  return { plan, metadata: { 'general.architecture': 'moss', 'general.name': String(c._name_or_path ?? c.model_type), 'general.file_type': p.fileType, 'moss.config': JSON.stringify(config), ...p.tokenizer } };
}
