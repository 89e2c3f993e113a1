/**
 * The pieces of a streaming GGUF conversion (src/models/quantize.ts drives them; the family
 * folders' convert.ts plan their checkpoints with them): a planned output tensor, made from a view
 * already in memory (f32) or streamed from its file in chunks of whole rows and quantized in native
 * code, and the tokenizer as `tokenizer.ggml.*` metadata.
 * Deliberately not here: which tensors a family writes under which names (moss/, llama/), the file
 * writing itself (src/io/gguf-write.ts).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { numel, type View } from '../backends/backend.js';
import { DTYPES } from '../backends/dtype.js';
import { refBackend } from '../backends/ref/index.js';
import type { HfFolder } from '../io/index.js';
import type { GgufTensorSpec } from '../io/gguf-write.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { quantizeInto, quantizedBytes, type QuantType, type RawFloat } from '../io/quantize-rows.js';
import type { TensorLocation } from '../io/torch.js';
import { viewOf } from '../io/views.js';

/** The type each 2-d weight gets: one type for every tensor, or a k-quant mix's per-tensor choice. */
export type Pick = (name: string, shape: readonly number[]) => QuantType;



/** One output tensor: its GGUF spec, input bytes (for progress), and how to produce its bytes. */
export interface Planned {
  readonly spec: GgufTensorSpec;
  readonly inBytes: number;
  write(put: (b: Uint8Array) => void, progress: (bytes: number) => void): void;
}

/** An HF folder being planned: the folder, its tensor names, the per-tensor type choice, the read chunk and the tokenizer metadata. */
export interface HfPlan {
  readonly dir: string;
  readonly hf: HfFolder;
  readonly names: readonly string[];
  readonly pick: Pick;
  readonly chunk: number;
  readonly fileType: number;
  readonly tokenizer: Record<string, unknown>;
}

const RAW: Record<string, RawFloat | undefined> = { f32: 'f32', f16: 'f16', bf16: 'bf16' };

/** Contiguous f32 copy of any float or quantized view. */
export function f32Of(v: View): Float32Array {
  const out = new Float32Array(numel(v.shape));
  const ov = viewOf(out, 'f32', v.shape);
  if (DTYPES[v.dtype].isQuant) refBackend.dequantize(ov, v);
  else refBackend.copy(ov, v);
  return out;
}

export function quantizable(shape: readonly number[]): boolean {
  return shape.length === 2 && shape[1] % 32 === 0 && shape[1] > 0;
}

/** A tensor already in memory as f32: quantized (2-d, rows % 32) or written as f32. */
export function fromF32(name: string, shape: readonly number[], q: QuantType, get: () => Float32Array, quantize = true): Planned {
  const n = numel(shape);
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
export function fromFile(name: string, loc: TensorLocation, raw: RawFloat, q: QuantType, chunkBytes: number): Planned {
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

/** HF tensor `name` written as `out`: streamed from its file when it is a 2-d float weight, else through f32. */
export function fromHf(p: HfPlan, name: string, out: string): Planned {
  const loc = p.hf.locate(name);
  const raw = loc ? RAW[loc.dtype] : undefined;
  if (loc && raw && quantizable(loc.shape)) return fromFile(out, loc, raw, p.pick(out, loc.shape), p.chunk);
  const shape = loc?.shape ?? p.hf.get(name).shape;
  return fromF32(out, shape, p.pick(out, shape), () => f32Of(p.hf.get(name)));
}

/** The tokenizer beside a model as GGUF metadata (empty when there is none). */
export function tokenizerMetadata(dir: string, files: string[] = []): Record<string, unknown> {
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
