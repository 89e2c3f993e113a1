/**
 * PyTorch checkpoints in the zip format (torch.save since 1.6, as MOSS's pytorch_model*.bin ship):
 * `<archive>/data.pkl` unpickled by the restricted unpickler (pickle.ts) with an allow-list of
 * exactly the tensor rebuild functions, the typed storage classes and collections.OrderedDict;
 * storages come from `<archive>/data/<key>` as zero-copy views (torch aligns them to 64 bytes),
 * each a mapped window of the file, so shards past 4 GiB (ZIP64) load without one big buffer.
 * Tensors keep their storage offset and strides (non-contiguous stays strided); tensors sharing a
 * storage share one Storage. f64 storages become f32 and u8/i8/i16 become i32 (copies) because the
 * engine has no such dtypes. Nested dicts are flattened with '.' (or pick one with `key`).
 * Not supported: the legacy pre-1.6 format (refused with a hint), big-endian archives, sparse or
 * quantized torch tensors, complex dtypes.
 */
import { isContiguous, type Storage, type View } from '../backends/backend.js';
import type { DType } from '../backends/dtype.js';
import { FormatError, fail } from './errors.js';
import { sourceFor, memorySource, storageBytes, type ByteSource } from './file-storage.js';
import { openZip, scanTruncated, type ZipArchive } from './zip.js';
import { unpickle, type PickleFn } from './pickle.js';

/** torch storage class -> (source element size, engine dtype after any conversion). */
const STORAGES: Record<string, { size: number; dtype: DType; src: string }> = {
  FloatStorage: { size: 4, dtype: 'f32', src: 'f32' },
  HalfStorage: { size: 2, dtype: 'f16', src: 'f16' },
  BFloat16Storage: { size: 2, dtype: 'bf16', src: 'bf16' },
  DoubleStorage: { size: 8, dtype: 'f32', src: 'f64' },
  LongStorage: { size: 8, dtype: 'i64', src: 'i64' },
  IntStorage: { size: 4, dtype: 'i32', src: 'i32' },
  ShortStorage: { size: 2, dtype: 'i32', src: 'i16' },
  CharStorage: { size: 1, dtype: 'i32', src: 'i8' },
  ByteStorage: { size: 1, dtype: 'i32', src: 'u8' },
  BoolStorage: { size: 1, dtype: 'bool', src: 'bool' },
};

/** A storage class reference produced by the allow-listed `torch.XStorage` globals. */
class StorageType {
  constructor(readonly name: string) {}
}

interface LoadedStorage {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly numel: number;
}

export interface TorchFile {
  readonly path: string;
  /** The unpickled object: Maps (dicts), arrays (lists/tuples), Views (tensors), primitives. */
  readonly root: unknown;
  /** Every tensor found, by dotted path ('model_state_dict.test'). */
  readonly tensors: Map<string, View>;
  /** Source dtype of each tensor's storage (before f64/u8/i8 conversion). */
  readonly sourceDtypes: Map<string, string>;
  /** Where each contiguous tensor of a stored (uncompressed) entry lies in the file, for streaming readers. */
  readonly locations: Map<string, TensorLocation>;
}

/** A contiguous tensor's bytes in a file: [byteOffset, byteOffset + byteLength) of `file`. */
export interface TensorLocation {
  readonly file: string;
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Source dtype as in the file ('f32', 'f16', 'bf16', 'i64', ...). */
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface TorchReadOptions {
  /** Take the state dict at this top-level key (e.g. 'model_state_dict'); names then have no prefix. */
  readonly key?: string;
}

/**
 * Reads a PyTorch zip checkpoint without executing anything in it.
 * @example const { tensors } = readTorch('pytorch_model.bin'); tensors.get('transformer.wte.weight')
 */
export function readTorch(path: string, opts: TorchReadOptions = {}): TorchFile {
  return parseTorchSource(sourceFor(path), opts);
}

/** Parses checkpoint bytes held in memory; `file` names it in errors. */
export function parseTorch(bytes: Uint8Array, file: string, opts: TorchReadOptions = {}): TorchFile {
  return parseTorchSource(memorySource(bytes, file), opts);
}

/** Largest data.pkl accepted (a 16B state dict's is ~60 kB; this bounds inflating a hostile one). */
export const MAX_PICKLE = 256 * 2 ** 20;

/**
 * Parses a checkpoint from a ByteSource: only the directory and data.pkl are read; each storage is
 * a window of the file (mapped), so files of any size load without holding them in one buffer.
 */
export function parseTorchSource(src: ByteSource, opts: TorchReadOptions = {}): TorchFile {
  const file = src.file;
  const bytes = src.read(0, 4);
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    fail(file, 'format', 'legacy (pre-1.6, non-zip) PyTorch checkpoints are not supported: re-save with torch.save(obj, path) from torch >= 1.6');
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) fail(file, 'format', 'not a PyTorch zip checkpoint (no zip signature)');
  let zip: ZipArchive;
  try {
    zip = openZip(src);
  } catch (e) {
    if (e instanceof FormatError && /end of central directory: not found/.test(e.message)) truncated(src, opts, e);
    throw e;
  }
  return parseArchive(zip, file, opts, false);
}

