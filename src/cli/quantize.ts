/**
 * `moss quantize --model <in> --type q8_0|q4_0 --out <file.gguf>`: any checkpoint the loader reads
 * → a GGUF with 2-D weights quantized (ggml Q8_0/Q4_0 blocks along the in-features) and 1-D tensors
 * (norms, biases) kept f32. LLaMA-family inputs (HF llama/mistral/qwen2 folders, llama2.c .bin, GGUF)
 * are written as llama.cpp names them (arch `llama` / `qwen2`; HF q/k rows permuted as
 * convert_hf_to_gguf.py does), so llama.cpp can load them. MOSS/CodeGen folders become our arch
 * `moss` (HF tensor names, `moss.config` = config.json text; docs/quantization.md). The tokenizer
 * travels as `tokenizer.ggml.*` metadata (a GGUF input keeps its own).
 * Deliberately does not: k-quants, importance matrices, or splitting files.
 */
import { hfRopeFactors } from '../models/rope-scaling.js';
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import type { View } from '../backends/backend.js';
import { DTYPES } from '../backends/dtype.js';
import { refBackend } from '../backends/ref/index.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../backends/ref/quant.js';
import { openHfFolder, readGguf, readLlama2c, writeGguf, type GgufWriteTensor } from '../io/index.js';
import { loadTokenizer } from '../io/load-tokenizer.js';

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

/** The tokenizer beside a model as GGUF metadata (empty when there is none). */
function tokenizerMetadata(dir: string, files: string[] = []): Record<string, unknown> {
  for (const p of [dir, ...files.map((f) => `${dir}/${f}`)]) {
    if (p !== dir && !existsSync(p)) continue;
    let tok;
    try {
      tok = loadTokenizer(p);
    } catch {
      continue;
    }
    const t = tok as unknown as { ggufMetadata?: () => Record<string, unknown> };
    if (t.ggufMetadata) return t.ggufMetadata();
  }
  return {};
}

const LLAMA_TYPES: Record<string, string> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2' };

/** An HF folder's tensors (appended to `out`) and GGUF metadata: MOSS as arch `moss`, LLaMA-family in llama.cpp naming. */
function hfFolderTensors(dir: string, q: QType, out: GgufWriteTensor[]): Record<string, unknown> {
  const hf = openHfFolder(dir);
  const c = hf.config;
  const type = String(c.model_type);
  const fileType = q === 'q8_0' ? 7 : 2;
  const tok = tokenizerMetadata(dir);
  const names = hf.names();
  if (type === 'moss' || type === 'codegen') {
    for (const name of names) {
      if (/\.attn\.(causal_mask|masked_bias)$/.test(name)) continue; // buffers, not weights
      const v = hf.get(name);
      out.push(encode(name, v, q, v.shape.length === 2));
    }
    return { 'general.architecture': 'moss', 'general.name': String(c._name_or_path ?? type), 'general.file_type': fileType, 'moss.config': JSON.stringify(c), ...tok };
  }
  const arch = LLAMA_TYPES[type];
  if (!arch) throw new Error(`${dir}/config.json: model_type "${type}" cannot be quantized (moss, codegen, llama, mistral, qwen2 can)`);
  const num = (k: string, d?: number): number => {
    const v = c[k] ?? d;
    if (typeof v !== 'number') throw new Error(`${dir}/config.json: ${k} is missing or not a number`);
    return v;
  };
  const heads = num('num_attention_heads');
  const kvHeads = num('num_key_value_heads', heads);
  const hidden = num('hidden_size');
  // rope scaling travels as llama.cpp's rope_freqs tensor (its convert script does this for llama3)
  const factors = hfRopeFactors(c.rope_scaling, hidden / heads, num('rope_theta', 10000), `${dir}/config.json`);
  if (factors) out.push({ name: 'rope_freqs.weight', dtype: 'f32', shape: [factors.length], data: new Uint8Array(Float32Array.from(factors).buffer) });
  // a tied head has no lm_head.weight: llama.cpp then uses token_embd for the output, as we do
  for (const name of names) {
    const gn = llamaCppName(name);
    if (!gn) continue;
    const v = hf.get(name);
    if (arch === 'llama' && /attn_[qk]\.(weight|bias)$/.test(gn)) {
      // convert_hf_to_gguf permutes q/k rows (and their biases) into adjacent rope pairs
      const cols = v.shape.length === 2 ? v.shape[1] : 1;
      const w = permuteQk(f32Of(v), v.shape[0], cols, gn.includes('attn_q') ? heads : kvHeads);
      out.push(v.shape.length === 2
        ? { name: gn, dtype: q, shape: v.shape, data: q === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w) }
        : { name: gn, dtype: 'f32', shape: v.shape, data: new Uint8Array(w.buffer) });
    } else out.push(encode(gn, v, q, v.shape.length === 2));
  }
  return {
    'general.architecture': arch, 'general.name': String(c._name_or_path ?? type), 'general.file_type': fileType,
    [`${arch}.context_length`]: num('max_position_embeddings', 2048), [`${arch}.embedding_length`]: hidden,
    [`${arch}.block_count`]: num('num_hidden_layers'), [`${arch}.feed_forward_length`]: num('intermediate_size'),
    [`${arch}.attention.head_count`]: heads, [`${arch}.attention.head_count_kv`]: kvHeads,
    [`${arch}.attention.layer_norm_rms_epsilon`]: num('rms_norm_eps', 1e-6), [`${arch}.rope.freq_base`]: num('rope_theta', 10000),
    [`${arch}.rope.dimension_count`]: hidden / heads,
    ...tok,
  };
}

export function quantizeModel(input: string, q: QType, out: string): { tensors: number; arch: string } {
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  const tensors: GgufWriteTensor[] = [];
  let metadata: Record<string, unknown>;
  if (statSync(input).isDirectory()) {
    metadata = hfFolderTensors(input, q, tensors);
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
    Object.assign(metadata, tokenizerMetadata(input.replace(/[^/]*$/, '') || '.', ['tokenizer.bin', 'tok512.bin']));
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
    .requiredOption('--model <path>', 'an HF folder (moss, codegen, llama, mistral, qwen2), a .gguf or a llama2.c .bin')
    .requiredOption('--type <type>', 'q8_0 or q4_0')
    .requiredOption('--out <file>', 'output .gguf')
    .action((o: { model: string; type: string; out: string }) => {
      if (o.type !== 'q8_0' && o.type !== 'q4_0') throw new Error(`--type: "${o.type}" is not q8_0 or q4_0`);
      if (!o.out.endsWith('.gguf')) throw new Error(`--out: "${o.out}" should end in .gguf`);
      const r = quantizeModel(o.model, o.type, o.out);
      process.stdout.write(`wrote ${o.out}: ${r.tensors} tensors, arch ${r.arch}, ${o.type}\n`);
    });
}
