/**
 * `moss quantize --model <in> --type q8_0|q4_0 --out <file.gguf>`: any checkpoint the loader reads
 * → a GGUF with 2-D weights quantized (ggml Q8_0/Q4_0 blocks along the in-features) and 1-D tensors
 * (norms, biases) kept f32. LLaMA-family inputs (HF llama/mistral/qwen2 folders, llama2.c .bin, GGUF)
 * are written as llama.cpp names them (arch `llama`), so llama.cpp can load them. PLANNED, not done:
 * HF folders (llama names with q/k permuted as convert_hf_to_gguf.py does; MOSS/CodeGen
 * folders as our arch `moss` (HF tensor names, `moss.config` = config.json text; docs/quantization.md).
 * GGUF metadata (incl. tokenizer) of a GGUF input is kept; HF/llama2.c tokenizers are NOT converted yet.
 * Deliberately does not: k-quants, importance matrices, or splitting files.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import type { View } from '../backends/backend.js';
import { DTYPES } from '../backends/dtype.js';
import { refBackend } from '../backends/ref/index.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../backends/ref/quant.js';
import { readGguf, readLlama2c, writeGguf, type GgufWriteTensor } from '../io/index.js';

type QType = 'q8_0' | 'q4_0';

/** Contiguous f32 copy of any float or quantized view. */
function f32Of(v: View): Float32Array {
  const n = v.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = 1;
  const strides = v.shape.map(() => 0);
  for (let i = v.shape.length - 1; i >= 0; i--) { strides[i] = s; s *= v.shape[i]; }
  const ov: View = { storage: { buffer: out.buffer, byteOffset: 0, byteLength: out.byteLength }, dtype: 'f32', shape: v.shape, strides, offset: 0 };
  if (DTYPES[v.dtype].isQuant) refBackend.dequantize(ov, v);
  else refBackend.copy(ov, v);
  return out;
}

function encode(name: string, v: View, q: QType, quantize: boolean): GgufWriteTensor {
  const w = f32Of(v);
  if (quantize && v.shape.length === 2 && v.shape[1] % 32 === 0) {
    return { name, dtype: q, shape: v.shape, data: q === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w) };
  }
  return { name, dtype: 'f32', shape: v.shape, data: new Uint8Array(w.buffer) };
}

/** HF LLaMA names -> llama.cpp names (the inverse of src/models/gguf-model.ts). */
function llamaCppName(n: string): string | undefined {
  const top: Record<string, string> = { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' };
  if (top[n]) return top[n];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(n);
  if (!m) return undefined;
  const map: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight', 'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight', 'self_attn.q_proj.bias': 'attn_q.bias', 'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.bias': 'attn_v.bias', 'self_attn.o_proj.weight': 'attn_output.weight', 'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight', 'mlp.up_proj.weight': 'ffn_up.weight', 'mlp.down_proj.weight': 'ffn_down.weight',
  };
  return map[m[2]] ? `blk.${m[1]}.${map[m[2]]}` : undefined;
}

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

export function quantizeModel(input: string, q: QType, out: string): { tensors: number; arch: string } {
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  const tensors: GgufWriteTensor[] = [];
  let metadata: Record<string, unknown>;
  if (statSync(input).isDirectory()) {
    // TODO(quant): HF folders (llama names + q/k permute; MOSS as arch `moss`) — needs a name listing in WeightSource
    throw new Error(`${input}: HF folders are not supported by quantize yet; GGUF and llama2.c .bin inputs work`);
  } else if (input.endsWith('.gguf')) {
    const g = readGguf(input);
    metadata = { ...g.metadata, 'general.file_type': q === 'q8_0' ? 7 : 2 };
    for (const [name, v] of g.tensors) tensors.push(encode(name, v, q, v.shape.length === 2));
  } else if (input.endsWith('.bin')) {
    const f = readLlama2c(input);
    const k = f.config;
    metadata = {
      'general.architecture': 'llama', 'general.name': 'llama2c', 'general.file_type': q === 'q8_0' ? 7 : 2,
      'llama.context_length': k.seqLen, 'llama.embedding_length': k.dim, 'llama.block_count': k.nLayers,
      'llama.feed_forward_length': k.hiddenDim, 'llama.attention.head_count': k.nHeads, 'llama.attention.head_count_kv': k.nKvHeads,
      'llama.attention.layer_norm_rms_epsilon': k.normEps, 'llama.rope.dimension_count': k.headSize, 'llama.rope.freq_base': k.ropeTheta,
      'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2,
    };
    for (const [name, v] of f.tensors) {
      const gn = llamaCppName(name);
      if (!gn) continue;
      // llama2.c keeps q/k in adjacent-pair rope order already (= llama.cpp's layout); no permute
      if (!k.ropeInterleaved && /attn_[qk]\.weight$/.test(gn)) {
        const heads = gn.endsWith('attn_q.weight') ? k.nHeads : k.nKvHeads;
        const w = permuteQk(f32Of(v), v.shape[0], v.shape[1], heads);
        tensors.push({ name: gn, dtype: q, shape: v.shape, data: q === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w) });
      } else {
        tensors.push(encode(gn, v, q, v.shape.length === 2));
      }
    }
  } else {
    throw new Error(`${input}: unknown model file (expected an HF folder, a .gguf file or a llama2.c .bin)`);
  }
  writeGguf(out, { metadata, tensors });
  return { tensors: tensors.length, arch: String(metadata['general.architecture']) };
}

export function register(program: Command): void {
  if (program.commands.some((c) => c.name() === 'quantize')) return;
  program
    .command('quantize')
    .description('write a GGUF with 2-d weights quantized to q8_0 or q4_0 (norms and biases stay f32)')
    .requiredOption('--model <path>', 'a .gguf file or a llama2.c .bin')
    .requiredOption('--type <type>', 'q8_0 or q4_0')
    .requiredOption('--out <file>', 'output .gguf')
    .action((o: { model: string; type: string; out: string }) => {
      if (o.type !== 'q8_0' && o.type !== 'q4_0') throw new Error(`--type: "${o.type}" is not q8_0 or q4_0`);
      if (!o.out.endsWith('.gguf')) throw new Error(`--out: "${o.out}" should end in .gguf`);
      const r = quantizeModel(o.model, o.type, o.out);
      process.stdout.write(`wrote ${o.out}: ${r.tensors} tensors, arch ${r.arch}, ${o.type}\n`);
    });
}
