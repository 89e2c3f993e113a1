/**
 * safetensors read and write (https://github.com/huggingface/safetensors, format of v0.4):
 * u64 little-endian header length N, N bytes of JSON `{name: {dtype, shape, data_offsets:[b, e]},
 * "__metadata__": {str: str}}` padded with spaces, then the data (offsets relative to its start).
 * Reading is zero-copy over the file storage (see views.ts); F64 is narrowed to f32 and U8/I8/I16
 * are widened to i32 (copies) because the engine has no such dtypes — `tensorInfos` keeps the
 * source dtype and the raw byte range. Every header field is checked against the file before use.
 * Files past WINDOWED_ABOVE get one mapped window per tensor (so files over 4 GiB read fine).
 * Not supported: big-endian files, F8 types (refused with the tensor's name), one tensor > 4 GiB.
 */
import type { Storage, View } from '../backends/backend.js';
import type { DType } from '../backends/dtype.js';
import { fail } from './errors.js';
import { writeFileAtomic } from './atomic.js';
import { decodeUtf8 } from './cursor.js';
import { statSync } from 'node:fs';
import { WINDOWED_ABOVE, fileSource, openStorage, storageBytes, type ByteSource } from './file-storage.js';
import { ONE_BUFFER } from './zip.js';
import { checkShape, elemBytes, viewAt, viewBytes, viewOf } from './views.js';

/** Source dtypes and their element sizes. */
const ST_SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const ST_DIRECT: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', BOOL: 'bool' };
const ST_NAME: Partial<Record<DType, string>> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i64: 'I64', i32: 'I32', bool: 'BOOL' };

/** Largest JSON header accepted (the reference implementation's limit). */
export const MAX_HEADER = 100_000_000;

export interface SafetensorsTensorInfo {
  /** dtype as written in the file (F32, U8, ...). */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsFile {
  readonly path: string;
  readonly storage: Storage;
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Record<string, string>;
  readonly tensors: Map<string, View>;
  readonly tensorInfos: Map<string, SafetensorsTensorInfo>;
}

/**
 * Reads a .safetensors file.
 * @example const { tensors } = readSafetensors('model.safetensors'); tensors.get('lm_head.weight')
 */
export function readSafetensors(path: string): SafetensorsFile {
  const size = statSync(path).size;
  if (size <= WINDOWED_ABOVE) return parseSafetensors(openStorage(path), path);
  // big files: read the header, then map each tensor's own window (never one buffer for the file)
  const src = fileSource(path);
  const n = Math.min(MAX_HEADER, Number(new DataView(src.read(0, 8).buffer).getBigUint64(0, true) & 0xffffffffn));
  return parseSafetensors(src.window(0, 8 + n), path, src);
}

/**
 * Parses safetensors bytes held in `storage`; `file` names it in errors. With `big`, `storage`
 * holds only the header and each tensor is a window of `big`.
 */
export function parseSafetensors(storage: Storage, file: string, big?: ByteSource): SafetensorsFile {
  const bytes = storageBytes(storage);
  const fileLen = big ? big.size : bytes.byteLength;
  if (fileLen < 8 || bytes.byteLength < 8) fail(file, 'header length', `file is only ${fileLen} bytes`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(file, 'header length', `${n64} exceeds the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > fileLen || 8 + n > bytes.byteLength) fail(file, 'header length', `${n} runs past the end of the file (${fileLen} bytes)`);
  if (n < 2 || bytes[8] !== 0x7b) fail(file, 'header', 'does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(decodeUtf8(file, 'header', bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(file, 'header', `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(file, 'header', 'is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = fileLen - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, View>();
  const tensorInfos = new Map<string, SafetensorsTensorInfo>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(file, '__metadata__', 'is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__.${k}`, 'is not a string');
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const field = `tensor '${name}'`;
    if (typeof entry !== 'object' || entry === null) fail(file, field, 'is not an object');
    const { dtype, shape, data_offsets: offs } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in ST_SIZES)) fail(file, `${field} dtype`, `unsupported dtype ${JSON.stringify(dtype)}`);
    const count = checkShape(shape);
    if (typeof count === 'string') fail(file, `${field} shape`, count);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(file, `${field} data_offsets`, `must be two non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [b, e] = offs as [number, number];
    if (b > e || e > dataLen) fail(file, `${field} data_offsets`, `[${b}, ${e}] is not inside the data section (${dataLen} bytes)`);
    const size = ST_SIZES[dtype];
    if (e - b !== count * size) fail(file, `${field} data_offsets`, `span ${e - b} bytes but ${dtype} ${JSON.stringify(shape)} needs ${count * size}`);
    ranges.push([b, e, name]);
    const abs = dataStart + b;
    const shp = shape as number[];
    tensorInfos.set(name, { dtype, shape: shp, byteOffset: abs, byteLength: e - b });
    if (big && e - b > ONE_BUFFER) fail(file, `${field} data_offsets`, `${e - b} bytes is more than one buffer can hold`);
    tensors.set(name, makeView(big ? big.window(abs, e - b) : storage, big ? 0 : abs, e - b, dtype, shp, count));
  }
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) fail(file, `tensor '${ranges[i][2]}' data_offsets`, `overlaps tensor '${ranges[i - 1][2]}'`);
  }
  return { path: file, storage, metadata, tensors, tensorInfos };
}

function makeView(storage: Storage, abs: number, len: number, dtype: string, shape: number[], count: number): View {
  const direct = ST_DIRECT[dtype];
  const at = storage.byteOffset + abs;
  if (direct) return viewAt(storage.buffer, at, len, direct, shape);
  const dv = new DataView(storage.buffer, at, len);
  if (dtype === 'F64') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, true);
    return viewOf(out, 'f32', shape);
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = dtype === 'U8' ? dv.getUint8(i) : dtype === 'I8' ? dv.getInt8(i) : dv.getInt16(i * 2, true);
  }
  return viewOf(out, 'i32', shape);
}

/** Encodes tensors (+ optional `__metadata__`) as safetensors bytes. Non-contiguous views are packed. */
export function encodeSafetensors(tensors: Map<string, View> | Record<string, View>, metadata?: Record<string, string>): Uint8Array[] {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  // Lay out larger elements first so every tensor's data stays aligned to its element size.
  const order = entries.map((e, i) => ({ e, i })).sort((a, b) => elemBytes(b.e[1].dtype) - elemBytes(a.e[1].dtype) || a.i - b.i);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const { e: [name, v] } of order) {
    const st = ST_NAME[v.dtype];
    if (!st) throw new Error(`safetensors: tensor '${name}': dtype ${v.dtype} cannot be stored in safetensors`);
    if (name === '__metadata__') throw new Error(`safetensors: '__metadata__' is not a valid tensor name`);
    const data = viewBytes(v);
    Object.defineProperty(header, name, { value: { dtype: st, shape: [...v.shape], data_offsets: [off, off + data.byteLength] }, enumerable: true });
    chunks.push(data);
    off += data.byteLength;
  }
  let json = JSON.stringify(header);
  let hb = new TextEncoder().encode(json);
  const pad = (8 - (hb.byteLength % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = new TextEncoder().encode(json);
  }
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  return [len, hb, ...chunks];
}

/**
 * Writes a .safetensors file atomically (temp file + rename).
 * @example writeSafetensors('out.safetensors', new Map([['w', view]]), { format: 'pt' })
 */
export function writeSafetensors(path: string, tensors: Map<string, View> | Record<string, View>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
