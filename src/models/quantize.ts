/**
 * Quantizing a checkpoint into a GGUF, streaming: `quantizeModel(input, type, out)` plans every
 * output tensor from the input's headers, writes the GGUF header, then converts one tensor at a
 * time — a 2-d float weight is read from its file in chunks of whole rows (readSync into one
 * reused buffer, never the whole tensor, never a mapping that stays resident), quantized in native
 * code across threads (src/io/quantize-rows.ts) and appended — so peak memory stays ~ a few
 * hundred MB whatever the model's size. 2-d weights become ggml Q8_0/Q4_0 blocks along the
 * in-features, or with a k-quant mix (q4_k_m, q5_k_m, q6_k) Q4_K/Q5_K/Q6_K chosen per tensor as
 * llama.cpp does (kquant-mix.ts); 1-d tensors (norms, biases) stay f32.
 * Inputs: HF folders (moss/codegen as our arch `moss` with HF tensor names and `moss.config`;
 * llama/mistral/qwen2 in llama.cpp naming, q/k rows permuted as convert_hf_to_gguf.py does), a
 * .gguf, a llama2.c .bin. GPTQ folders (MOSS -int4/-int8) are dequantized exactly
 * (src/models/gptq.ts) before quantizing — packed integers are never read as floats.
 * The tokenizer travels as `tokenizer.ggml.*` metadata (a GGUF input keeps its own).
 * Deliberately does not: importance matrices, the other k-quant mixes (_S, _L, Q2_K, Q3_K), split files.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { View } from '../backends/backend.js';
import { DTYPES } from '../backends/dtype.js';
import { refBackend } from '../backends/ref/index.js';
import { openHfFolder, readGguf, readLlama2c } from '../io/index.js';
import { writeGgufStreaming, type GgufTensorSpec } from '../io/gguf-write.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { quantizeInto, quantizedBytes, type QuantType, type RawFloat } from '../io/quantize-rows.js';
import type { TensorLocation } from '../io/torch.js';
import { dequantizeGptq, type GptqParts } from './gptq.js';
import { hfRopeFactors } from './llama/rope-scaling.js';
import { hfSlidingWindow } from './llama/model.js';
import { isKMix, KMIX_FILE_TYPE, kmixPicker, type KMix } from './kquant-mix.js';

export type { QuantType, KMix };

/** The type each 2-d weight gets: one type for every tensor, or a k-quant mix's per-tensor choice. */
type Pick = (name: string, shape: readonly number[]) => QuantType;

function picker(q: QuantType | KMix, names: readonly string[]): Pick {
  return isKMix(q) ? kmixPicker(q, names) : () => q;
}

/** general.file_type (llama_ftype) of a conversion. */
function fileTypeOf(q: QuantType | KMix): number {
  return isKMix(q) ? KMIX_FILE_TYPE[q] : q === 'q8_0' ? 7 : q === 'q4_0' ? 2 : 1;
}

/** Progress of a conversion: input bytes done / total, the tensor being written. */
export interface QuantizeProgress {
  readonly done: number;
  readonly total: number;
  readonly tensor: string;
  readonly index: number;
  readonly count: number;
}

export interface QuantizeOptions {
  /** Called after each piece written (many times per big tensor). */
  readonly onProgress?: (p: QuantizeProgress) => void;
  /** Bytes of input read per piece (default 32 MiB). */
  readonly chunkBytes?: number;
}

export interface QuantizeResult {
  readonly tensors: number;
  readonly arch: string;
  /** Bytes of input weights read. */
  readonly inputBytes: number;
  readonly seconds: number;
}

/** One output tensor: its GGUF spec, input bytes (for progress), and how to produce its bytes. */
interface Planned {
  readonly spec: GgufTensorSpec;
  readonly inBytes: number;
  write(put: (b: Uint8Array) => void, progress: (bytes: number) => void): void;
}

const RAW: Record<string, RawFloat | undefined> = { f32: 'f32', f16: 'f16', bf16: 'bf16' };

