/**
 * GGUF reader (v2 and v3, little-endian; spec: ../shared/formats/gguf.md, llama.cpp's gguf.cpp).
 * Returns the metadata as JS values (strings, numbers — bigint only beyond 2^53 —, booleans,
 * typed arrays for numeric arrays, string[] etc.), each key's GGUF type (so a rewrite is bit
 * for bit), the tensor infos, and zero-copy Views for tensors the engine can use.
 * Shapes: GGUF lists dims innermost-first (ne[0] is the row length); `shape` is our row-major
 * order, i.e. the dims reversed: ne = [4096, 32000] -> shape [32000, 4096].
 * Every count, length and offset is checked against the bytes left before it is used.
 * Not supported: big-endian files and v1 (refused), the i-quants other than IQ4_NL, Q8_K and the
 * ternary/MXFP4 types (listed in tensorInfos with dtype null; `ggufTensor` names them in its error).
 */
import type { Storage, View } from '../backends/backend.js';
import { fail } from './errors.js';
import { Cursor } from './cursor.js';
import { statSync } from 'node:fs';
import { mmapAvailable, openRange, openStorage, storageBytes } from './file-storage.js';
import { viewAt } from './views.js';
import {
  GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_SCALAR_SIZE, GGUF_VALUE_TYPES, supportedGgmlTypes,
  type GgufScalarType, type GgufValueType,
} from './gguf-types.js';

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml type id and name (e.g. 8, 'Q8_0'). */
  readonly type: number;
  readonly typeName: string;
  /** Engine dtype, or null when the type is not supported by the engine. */
  readonly dtype: View['dtype'] | null;
  /** Dims as stored: innermost first (ne[0] = row length). */
  readonly dims: readonly number[];
  /** Row-major shape (dims reversed). */
  readonly shape: readonly number[];
  /** Offset relative to the data section, as stored. */
  readonly offset: number;
  /** Absolute byte range in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  /** Absolute offset of the tensor data section. */
  readonly dataOffset: number;
  readonly metadata: Record<string, unknown>;
  readonly metadataTypes: Record<string, GgufValueType>;
  readonly tensorInfos: readonly GgufTensorInfo[];
  /** Views for every tensor whose type the engine supports. */
  readonly tensors: Map<string, View>;
  /** The whole file; for files past one buffer (> 4 GiB) only the header prefix (tensors are mapped in windows). */
  readonly storage: Storage;
}

const MAX_KEY = 65535;
const MAX_NAME = 64;
const MAX_DIMS = 8;
const MAX_DEPTH = 8;

/**
 * Reads a .gguf file.
 * @example const g = readGguf('vocab.gguf'); g.metadata['tokenizer.ggml.tokens'] as string[]
 */
export function readGguf(path: string): GgufFile {
  const size = statSync(path).size;
  if (size < ONE_BUFFER || !mmapAvailable()) return parseGguf(openStorage(path), path);
  // Past one buffer's limit (4 GiB on Node 20): parse the header from a prefix of the file, then
  // map the tensor data in windows of whole tensors.
  let err: unknown;
  for (let prefix = 32 * 2 ** 20; prefix < 2 * ONE_BUFFER; prefix *= 8) {
    try {
      return parseGguf(openRange(path, 0, Math.min(prefix, ONE_BUFFER - 1)), path, { fileSize: size });
    } catch (e) {
      err = e;
      if (!/truncated or corrupt/.test(String((e as Error).message))) break;
    }
  }
  throw err;
}

/** Largest window mapped as one buffer. */
const ONE_BUFFER = 2 ** 32;
const WINDOW = 2 ** 30;

/**
 * Parses GGUF bytes held in `storage`; `file` names it in errors. With `big`, `storage` holds only
 * a prefix of a `big.fileSize`-byte file (the header) and tensor data is mapped from `file` in
 * windows of whole tensors.
 */
