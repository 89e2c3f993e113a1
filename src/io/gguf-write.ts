/**
 * GGUF v3 writer (little-endian), the inverse of gguf.ts: header, metadata in key order, tensor
 * infos, padding to `general.alignment` (default 32), then each tensor's bytes padded to the
 * alignment — the layout llama.cpp's gguf.cpp and gguf-py write (no padding at all when there are
 * no tensors, as their vocab-only files show). Quantized tensors are passed as already-encoded
 * bytes; `shape` is row-major and is reversed into GGUF's innermost-first dims.
 * Metadata types come from `metadataTypes` when given (readGguf returns them, so read -> write
 * reproduces a file bit for bit), else are inferred (see `inferType`). Written atomically.
 */
import { GGML_TYPES, GGML_TYPE_OF, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE_TYPES, ggmlTypeByName, type GgufValueType } from './gguf-types.js';
import { writeFileAtomic } from './atomic.js';
import type { DType } from '../backends/dtype.js';
import type { GgufFile } from './gguf.js';
import { storageBytes } from './file-storage.js';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface GgufWriteTensor {
  readonly name: string;
  /** Engine dtype, or a ggml type name such as 'Q4_K' to copy through other encodings. */
  readonly dtype: DType | string;
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** Encoded bytes (little-endian; ggml block layout for quantized types). */
  readonly data: Uint8Array;
}

export interface GgufWriteInput {
  readonly metadata: Record<string, unknown>;
  readonly metadataTypes?: Record<string, GgufValueType>;
  readonly tensors: readonly GgufWriteTensor[];
}

/** The type a value is written as when no type is given. */
const FLOAT_KEY = /(freq_base|epsilon|_scale|\.factor|freq_scale)$/;

export function inferType(v: unknown, key: string): GgufValueType {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return v < 0n ? 'i64' : 'u64';
  if (typeof v === 'number') {
    // llama.cpp reads these keys as f32 even when the value is whole (rope_theta 10000, eps 1)
    if (!Number.isInteger(v) || FLOAT_KEY.test(key)) return 'f32';
    if (v >= 0 && v < 2 ** 32) return 'u32';
    if (v >= -(2 ** 31) && v < 0) return 'i32';
    return v < 0 ? 'i64' : 'u64';
  }
  if (v instanceof Uint8Array) return { array: 'u8' };
  if (v instanceof Int8Array) return { array: 'i8' };
  if (v instanceof Uint16Array) return { array: 'u16' };
  if (v instanceof Int16Array) return { array: 'i16' };
  if (v instanceof Uint32Array) return { array: 'u32' };
  if (v instanceof Int32Array) return { array: 'i32' };
  if (v instanceof Float32Array) return { array: 'f32' };
  if (v instanceof Float64Array) return { array: 'f64' };
  if (v instanceof BigUint64Array) return { array: 'u64' };
  if (v instanceof BigInt64Array) return { array: 'i64' };
  if (Array.isArray(v)) {
    if (v.length === 0) return { array: 'string' };
    if (v.every((x) => typeof x === 'string')) return { array: 'string' };
    if (v.every((x) => typeof x === 'boolean')) return { array: 'bool' };
    if (v.every((x) => typeof x === 'number')) return { array: v.every(Number.isInteger) ? 'i32' : 'f32' };
    return { array: inferType(v[0], key) };
  }
  throw new Error(`gguf: metadata '${key}': cannot infer a GGUF type for ${typeof v}`);
}