/** Contiguous f32 copy of any float or quantized view. */
export function f32Of(v: View): Float32Array {
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

function quantizable(shape: readonly number[]): boolean {
  return shape.length === 2 && shape[1] % 32 === 0 && shape[1] > 0;
}

/** A tensor already in memory as f32: quantized (2-d, rows % 32) or written as f32. */
function fromF32(name: string, shape: readonly number[], q: QuantType, get: () => Float32Array, quantize = true): Planned {
  const n = shape.reduce((a, b) => a * b, 1);
  const qz = quantize && quantizable(shape);
  return {
    spec: { name, dtype: qz ? q : 'f32', shape },
    inBytes: n * 4,
    write(put, progress) {
      const w = get();
      if (qz) {
        const out = new Uint8Array(quantizedBytes(q, n));
        quantizeInto(q, new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 'f32', out);
        put(out);
      } else put(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
      progress(n * 4);
    },
  };
}

/** A 2-d float weight streamed from its file in chunks of whole rows. */
function fromFile(name: string, loc: TensorLocation, raw: RawFloat, q: QuantType, chunkBytes: number): Planned {
  const [rows, cols] = loc.shape;
  const es = raw === 'f32' ? 4 : 2;
  const rowBytes = cols * es;
  const perChunk = Math.max(1, Math.floor(chunkBytes / rowBytes));
  return {
    spec: { name, dtype: q, shape: loc.shape },
    inBytes: loc.byteLength,
    write(put, progress) {
      const fd = openSync(loc.file, 'r');
      try {
        const buf = new Uint8Array(Math.min(rows, perChunk) * rowBytes);
        const out = new Uint8Array(quantizedBytes(q, Math.min(rows, perChunk) * cols));
        for (let r = 0; r < rows; r += perChunk) {
          const n = Math.min(perChunk, rows - r);
          const src = buf.subarray(0, n * rowBytes);
          for (let got = 0; got < src.length; ) {
            const k = readSync(fd, src, got, src.length - got, loc.byteOffset + r * rowBytes + got);
            if (k === 0) throw new Error(`${loc.file}: tensor '${name}': the file ends inside its data (truncated)`);
            got += k;
          }
          const dst = out.subarray(0, quantizedBytes(q, n * cols));
          quantizeInto(q, src, raw, dst);
          put(dst);
          progress(src.length);
        }
      } finally {
        closeSync(fd);
      }
    },
  };
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

/** HF LLaMA names -> llama.cpp names (the inverse of src/models/llama/gguf.ts). */
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

/** An HF folder's planned tensors and GGUF metadata. */
function planHf(dir: string, q: QuantType | KMix, chunk: number): { plan: Planned[]; metadata: Record<string, unknown> } {
  const hf = openHfFolder(dir);
  const c = hf.config;
  const type = String(c.model_type);
  const fileType = fileTypeOf(q);
  const tok = tokenizerMetadata(dir);
  const names = hf.names();
  const pick = picker(q, names.map((n) => llamaCppName(n) ?? n));
  const plan: Planned[] = [];
  if (type === 'moss' || type === 'codegen') {
    const gptq = gptqConfig(c, names, `${dir}/config.json`);
    const packed = new Set<string>();
    if (gptq) {
      for (const n of names) {
        if (!n.endsWith('.qweight')) continue;
        const p = n.slice(0, -'.qweight'.length);
        for (const s of ['qweight', 'qzeros', 'scales', 'g_idx']) packed.add(`${p}.${s}`);
        const need = (s: string): View => {
          if (!names.includes(`${p}.${s}`)) throw new Error(`${dir}: tensor '${p}.${s}' is missing (GPTQ layer ${p} has a qweight)`);
          return hf.get(`${p}.${s}`);
        };
        const parts = (): GptqParts => ({ qweight: need('qweight'), qzeros: need('qzeros'), scales: need('scales'), gIdx: names.includes(`${p}.g_idx`) ? hf.get(`${p}.g_idx`) : null });
        const qw = hf.get(n);
        const K = qw.shape[0] * (32 / gptq.wbits), N = qw.shape[1];
        if (K % gptq.groupsize !== 0) throw new Error(`${dir}: tensor '${n}': groupsize ${gptq.groupsize} does not divide the ${K} in-features`);
        plan.push(fromF32(`${p}.weight`, [N, K], pick(`${p}.weight`, [N, K]), () => dequantizeGptq(parts(), p)));
      }
    }
    for (const name of names) {
      if (/\.attn\.(causal_mask|masked_bias)$/.test(name) || packed.has(name)) continue; // buffers / GPTQ parts
      const loc = hf.locate(name);
      const raw = loc ? RAW[loc.dtype] : undefined;
      if (loc && raw && quantizable(loc.shape)) plan.push(fromFile(name, loc, raw, pick(name, loc.shape), chunk));
      else {
        const shape = loc?.shape ?? hf.get(name).shape;
        plan.push(fromF32(name, shape, pick(name, shape), () => f32Of(hf.get(name))));
      }
    }
    const config = { ...c };
    if (gptq) for (const k of ['wbits', 'groupsize', 'quantization_config']) delete config[k];
    return { plan, metadata: { 'general.architecture': 'moss', 'general.name': String(c._name_or_path ?? type), 'general.file_type': fileType, 'moss.config': JSON.stringify(config), ...tok } };
  }
  const arch = LLAMA_TYPES[type];
  if (!arch) throw new Error(`${dir}/config.json: model_type "${type}" cannot be quantized (moss, codegen, llama, mistral, qwen2 can)`);
  if (names.some((n) => n.endsWith('.qweight'))) throw new Error(`${dir}: GPTQ-packed ${type} checkpoints cannot be quantized (only MOSS GPTQ releases are dequantized)`);
  const num = (k: string, d?: number): number => {
    const v = c[k] ?? d;
    if (typeof v !== 'number') throw new Error(`${dir}/config.json: ${k} is missing or not a number`);
    return v;
  };
  const heads = num('num_attention_heads');
  const kvHeads = num('num_key_value_heads', heads);
  const hidden = num('hidden_size');
  const window = hfSlidingWindow(c, `${dir}/config.json`, num('max_position_embeddings', 2048)); // Mistral's, read by gguf-model.ts
  // rope scaling travels as llama.cpp's rope_freqs tensor (its convert script does this for llama3)
  const factors = hfRopeFactors(c.rope_scaling, hidden / heads, num('rope_theta', 10000), `${dir}/config.json`);
  if (factors) plan.push(fromF32('rope_freqs.weight', [factors.length], 'q8_0', () => Float32Array.from(factors)));
  // a tied head has no lm_head.weight: llama.cpp then uses token_embd for the output, as we do
  for (const name of names) {
    const gn = llamaCppName(name);
    if (!gn) continue;
    const loc = hf.locate(name);
    const raw = loc ? RAW[loc.dtype] : undefined;
    if (arch === 'llama' && /attn_[qk]\.(weight|bias)$/.test(gn)) {
      // convert_hf_to_gguf permutes q/k rows (and their biases) into adjacent rope pairs
      const shape = loc?.shape ?? hf.get(name).shape;
      const cols = shape.length === 2 ? shape[1] : 1;
      plan.push(fromF32(gn, shape, pick(gn, shape), () => permuteQk(f32Of(hf.get(name)), shape[0], cols, gn.includes('attn_q') ? heads : kvHeads), shape.length === 2));
    } else if (loc && raw && quantizable(loc.shape)) plan.push(fromFile(gn, loc, raw, pick(gn, loc.shape), chunk));
    else {
      const shape = loc?.shape ?? hf.get(name).shape;
      plan.push(fromF32(gn, shape, pick(gn, shape), () => f32Of(hf.get(name))));
    }
  }
  return {
    plan,
    metadata: {
      'general.architecture': arch, 'general.name': String(c._name_or_path ?? type), 'general.file_type': fileType,
      [`${arch}.context_length`]: num('max_position_embeddings', 2048), [`${arch}.embedding_length`]: hidden,
      [`${arch}.block_count`]: num('num_hidden_layers'), [`${arch}.feed_forward_length`]: num('intermediate_size'),
      [`${arch}.attention.head_count`]: heads, [`${arch}.attention.head_count_kv`]: kvHeads,
      [`${arch}.attention.layer_norm_rms_epsilon`]: num('rms_norm_eps', 1e-6), [`${arch}.rope.freq_base`]: num('rope_theta', 10000),
      [`${arch}.rope.dimension_count`]: hidden / heads,
      ...(window ? { [`${arch}.attention.sliding_window`]: window } : {}),
      ...tok,
    },
  };
}

/**
 * Converts `input` (HF folder, .gguf or llama2.c .bin) into a GGUF at `out` with 2-d weights in
 * `q` (temp name + rename: nothing half-written is left on error).
 * @example quantizeModel('moss-moon-003-sft', 'q4_0', 'moss-q4_0.gguf', { onProgress: (p) => console.log(p.done / p.total) })
 */
export function quantizeModel(input: string, q: QuantType | KMix, out: string, o: QuantizeOptions = {}): QuantizeResult {
  const t0 = performance.now();
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  const chunk = o.chunkBytes ?? 32 * 2 ** 20;
  let plan: Planned[] = [];
  let metadata: Record<string, unknown>;
  if (statSync(input).isDirectory()) {
    ({ plan, metadata } = planHf(input, q, chunk));
  } else if (input.endsWith('.gguf')) {
    const g = readGguf(input);
    metadata = { ...g.metadata, 'general.file_type': fileTypeOf(q) };
    const pick = picker(q, [...g.tensors.keys()]);
    for (const [name, v] of g.tensors) plan.push(fromF32(name, v.shape, pick(name, v.shape), () => f32Of(v)));
  } else if (input.endsWith('.bin')) {
    const f = readLlama2c(input);
    const k = f.config;
    metadata = {
      'general.architecture': 'llama', 'general.name': 'llama2c', 'general.file_type': fileTypeOf(q),
      'llama.context_length': k.seqLen, 'llama.embedding_length': k.dim, 'llama.block_count': k.nLayers,
      'llama.feed_forward_length': k.hiddenDim, 'llama.attention.head_count': k.nHeads, 'llama.attention.head_count_kv': k.nKvHeads,
      'llama.attention.layer_norm_rms_epsilon': k.normEps, 'llama.rope.dimension_count': k.headSize, 'llama.rope.freq_base': k.ropeTheta,
      'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2,
    };
    Object.assign(metadata, tokenizerMetadata(input.replace(/[^/]*$/, '') || '.', ['tokenizer.bin', 'tok512.bin']));
    const pick = picker(q, [...f.tensors.keys()].map((n) => llamaCppName(n) ?? n));
    for (const [name, v] of f.tensors) {
      const gn = llamaCppName(name);
      if (!gn) continue;
      // llama2.c keeps q/k in adjacent-pair rope order already (= llama.cpp's layout); no permute
      if (!k.ropeInterleaved && /attn_[qk]\.weight$/.test(gn)) {
        const heads = gn.endsWith('attn_q.weight') ? k.nHeads : k.nKvHeads;
        plan.push(fromF32(gn, v.shape, pick(gn, v.shape), () => permuteQk(f32Of(v), v.shape[0], v.shape[1], heads)));
      } else {
        plan.push(fromF32(gn, v.shape, pick(gn, v.shape), () => f32Of(v)));
      }
    }
  } else {
    throw new Error(`${input}: unknown model file (expected an HF folder, a .gguf file or a llama2.c .bin)`);
  }
  const total = plan.reduce((a, p) => a + p.inBytes, 0);
  let done = 0;
  writeGgufStreaming(out, metadata, plan.map((p) => p.spec), (i, put) => {
    const p = plan[i];
    p.write(put, (bytes) => {
      done += bytes;
      o.onProgress?.({ done, total, tensor: p.spec.name, index: i, count: plan.length });
    });
  });
  return { tensors: plan.length, arch: String(metadata['general.architecture']), inputBytes: total, seconds: (performance.now() - t0) / 1000 };
}
