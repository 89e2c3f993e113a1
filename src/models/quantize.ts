/**
 * Quantizing a checkpoint into a GGUF, streaming: `quantizeModel(input, type, out)` plans every
 * output tensor from the input's headers, writes the GGUF header, then converts one tensor at a
 * time — a 2-d float weight is read from its file in chunks of whole rows (readSync into one
 * reused buffer, never the whole tensor, never a mapping that stays resident), quantized in native
 * code across threads (src/io/quantize-rows.ts) and appended — so peak memory stays ~ a few
 * hundred MB whatever the model's size. 2-d weights become ggml Q8_0/Q4_0 blocks along the
 * in-features, or with a k-quant mix (q4_k_m, q5_k_m, q6_k) Q4_K/Q5_K/Q6_K chosen per tensor as
 * llama.cpp does (kquant-mix.ts); 1-d tensors (norms, biases) stay f32.
 * Inputs: HF folders (moss/codegen as our arch `moss`: moss/convert.ts, GPTQ releases dequantized
 * exactly; llama/mistral/qwen2 in llama.cpp naming with q/k permuted: llama/convert.ts), a .gguf,
 * a llama2.c .bin (llama/convert.ts). The tensor pieces are ./gguf-plan.ts.
 * The tokenizer travels as `tokenizer.ggml.*` metadata (a GGUF input keeps its own).
 * Deliberately does not: importance matrices, the other k-quant mixes (_S, _L, Q2_K, Q3_K), split files.
 */
import { existsSync, statSync } from 'node:fs';
import { openHfFolder, readGguf } from '../io/index.js';
import { writeGgufStreaming } from '../io/gguf-write.js';
import type { QuantType } from '../io/quantize-rows.js';
import { f32Of, fromF32, tokenizerMetadata, type HfPlan, type Pick, type Planned } from './gguf-plan.js';
import { isKMix, KMIX_FILE_TYPE, kmixPicker, type KMix } from './kquant-mix.js';
import { LLAMA_GGUF_ARCH, planLlama2c, planLlamaHf } from './llama/convert.js';
import { ggufName } from './llama/gguf.js';
import { planMossHf } from './moss/convert.js';

export type { QuantType, KMix };
export { f32Of };

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

/** An HF folder's planned tensors and GGUF metadata, by its model family. */
function planHf(dir: string, q: QuantType | KMix, chunk: number): { plan: Planned[]; metadata: Record<string, unknown> } {
  const hf = openHfFolder(dir);
  const type = String(hf.config.model_type);
  const names = hf.names();
  const base = { dir, hf, names, chunk, fileType: fileTypeOf(q), tokenizer: tokenizerMetadata(dir) };
  if (type === 'moss' || type === 'codegen') return planMossHf({ ...base, pick: picker(q, names) } satisfies HfPlan);
  if (!(type in LLAMA_GGUF_ARCH)) throw new Error(`${dir}/config.json: model_type "${type}" cannot be quantized (moss, codegen, llama, mistral, qwen2 can)`);
  return planLlamaHf({ ...base, pick: picker(q, names.map((n) => ggufName(n) ?? n)) });
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
    ({ plan, metadata } = planLlama2c(input, fileTypeOf(q), (names) => picker(q, names)));
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
