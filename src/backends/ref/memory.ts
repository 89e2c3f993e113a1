/**
 * Host memory for the reference backend: zero-filled ArrayBuffers with the data at a 64-byte
 * aligned, deliberately NON-zero byteOffset (64), so any caller that forgets `storage.byteOffset`
 * breaks loudly in tests that run on ref. `free` only marks the storage disposed (the garbage
 * collector reclaims it); ref readers refuse disposed storage.
 * Not a pool or arena: the oracle favours simplicity over allocation speed.
 */
import type { Storage } from '../backend.js';

const ALIGN = 64;

/** Zero-filled storage of `byteLength` bytes starting at byteOffset 64 of a fresh ArrayBuffer. */
export function alloc(byteLength: number): Storage {
  if (!Number.isInteger(byteLength) || byteLength < 0) throw new Error(`ref.alloc: bad byteLength ${byteLength}`);
  const padded = Math.ceil(byteLength / ALIGN) * ALIGN;
  return { buffer: new ArrayBuffer(ALIGN + padded), byteOffset: ALIGN, byteLength, disposed: false };
}

/** Marks `s` disposed (idempotent); later reads through ref throw. */
export function free(s: Storage): void {
  s.disposed = true;
}