/** Names the tensor a truncated checkpoint lost (from its local headers and data.pkl), then throws. */
function truncated(src: ByteSource, opts: TorchReadOptions, original: Error): never {
  let found: ReturnType<typeof scanTruncated>;
  try {
    found = scanTruncated(src);
  } catch {
    throw original;
  }
  if (!found) throw original;
  const { archive, cut } = found;
  const key = /\/data\/([\w.-]+)$/.exec(cut.name)?.[1];
  let names: string[];
  try {
    const dry = parseArchive(archive, src.file, opts, true);
    names = [...dry.tensors].filter(([, v]) => (v.storage as { key?: string }).key === key).map(([n]) => n);
  } catch {
    names = [];
  }
  const what = names.length > 0 ? `tensor '${names[0]}'${names.length > 1 ? ` (and ${names.length - 1} sharing its storage)` : ''}` : `zip entry '${cut.name}'`;
  return fail(src.file, what, `truncated: the file ends at byte ${src.size}, inside ${cut.name} [${cut.dataOffset}, ${cut.dataOffset + cut.compressedSize})`);
}

/** Unpickles data.pkl of `zip`; with `dry`, storages are not read (empty, tagged with their key). */
function parseArchive(zip: ZipArchive, file: string, opts: TorchReadOptions, dry: boolean): TorchFile {
  const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) fail(file, 'data.pkl', pkls.length === 0 ? 'no data.pkl entry in the archive' : 'several data.pkl entries');
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  const bo = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`, undefined, 16)) : 'little';
  if (bo !== 'little') fail(file, 'byteorder', `'${bo}' archives are not supported`);

  const views = new WeakSet<object>();
  const sources = new WeakMap<object, string>();
  const loaded = new Map<string, LoadedStorage>();
  const at = new WeakMap<object, { offset: number; size: number }>();
  const storageOf = new WeakMap<object, LoadedStorage>();
  const where = `${file} (${pkls[0]})`;

  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail(where, 'persistent id', `expected ('storage', type, key, location, numel), got ${describe(pid)}`);
    const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
    if (!(type instanceof StorageType)) fail(where, 'persistent id', 'storage type is not an allow-listed torch storage class');
    if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) fail(where, 'persistent id', `bad storage key ${describe(key)}`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) fail(where, `storage '${key}' numel`, `bad value ${describe(numel)}`);
    const cached = loaded.get(key);
    if (cached) return cached;
    const info = STORAGES[type.name];
    const entry = `${prefix}data/${key}`;
    if (dry) {
      const s: LoadedStorage = { storage: Object.assign({ buffer: new ArrayBuffer(0), byteOffset: 0, byteLength: 0 }, { key }), dtype: info.dtype, numel };
      loaded.set(key, s);
      return s;
    }
    const e = zip.entries.get(entry);
    if (!e) fail(file, `storage '${key}'`, `entry ${entry} is missing from the archive`);
    if (e.size < numel * info.size) fail(file, `storage '${key}'`, `entry ${entry} has ${e.size} bytes, ${type.name} of ${numel} needs ${numel * info.size}`);
    const raw = storageBytes(zip.storage(entry, numel * info.size));
    const s: LoadedStorage = { storage: toStorage(raw, info.src, info.size), dtype: info.dtype, numel };
    if (e.method === 0) at.set(s, { offset: e.dataOffset, size: info.size });
    loaded.set(key, s);
    sources.set(s, info.src);
    return s;
  };

  const rebuild = (args: unknown[], what: string): View => {
    const [st, offset, size, stride] = args;
    if (!st || typeof st !== 'object' || !('storage' in st) || !('numel' in st)) fail(where, what, 'first argument is not a storage');
    const s = st as LoadedStorage;
    const ints = (v: unknown, name: string): number[] => {
      if (!Array.isArray(v) || v.length > 16 || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) fail(where, `${what} ${name}`, `bad value ${describe(v)}`);
      return v as number[];
    };
    const shape = ints(size, 'size');
    const strides = ints(stride, 'stride');
    if (shape.length !== strides.length) fail(where, `${what} stride`, `rank ${strides.length} != size rank ${shape.length}`);
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail(where, `${what} storage_offset`, `bad value ${describe(offset)}`);
    let last = offset as number;
    let empty = false;
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === 0) empty = true;
      last += (shape[i] - 1) * strides[i];
    }
    if (!empty && (!Number.isSafeInteger(last) || last >= s.numel)) fail(where, `${what} size`, `[${shape.join(', ')}] with strides [${strides.join(', ')}] at offset ${String(offset)} reaches past the storage of ${s.numel} elements`);
    const v: View = { storage: s.storage, dtype: s.dtype, shape: [...shape], strides: [...strides], offset: offset as number };
    views.add(v);
    storageOf.set(v, s);
    sources.set(v, sources.get(s) ?? s.dtype);
    return v;
  };

  const globals = new Map<string, PickleFn>([
    ['torch._utils._rebuild_tensor_v2', (a) => rebuild(a, '_rebuild_tensor_v2')],
    ['torch._utils._rebuild_tensor', (a) => rebuild(a, '_rebuild_tensor')],
    ['torch._utils._rebuild_parameter', (a) => {
      if (!views.has(a[0] as object)) fail(where, '_rebuild_parameter', 'argument is not a tensor');
      return a[0];
    }],
    ['collections.OrderedDict', (a) => {
      if (a.length !== 0) fail(where, 'collections.OrderedDict', 'only OrderedDict() with no arguments is allowed');
      return new Map();
    }],
  ]);
  for (const name of Object.keys(STORAGES)) {
    const t = new StorageType(name);
    // The storage class itself is looked up (not called): resolve to a marker object.
    globals.set(`torch.${name}`, Object.assign(() => fail(where, `torch.${name}`, 'storage classes cannot be called'), { marker: t }));
  }

  const root = unpickle(zip.read(pkls[0], undefined, MAX_PICKLE), where, {
    globals,
    // A storage class appears as a GLOBAL inside the persistent id tuple: unwrap it there.
    persistentLoad: (pid) => persistentLoad(Array.isArray(pid) ? pid.map(unwrapStorageType) : pid),
    build: (obj, state) => {
      // OrderedDict state (e.g. the `_metadata` attribute of a state_dict): keep the dict, drop the attribute.
      if (obj instanceof Map && (state instanceof Map || state === null)) return obj;
      if (views.has(obj as object) && (state === null || (state instanceof Map && state.size === 0))) return obj;
      return fail(where, 'pickle BUILD', 'only OrderedDict attributes may be set');
    },
  });

  let top = root;
  if (opts.key !== undefined) {
    if (!(root instanceof Map) || !root.has(opts.key)) fail(file, `key '${opts.key}'`, 'not found at the top level');
    top = root.get(opts.key);
  }
  const tensors = new Map<string, View>();
  const sourceDtypes = new Map<string, string>();
  const locations = new Map<string, TensorLocation>();
  const walk = (v: unknown, name: string, depth: number): void => {
    if (depth > 32) fail(file, 'state dict', 'nested deeper than 32 levels');
    if (v && typeof v === 'object' && views.has(v)) {
      tensors.set(name, v as View);
      const src = sources.get(v) ?? (v as View).dtype;
      sourceDtypes.set(name, src);
      const w = v as View;
      const a = at.get(storageOf.get(w) as object);
      if (a && isContiguous(w)) {
        const n = w.shape.reduce((x, y) => x * y, 1);
        locations.set(name, { file, byteOffset: a.offset + w.offset * a.size, byteLength: n * a.size, dtype: src, shape: w.shape });
      }
    } else if (v instanceof Map) {
      for (const [k, x] of v) walk(x, name ? `${name}.${String(k)}` : String(k), depth + 1);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, name ? `${name}.${i}` : String(i), depth + 1));
    }
  };
  walk(top, '', 0);
  return { path: file, root, tensors, sourceDtypes, locations };
}

function unwrapStorageType(x: unknown): unknown {
  if (x && typeof x === 'object' && 'fn' in x) {
    const m = (x as { fn: { marker?: StorageType } }).fn.marker;
    if (m instanceof StorageType) return m;
  }
  return x;
}

/** Storage for raw little-endian bytes of source dtype `src` (zero-copy when aligned, else copied/converted). */
function toStorage(raw: Uint8Array, src: string, size: number): Storage {
  const n = raw.byteLength / size;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (src === 'f64') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
    return { buffer: out.buffer, byteOffset: 0, byteLength: out.byteLength };
  }
  if (src === 'i8' || src === 'u8' || src === 'i16') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = src === 'u8' ? raw[i] : src === 'i8' ? dv.getInt8(i) : dv.getInt16(i * 2, true);
    return { buffer: out.buffer, byteOffset: 0, byteLength: out.byteLength };
  }
  if (raw.byteOffset % size === 0) return { buffer: raw.buffer as ArrayBuffer, byteOffset: raw.byteOffset, byteLength: raw.byteLength };
  const copy = raw.slice();
  return { buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength };
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Map ? 'dict' : x));
    return s === undefined ? typeof v : s.slice(0, 80);
  } catch {
    return typeof v;
  }
}
