/**
 * Test helpers for the io tests: where the shared data lives, temp dirs, reading a View's values
 * (strided, any non-quantized dtype) without the tensor layer, and the truncation/corruption fuzz
 * loop every reader must survive with a clean Error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { View } from '../../src/backends/backend.js';
import { bf16ToF32, f16ToF32 } from '../../src/backends/dtype.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (dist/test/io -> ../../..). */
export const repoRoot = resolve(here, '../../..');
export const fixtures = join(repoRoot, 'test/fixtures/io');
export const shared = process.env.MOSS_SHARED ?? resolve(repoRoot, '../shared');

/** Path of a shared file, or null (with a note) when the shared data is absent. */
export function sharedFile(rel: string): string | null {
  const p = join(shared, rel);
  if (!existsSync(p)) {
    console.log(`# skipped: ${p} not found (set MOSS_SHARED)`);
    return null;
  }
  return p;
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'moss-io-'));
}

/** Values of a View in row-major order (bigint -> number for i64 within 2^53). */
export function values(v: View): number[] {
  const dv = new DataView(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
  const n = v.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const idx = new Array<number>(v.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let e = v.offset;
    for (let d = 0; d < idx.length; d++) e += idx[d] * v.strides[d];
    switch (v.dtype) {
      case 'f32': out.push(dv.getFloat32(e * 4, true)); break;
      case 'f16': out.push(f16ToF32(dv.getUint16(e * 2, true))); break;
      case 'bf16': out.push(bf16ToF32(dv.getUint16(e * 2, true))); break;
      case 'i32': out.push(dv.getInt32(e * 4, true)); break;
      case 'i64': out.push(Number(dv.getBigInt64(e * 8, true))); break;
      case 'bool': out.push(dv.getUint8(e)); break;
      default: throw new Error(`values: ${v.dtype} not supported`);
    }
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < v.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Runs `parse` on truncated copies of `bytes` (every cut in the first `dense` bytes, then a spread
 * of cuts) and on copies with corrupted bytes; every failure must be a plain Error whose message
 * names `name`. Returns how many variants were rejected.
 */
export function fuzz(bytes: Uint8Array, name: string, parse: (b: Uint8Array) => void, dense = 256, seed = 1): number {
  const cuts = new Set<number>();
  for (let i = 0; i < Math.min(dense, bytes.length); i++) cuts.add(i);
  for (let i = 0; i < 200; i++) cuts.add(Math.floor((bytes.length * i) / 200));
  let rejected = 0;
  const check = (b: Uint8Array, what: string): void => {
    try {
      parse(b);
    } catch (e) {
      assert.ok(e instanceof Error, `${what}: threw a non-Error`);
      assert.ok(!(e instanceof RangeError) && !(e instanceof TypeError), `${what}: raw ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok((e as Error).message.includes(name), `${what}: message does not name the file: ${(e as Error).message}`);
      rejected++;
    }
  };
  for (const c of cuts) check(bytes.slice(0, c), `truncated at ${c}`);
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 300; i++) {
    const b = bytes.slice();
    const pos = Math.floor(rnd() * Math.min(b.length, dense * 4));
    b[pos] = [0xff, 0x00, 0x7f, 0x80][i % 4] ^ (i % 3 === 0 ? 0 : Math.floor(rnd() * 256));
    check(b, `byte ${pos} corrupted`);
  }
  return rejected;
}