/** Growable little-endian byte sink. */
class Sink {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  len = 0;
  private grow(n: number): void {
    if (this.len + n <= this.buf.byteLength) return;
    let cap = this.buf.byteLength * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  num(t: string, v: number | bigint): void {
    const size = t === 'u8' || t === 'i8' || t === 'bool' ? 1 : t === 'u16' || t === 'i16' ? 2 : t === 'u64' || t === 'i64' || t === 'f64' ? 8 : 4;
    this.grow(size);
    const p = this.len;
    switch (t) {
      case 'u8': case 'bool': this.dv.setUint8(p, Number(v)); break;
      case 'i8': this.dv.setInt8(p, Number(v)); break;
      case 'u16': this.dv.setUint16(p, Number(v), true); break;
      case 'i16': this.dv.setInt16(p, Number(v), true); break;
      case 'u32': this.dv.setUint32(p, Number(v), true); break;
      case 'i32': this.dv.setInt32(p, Number(v), true); break;
      case 'f32': this.dv.setFloat32(p, Number(v), true); break;
      case 'f64': this.dv.setFloat64(p, Number(v), true); break;
      case 'u64': this.dv.setBigUint64(p, BigInt(v), true); break;
      case 'i64': this.dv.setBigInt64(p, BigInt(v), true); break;
    }
    this.len += size;
  }
  bytes(b: Uint8Array): void {
    this.grow(b.byteLength);
    this.buf.set(b, this.len);
    this.len += b.byteLength;
  }
  str(s: string): void {
    const b = enc.encode(s);
    this.num('u64', b.byteLength);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.len % alignment)) % alignment;
    this.bytes(new Uint8Array(n));
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const enc = new TextEncoder();
const typeId = (t: GgufValueType): number => GGUF_VALUE_TYPES.indexOf(typeof t === 'string' ? t : 'array');

function writeValue(s: Sink, t: GgufValueType, v: unknown, key: string): void {
  if (typeof t === 'string') {
    if (t === 'string') {
      if (typeof v !== 'string') throw new Error(`gguf: metadata '${key}': expected a string`);
      s.str(v);
    } else if (t === 'bool') {
      if (typeof v !== 'boolean') throw new Error(`gguf: metadata '${key}': expected a boolean`);
      s.num('u8', v ? 1 : 0);
    } else {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`gguf: metadata '${key}': expected a number for ${t}`);
      s.num(t, v);
    }
    return;
  }
  const arr = v as ArrayLike<unknown>;
  if (arr === null || typeof arr !== 'object' || typeof arr.length !== 'number') throw new Error(`gguf: metadata '${key}': expected an array`);
  s.num('u32', typeId(t.array));
  s.num('u64', arr.length);
  for (let i = 0; i < arr.length; i++) writeValue(s, t.array, arr[i], key);
}

/** A tensor's header entry: its bytes come later (streaming writers). */
export interface GgufTensorSpec {
  readonly name: string;
  readonly dtype: DType | string;
  readonly shape: readonly number[];
}

/** Bytes a tensor of `dtype` and `shape` takes in GGUF (throws for types GGUF cannot hold). */
export function ggufTensorBytes(t: GgufTensorSpec): number {
  return ggufTensorLayout(t).bytes;
}

function ggufTensorLayout(t: GgufTensorSpec): { bytes: number; typeName: string } {
  const id = GGML_TYPE_OF[t.dtype as DType] ?? ggmlTypeByName(t.dtype);
  const info = id === undefined || id < 0 ? undefined : GGML_TYPES[id];
  if (!info) throw new Error(`gguf: tensor '${t.name}': dtype ${t.dtype} cannot be stored in GGUF`);
  let n = 1;
  for (const d of t.shape) n *= d;
  const want = (n / info.blockSize) * info.blockBytes;
  if (!Number.isInteger(want)) throw new Error(`gguf: tensor '${t.name}': ${info.name} [${t.shape.join(', ')}] is not a whole number of blocks`);
  return { bytes: want, typeName: info.name };
}

