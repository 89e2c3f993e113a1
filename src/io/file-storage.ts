/**
 * Opens a checkpoint file as one `Storage`: memory-mapped (copy-on-write) through the native
 * addon's `mapFile` when it is built, otherwise read into a fresh ArrayBuffer (byteOffset 0, so
 * offsets inside the file keep their alignment). Readers then hand out zero-copy views into it.
 * It never writes to the file: writes into a mapped buffer copy the page and stay in memory.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { Storage } from '../backends/backend.js';
import { nativeAvailable } from '../backends/native/addon.js';
import { mapFile, mapFileRange } from '../backends/native/mmap.js';
import { engineOptions } from '../backends/options.js';

// mapFile throws when the addon is not built; nativeAvailable() says so up front.
const canMap = (): boolean => engineOptions().mmap && nativeAvailable();

/** Largest file read into memory by the fallback path (V8's ArrayBuffer limit is near this). */
const MAX_READ = 2 ** 32;

/** Bytes per readSync call: its length argument must stay below 2 GiB (a signed 32-bit int). */
const READ_CHUNK = 2 ** 30;

/** Fills `bytes` from `fd` starting at file offset `offset`, in chunks readSync accepts (exported for tests). */
export function readInto(path: string, fd: number, bytes: Uint8Array, offset: number, chunk = READ_CHUNK): void {
  for (let pos = 0; pos < bytes.length; ) {
    const got = readSync(fd, bytes, pos, Math.min(chunk, bytes.length - pos), offset + pos);
    if (got === 0) throw new Error(`${path}: file shrank while being read`);
    pos += got;
  }
}

/** Whether `openStorage` memory-maps (true) or reads files (false). The engine switch `mmap: false` (MOSS_NO_MMAP=1) forces reading. */
export function mmapAvailable(): boolean {
  return canMap();
}

/** Reads a whole file into a fresh ArrayBuffer-backed Storage. */
export function readStorage(path: string): Storage {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_READ) throw new Error(`${path}: file is ${size} bytes, too large to read into memory without mmap (build the native addon)`);
    const bytes = new Uint8Array(size);
    readInto(path, fd, bytes, 0);
    return { buffer: bytes.buffer, byteOffset: 0, byteLength: size };
  } finally {
    closeSync(fd);
  }
}

/**
 * A Storage over the whole file at `path` (copy-on-write mmap when available, else a read).
 * @example const s = openStorage('model.safetensors'); new Uint8Array(s.buffer, s.byteOffset, 8)
 */
export function openStorage(path: string): Storage {
  if (canMap()) {
    const s = mapFile(path);
    if (s.byteLength > 0) return s; // empty files cannot be mapped meaningfully: read them
  }
  return readStorage(path);
}

/** Bytes [offset, offset + length) of `path` (clamped to the file): a mapped range when available, else read. */
export function openRange(path: string, offset: number, length: number): Storage {
  if (canMap()) return mapFileRange(path, offset, length);
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.max(0, Math.min(length, size - offset));
    if (n > MAX_READ) throw new Error(`${path}: a range of ${n} bytes is too large to read into memory without mmap`);
    const bytes = new Uint8Array(n);
    readInto(path, fd, bytes, offset);
    return { buffer: bytes.buffer, byteOffset: 0, byteLength: n };
  } finally {
    closeSync(fd);
  }
}

/**
 * Random access to a checkpoint's bytes without holding them all: `read` copies a small range
 * (headers, directories), `window` gives a zero-copy Storage over a range (a mapping of just that
 * range for files, a subarray for bytes in memory). Readers of files past one buffer (4 GiB) use it.
 */
export interface ByteSource {
  readonly file: string;
  readonly size: number;
  /** A copy of bytes [offset, offset + length), clamped to the source. */
  read(offset: number, length: number): Uint8Array;
  /** A Storage over bytes [offset, offset + length), clamped to the source (mapped when possible). */
  window(offset: number, length: number): Storage;
}

/** A ByteSource over bytes already in memory (`file` names them in errors). */
export function memorySource(bytes: Uint8Array, file: string): ByteSource {
  const clamp = (o: number, n: number): [number, number] => {
    const a = Math.min(Math.max(0, o), bytes.length);
    return [a, Math.min(bytes.length, a + Math.max(0, n))];
  };
  return {
    file,
    size: bytes.length,
    read: (o, n) => bytes.slice(...clamp(o, n)),
    window(o, n) {
      const [a, b] = clamp(o, n);
      return { buffer: bytes.buffer as ArrayBuffer, byteOffset: bytes.byteOffset + a, byteLength: b - a };
    },
  };
}

/** A ByteSource over the file at `path`: small reads with readSync, windows mapped (or read without the addon). */
export function fileSource(path: string): ByteSource {
  const size = statSync(path).size;
  return {
    file: path,
    size,
    read(o, n) {
      const len = Math.max(0, Math.min(n, size - o));
      const out = new Uint8Array(len);
      if (len === 0) return out;
      const fd = openSync(path, 'r');
      try {
        readInto(path, fd, out, o);
      } finally {
        closeSync(fd);
      }
      return out;
    },
    window: (o, n) => (n <= 0 || o >= size ? { buffer: new ArrayBuffer(0), byteOffset: 0, byteLength: 0 } : openRange(path, o, n)),
  };
}

/** Files above this size are read as mapped windows (one per tensor) rather than one mapping. */
export const WINDOWED_ABOVE = 256 * 2 ** 20;

/** The ByteSource a reader should use for `path`: the whole file mapped when small, windows when big. */
export function sourceFor(path: string): ByteSource {
  return statSync(path).size > WINDOWED_ABOVE ? fileSource(path) : memorySource(storageBytes(openStorage(path)), path);
}

/** The bytes of a storage as a Uint8Array (no copy). */
export function storageBytes(s: Storage): Uint8Array {
  return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
}