export function parseGguf(storage: Storage, file: string, big?: { fileSize: number }): GgufFile {
  const c = new Cursor(file, storageBytes(storage));
  const fileLen = big ? big.fileSize : c.length;
  if (c.length < 4 || c.u32('magic') !== GGUF_MAGIC) fail(file, 'magic', 'not a GGUF file (expected "GGUF")');
  const version = c.u32('version');
  if (version === 1) fail(file, 'version', 'GGUF v1 is not supported (re-convert with a current llama.cpp)');
  if (version !== 2 && version !== 3) {
    if ((version & 0xffff) === 0 && version !== 0) fail(file, 'version', 'big-endian GGUF files are not supported');
    fail(file, 'version', `unsupported version ${version}`);
  }
  const nTensors = c.u64('tensor_count');
  const nKv = c.u64('metadata_kv_count');
  // Each kv needs >= 13 bytes and each tensor info >= 24: reject impossible counts before looping.
  if (nKv * 13 > fileLen - c.pos) fail(file, 'metadata_kv_count', `${nKv} entries cannot fit in ${fileLen - c.pos} bytes`);
  if (nTensors * 24 > fileLen - c.pos) fail(file, 'tensor_count', `${nTensors} tensors cannot fit in ${fileLen - c.pos} bytes`);

  const metadata: Record<string, unknown> = {};
  const metadataTypes: Record<string, GgufValueType> = {};
  for (let i = 0; i < nKv; i++) {
    const klen = c.u64(`metadata key #${i} length`);
    if (klen > MAX_KEY) fail(file, `metadata key #${i}`, `length ${klen} exceeds ${MAX_KEY}`);
    const key = c.utf8(klen, `metadata key #${i}`);
    if (Object.prototype.hasOwnProperty.call(metadata, key)) fail(file, `metadata '${key}'`, 'duplicate key');
    const field = `metadata '${key}'`;
    const t = c.u32(`${field} type`);
    const { value, type } = readValue(c, t, field, 0);
    define(metadata, key, value);
    define(metadataTypes, key, type);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if ('general.alignment' in metadataTypes) {
    const a = metadata['general.alignment'];
    if (metadataTypes['general.alignment'] !== 'u32' || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
      fail(file, "metadata 'general.alignment'", `must be a u32 power of two, got ${String(a)}`);
    }
    alignment = a;
  }

  const raw: { name: string; type: number; dims: number[]; offset: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const nlen = c.u64(`tensor #${i} name length`);
    if (nlen > MAX_NAME) fail(file, `tensor #${i} name`, `length ${nlen} exceeds ${MAX_NAME}`);
    const name = c.utf8(nlen, `tensor #${i} name`);
    if (names.has(name)) fail(file, `tensor '${name}'`, 'duplicate tensor name');
    names.add(name);
    const nd = c.u32(`tensor '${name}' n_dimensions`);
    if (nd > MAX_DIMS) fail(file, `tensor '${name}' n_dimensions`, `${nd} exceeds ${MAX_DIMS}`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(c.u64(`tensor '${name}' dimension ${d}`));
    const type = c.u32(`tensor '${name}' type`);
    const offset = c.u64(`tensor '${name}' offset`);
    raw.push({ name, type, dims, offset });
  }
  const dataOffset = nTensors > 0 ? Math.ceil(c.pos / alignment) * alignment : c.pos;
  if (dataOffset > fileLen) fail(file, 'tensor data', `starts at ${dataOffset}, past the end of the file (${fileLen} bytes)`);

  const tensorInfos: GgufTensorInfo[] = [];
  const tensors = new Map<string, View>();
  for (const r of raw) {
    const field = `tensor '${r.name}'`;
    const info = GGML_TYPES[r.type];
    if (!info) fail(file, `${field} type`, `unknown ggml type ${r.type} (supported: ${supportedGgmlTypes()})`);
    let n = 1;
    for (const d of r.dims) {
      n *= d;
      if (!Number.isSafeInteger(n)) fail(file, `${field} dimensions`, `[${r.dims.join(', ')}] has too many elements`);
    }
    if (r.dims.length > 0 && r.dims[0] % info.blockSize !== 0) {
      fail(file, `${field} dimensions`, `row length ${r.dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
    }
    if (n % info.blockSize !== 0) fail(file, `${field} dimensions`, `${n} elements is not a multiple of the ${info.name} block size`);
    const byteLength = (n / info.blockSize) * info.blockBytes;
    if (r.offset % alignment !== 0) fail(file, `${field} offset`, `${r.offset} is not a multiple of the alignment ${alignment}`);
    const byteOffset = dataOffset + r.offset;
    if (byteOffset + byteLength > fileLen) {
      fail(file, `${field} offset`, `data [${byteOffset}, ${byteOffset + byteLength}) runs past the end of the file (${fileLen} bytes)`);
    }
    const shape = [...r.dims].reverse();
    tensorInfos.push({ name: r.name, type: r.type, typeName: info.name, dtype: info.dtype, dims: r.dims, shape, offset: r.offset, byteOffset, byteLength });
    if (info.dtype && !big) tensors.set(r.name, viewAt(storage.buffer, storage.byteOffset + byteOffset, byteLength, info.dtype, shape));
  }
  const sorted = [...tensorInfos].sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1];
    if (sorted[i].byteOffset < p.byteOffset + p.byteLength) fail(file, `tensor '${sorted[i].name}' offset`, `overlaps tensor '${p.name}'`);
  }
  if (big) {
    // windows of consecutive whole tensors, each mapped as one buffer
    for (let i = 0; i < sorted.length; ) {
      const start = sorted[i].byteOffset;
      let j = i + 1;
      while (j < sorted.length && sorted[j].byteOffset + sorted[j].byteLength - start <= WINDOW) j++;
      const end = sorted[j - 1].byteOffset + sorted[j - 1].byteLength;
      if (end - start >= ONE_BUFFER) fail(file, `tensor '${sorted[i].name}'`, `${end - start} bytes is more than one buffer can hold`);
      const win = openRange(file, start, end - start);
      for (const t of sorted.slice(i, j)) {
        if (t.dtype) tensors.set(t.name, viewAt(win.buffer, win.byteOffset + t.byteOffset - start, t.byteLength, t.dtype, t.shape));
      }
      i = j;
    }
  }
  return { path: file, version, alignment, dataOffset, metadata, metadataTypes, tensorInfos, tensors, storage };
}

/** The View of tensor `name`, or a clear error when it is missing or of an unsupported type. */
export function ggufTensor(g: GgufFile, name: string): View {
  const v = g.tensors.get(name);
  if (v) return v;
  const info = g.tensorInfos.find((t) => t.name === name);
  if (!info) throw new Error(`${g.path}: tensor '${name}' not found`);
  throw new Error(`${g.path}: tensor '${name}' has type ${info.typeName}, which is not supported (supported: ${supportedGgmlTypes()})`);
}

function define(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function typeName(c: Cursor, t: number, field: string): (typeof GGUF_VALUE_TYPES)[number] {
  const n = GGUF_VALUE_TYPES[t];
  if (n === undefined) fail(c.file, `${field} type`, `unknown value type ${t}`);
  return n;
}

function readScalar(c: Cursor, t: GgufScalarType, field: string): unknown {
  switch (t) {
    case 'u8': return c.u8(field);
    case 'i8': return c.i8(field);
    case 'u16': return c.u16(field);
    case 'i16': return c.i16(field);
    case 'u32': return c.u32(field);
    case 'i32': return c.i32(field);
    case 'f32': return c.f32(field);
    case 'f64': return c.f64(field);
    case 'bool': {
      const b = c.u8(field);
      if (b > 1) fail(c.file, field, `bool must be 0 or 1, got ${b}`);
      return b === 1;
    }
    case 'string': return c.utf8(c.u64(`${field} length`), field);
    case 'u64': return safe(c.u64big(field));
    case 'i64': return safe(c.i64big(field));
  }
}

function safe(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

const TYPED: Partial<Record<GgufScalarType, new (b: ArrayBuffer) => ArrayLike<number>>> = {
  u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array, f64: Float64Array,
};

function readValue(c: Cursor, t: number, field: string, depth: number): { value: unknown; type: GgufValueType } {
  const name = typeName(c, t, field);
  if (name !== 'array') return { value: readScalar(c, name, field), type: name };
  if (depth >= MAX_DEPTH) fail(c.file, field, `arrays nested deeper than ${MAX_DEPTH}`);
  const et = c.u32(`${field} array type`);
  const ename = typeName(c, et, `${field} array`);
  const len = c.u64(`${field} array length`);
  const minSize = ename === 'string' ? 8 : ename === 'array' ? 12 : GGUF_SCALAR_SIZE[ename];
  if (len * minSize > c.remaining) fail(c.file, `${field} array length`, `${len} elements cannot fit in the ${c.remaining} bytes left`);
  if (ename === 'array') {
    const out: unknown[] = [];
    let inner: GgufValueType = 'u8';
    for (let i = 0; i < len; i++) {
      const r = readValue(c, et, `${field}[${i}]`, depth + 1);
      out.push(r.value);
      inner = r.type;
    }
    return { value: out, type: { array: len > 0 ? inner : { array: 'u8' } } };
  }
  const Typed = TYPED[ename];
  if (Typed) {
    const bytes = c.take(len * minSize, field).slice(); // copy: aligned, independent of the file
    return { value: new Typed(bytes.buffer), type: { array: ename } };
  }
  if (ename === 'u64' || ename === 'i64') {
    const bytes = c.take(len * 8, field).slice();
    const big = ename === 'u64' ? new BigUint64Array(bytes.buffer) : new BigInt64Array(bytes.buffer);
    const lim = BigInt(Number.MAX_SAFE_INTEGER);
    const allSafe = big.every((v) => v <= lim && v >= -lim);
    return { value: allSafe ? Array.from(big, Number) : big, type: { array: ename } };
  }
  const out: unknown[] = new Array(len);
  for (let i = 0; i < len; i++) out[i] = readScalar(c, ename, `${field}[${i}]`);
  return { value: out, type: { array: ename } };
}