/** The header (magic .. padding before the data) and the alignment, for tensors given by spec. */
export function encodeGgufHeader(metadata: Record<string, unknown>, tensors: readonly GgufTensorSpec[], metadataTypes?: Record<string, GgufValueType>): { header: Uint8Array; alignment: number } {
  const s = new Sink();
  const keys = Object.keys(metadata);
  s.num('u32', GGUF_MAGIC);
  s.num('u32', 3);
  s.num('u64', tensors.length);
  s.num('u64', keys.length);
  for (const k of keys) {
    const v = metadata[k];
    const t = metadataTypes?.[k] ?? inferType(v, k);
    s.str(k);
    s.num('u32', typeId(t));
    writeValue(s, t, v, k);
  }
  const a = metadata['general.alignment'];
  const alignment = a === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(a);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new Error(`gguf: general.alignment must be a power of two, got ${String(a)}`);
  let offset = 0;
  for (const t of tensors) {
    const want = ggufTensorBytes(t);
    if (enc.encode(t.name).byteLength > 64) throw new Error(`gguf: tensor name '${t.name}' is longer than 64 bytes`);
    s.str(t.name);
    s.num('u32', t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) s.num('u64', t.shape[d]);
    s.num('u32', (GGML_TYPE_OF[t.dtype as DType] ?? ggmlTypeByName(t.dtype))!);
    s.num('u64', offset);
    offset += Math.ceil(want / alignment) * alignment;
  }
  if (tensors.length > 0) s.pad(alignment);
  return { header: s.result(), alignment };
}

/** Encodes a GGUF v3 file (see module comment). */
export function encodeGguf(input: GgufWriteInput): Uint8Array[] {
  for (const t of input.tensors) {
    const { bytes: want, typeName } = ggufTensorLayout(t);
    if (want !== t.data.byteLength) throw new Error(`gguf: tensor '${t.name}': ${t.data.byteLength} bytes given, ${typeName} [${t.shape.join(', ')}] needs ${want}`);
  }
  const { header, alignment } = encodeGgufHeader(input.metadata, input.tensors, input.metadataTypes);
  const chunks: Uint8Array[] = [header];
  for (const t of input.tensors) {
    chunks.push(t.data);
    const pad = (alignment - (t.data.byteLength % alignment)) % alignment;
    if (pad) chunks.push(new Uint8Array(pad));
  }
  return chunks;
}

/**
 * Writes a GGUF v3 file tensor by tensor: the header from `tensors` (specs), then for each tensor
 * `write(i, put)` hands its bytes to `put` in any number of pieces (which must add up to the
 * tensor's size), so nothing but the current piece is held. Temp name + rename; removed on error.
 */
export function writeGgufStreaming(path: string, metadata: Record<string, unknown>, tensors: readonly GgufTensorSpec[], write: (i: number, put: (b: Uint8Array) => void) => void, metadataTypes?: Record<string, GgufValueType>): void {
  const { header, alignment } = encodeGgufHeader(metadata, tensors, metadataTypes);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let pos = 0;
  const put = (b: Uint8Array): void => {
    for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  try {
    put(header);
    tensors.forEach((t, i) => {
      const want = ggufTensorBytes(t);
      const start = pos;
      write(i, put);
      if (pos - start !== want) throw new Error(`gguf: tensor '${t.name}': ${pos - start} bytes written, ${t.dtype} [${t.shape.join(', ')}] needs ${want}`);
      const pad = (alignment - (want % alignment)) % alignment;
      if (pad) put(new Uint8Array(pad));
    });
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes a GGUF v3 file atomically.
 * @example writeGguf('m.gguf', { metadata: { 'general.architecture': 'llama' }, tensors: [{ name: 'w', dtype: 'f32', shape: [2, 3], data }] })
 */
export function writeGguf(path: string, input: GgufWriteInput): void {
  writeFileAtomic(path, encodeGguf(input));
}

/** A write input reproducing a file read by readGguf (every tensor, supported or not). */
export function ggufWriteInput(g: GgufFile): GgufWriteInput {
  const bytes = storageBytes(g.storage);
  return {
    metadata: g.metadata,
    metadataTypes: g.metadataTypes,
    tensors: g.tensorInfos.map((t) => ({ name: t.name, dtype: t.dtype ?? t.typeName, shape: t.shape, data: bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength) })),
  };
}
