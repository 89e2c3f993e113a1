/**
 * GGUF constants shared by the reader and the writer: metadata value types and the ggml tensor
 * types (block size, bytes per block) from the GGUF v3 spec (../shared/formats/gguf.md) and
 * ggml's type traits. F32/F16/BF16/Q8_0/Q4_0/Q2_K..Q6_K/IQ4_NL/I32/I64 map to engine dtypes; the
 * others (Q8_K is an activation-only type in ggml) are known by size so a reader can skip them
 * safely and name them in errors.
 */
import type { DType } from '../backends/dtype.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value type names, indexed by the spec's enum value. */
export const GGUF_VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufScalarType = Exclude<(typeof GGUF_VALUE_TYPES)[number], 'array'>;
/** A metadata value's type: a scalar type name, or `{ array: elementType }` (arrays may nest). */
export type GgufValueType = GgufScalarType | { readonly array: GgufValueType };

/** Fixed byte size of each scalar type (strings are variable). */
export const GGUF_SCALAR_SIZE: Record<Exclude<GgufScalarType, 'string'>, number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8,
};

export interface GgmlTypeInfo {
  readonly name: string;
  readonly blockSize: number;
  readonly blockBytes: number;
  /** The engine dtype, or null when the engine cannot use this type. */
  readonly dtype: DType | null;
}

/** ggml_type id -> traits (ids absent here are removed or unknown types). */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeInfo>> = {
  0: { name: 'F32', blockSize: 1, blockBytes: 4, dtype: 'f32' },
  1: { name: 'F16', blockSize: 1, blockBytes: 2, dtype: 'f16' },
  2: { name: 'Q4_0', blockSize: 32, blockBytes: 18, dtype: 'q4_0' },
  3: { name: 'Q4_1', blockSize: 32, blockBytes: 20, dtype: null },
  6: { name: 'Q5_0', blockSize: 32, blockBytes: 22, dtype: null },
  7: { name: 'Q5_1', blockSize: 32, blockBytes: 24, dtype: null },
  8: { name: 'Q8_0', blockSize: 32, blockBytes: 34, dtype: 'q8_0' },
  9: { name: 'Q8_1', blockSize: 32, blockBytes: 36, dtype: null },
  10: { name: 'Q2_K', blockSize: 256, blockBytes: 84, dtype: 'q2_k' },
  11: { name: 'Q3_K', blockSize: 256, blockBytes: 110, dtype: 'q3_k' },
  12: { name: 'Q4_K', blockSize: 256, blockBytes: 144, dtype: 'q4_k' },
  13: { name: 'Q5_K', blockSize: 256, blockBytes: 176, dtype: 'q5_k' },
  14: { name: 'Q6_K', blockSize: 256, blockBytes: 210, dtype: 'q6_k' },
  15: { name: 'Q8_K', blockSize: 256, blockBytes: 292, dtype: null },
  16: { name: 'IQ2_XXS', blockSize: 256, blockBytes: 66, dtype: null },
  17: { name: 'IQ2_XS', blockSize: 256, blockBytes: 74, dtype: null },
  18: { name: 'IQ3_XXS', blockSize: 256, blockBytes: 98, dtype: null },
  19: { name: 'IQ1_S', blockSize: 256, blockBytes: 50, dtype: null },
  20: { name: 'IQ4_NL', blockSize: 32, blockBytes: 18, dtype: 'iq4_nl' },
  21: { name: 'IQ3_S', blockSize: 256, blockBytes: 110, dtype: null },
  22: { name: 'IQ2_S', blockSize: 256, blockBytes: 82, dtype: null },
  23: { name: 'IQ4_XS', blockSize: 256, blockBytes: 136, dtype: null },
  24: { name: 'I8', blockSize: 1, blockBytes: 1, dtype: null },
  25: { name: 'I16', blockSize: 1, blockBytes: 2, dtype: null },
  26: { name: 'I32', blockSize: 1, blockBytes: 4, dtype: 'i32' },
  27: { name: 'I64', blockSize: 1, blockBytes: 8, dtype: 'i64' },
  28: { name: 'F64', blockSize: 1, blockBytes: 8, dtype: null },
  29: { name: 'IQ1_M', blockSize: 256, blockBytes: 56, dtype: null },
  30: { name: 'BF16', blockSize: 1, blockBytes: 2, dtype: 'bf16' },
  34: { name: 'TQ1_0', blockSize: 256, blockBytes: 54, dtype: null },
  35: { name: 'TQ2_0', blockSize: 256, blockBytes: 66, dtype: null },
  39: { name: 'MXFP4', blockSize: 32, blockBytes: 17, dtype: null },
};

/** ggml type id for an engine dtype. */
export const GGML_TYPE_OF: Readonly<Record<DType, number>> = {
  f32: 0, f16: 1, q4_0: 2, q8_0: 8, q2_k: 10, q3_k: 11, q4_k: 12, q5_k: 13, q6_k: 14, iq4_nl: 20, i32: 26, i64: 27, bf16: 30, bool: -1, gq4: -1, gq8: -1, gq4s: -1, gq8s: -1,
};

/** Names of the ggml types the engine reads, for errors ('F32, F16, ...'). */
export function supportedGgmlTypes(): string {
  return Object.values(GGML_TYPES).filter((t) => t.dtype !== null).map((t) => t.name).join(', ');
}

/** ggml type id by name ('Q4_K' -> 12), or undefined. */
export function ggmlTypeByName(name: string): number | undefined {
  for (const [id, t] of Object.entries(GGML_TYPES)) if (t.name === name) return Number(id);
  return undefined;
}
