/**
 * Memory-mapped files as Storage (the native addon's mmap, MAP_PRIVATE, copy-on-write): io maps
 * checkpoint weights with it so a model never holds two copies of them. A write (fine-tuning a
 * loaded model, from any backend) copies just the touched page and never reaches the file, so it
 * can never fault the process. Deliberately does not: map part of a file or write back to disk.
 */
import type { Storage } from '../backend.js';
import { loadAddon } from './addon.js';

/** Maps the whole regular file at `path`. Throws (naming the path) when it cannot. */
export function mapFile(path: string): Storage {
  const n = loadAddon();
  if (!n) throw new Error(`cannot map ${path}: the native backend is not built (run \`npm run build:native\`)`);
  const buffer = n.mapFile(path) as ArrayBuffer;
  return { buffer, byteOffset: 0, byteLength: buffer.byteLength };
}

/**
 * Maps bytes [offset, offset + length) of `path` (clamped to the file) as a Storage. Each range is
 * one buffer (at most 4 GiB on Node 20), so files larger than that are mapped piece by piece.
 */
export function mapFileRange(path: string, offset: number, length: number): Storage {
  const n = loadAddon();
  if (!n) throw new Error(`cannot map ${path}: the native backend is not built (run \`npm run build:native\`)`);
  const [buffer, delta] = n.mapFile(path, offset, length) as [ArrayBuffer, number];
  return { buffer, byteOffset: delta, byteLength: buffer.byteLength - delta };
}

/** Unmaps now (the ArrayBuffer is detached); idempotent. Views of it must not be used again. */
export function unmapFile(s: Storage): void {
  if (s.disposed) return;
  s.disposed = true;
  loadAddon()?.free(s.buffer);
}
