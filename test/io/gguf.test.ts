/**
 * GGUF: a hand-written fixture (dev/io/make_gguf_fixture.py) with every metadata type and
 * F32/F16/BF16/Q8_0/Q4_0/Q4_K tensors, bit-for-bit round trips (ours and llama.cpp's vocab files),
 * and hostile/truncated files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseGguf, readGguf, ggufTensor } from '../../src/io/gguf.js';
import { encodeGguf, ggufWriteInput, writeGguf } from '../../src/io/gguf-write.js';
import { f16ToF32 } from '../../src/backends/dtype.js';
import type { View } from '../../src/backends/backend.js';
import { fixtures, fuzz, sharedFile, tmp, values } from './helpers.js';

const asStorage = (b: Uint8Array) => ({ buffer: b.buffer as ArrayBuffer, byteOffset: b.byteOffset, byteLength: b.byteLength });
const cat = (c: Uint8Array[]) => new Uint8Array(Buffer.concat(c));

/** Dequantizes a q8_0/q4_0 view by the ggml block layout (test-side reference). */
function dequant(v: View): number[] {
  const b = new Uint8Array(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.shape.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  const bb = v.dtype === 'q8_0' ? 34 : 18;
  for (let blk = 0; blk < n / 32; blk++) {
    const d = f16ToF32(dv.getUint16(blk * bb, true));
    if (v.dtype === 'q8_0') for (let j = 0; j < 32; j++) out.push(dv.getInt8(blk * bb + 2 + j) * d);
    else {
      const lo: number[] = [], hi: number[] = [];
      for (let j = 0; j < 16; j++) {
        const q = b[blk * bb + 2 + j];
        lo.push(((q & 15) - 8) * d);
        hi.push(((q >> 4) - 8) * d);
      }
      out.push(...lo, ...hi);
    }
  }
  return out;
}

const close = (a: number[], b: number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('reads every metadata type and tensor of the hand-written fixture', () => {
  const g = readGguf(join(fixtures, 'mixed.gguf'));
  const e = JSON.parse(readFileSync(join(fixtures, 'mixed.gguf.json'), 'utf8'));
  assert.equal(g.version, 3);
  assert.equal(g.alignment, 64);
  assert.equal(g.dataOffset, e.dataOffset);
  const m = g.metadata;
  assert.equal(m['general.architecture'], 'llama');
  assert.equal(m['test.u8'], 200);
  assert.equal(m['test.i8'], -100);
  assert.equal(m['test.u16'], 60000);
  assert.equal(m['test.i16'], -30000);
  assert.equal(m['test.u32'], 4000000000);
  assert.equal(m['test.i32'], -2000000000);
  assert.equal(m['test.f32'], e.metadata['test.f32']);
  assert.equal(m['test.bool'], true);
  assert.equal(m['test.string'], e.metadata['test.string']); // BOM inside kept
  assert.equal(m['test.u64'], 2n ** 53n + 1n); // beyond 2^53: bigint
  assert.equal(m['test.i64'], -(2 ** 40));
  assert.equal(m['test.small_u64'], 12345);
  assert.equal(m['test.f64'], 1 / 3);
  assert.deepEqual(m['test.strings'], ['a', '', 'üñî', 'Ġthe']);
  assert.ok(m['test.f32s'] instanceof Float32Array);
  assert.deepEqual([...(m['test.f32s'] as Float32Array)], [0.5, -1.25, 3]);
  assert.ok(m['test.i32s'] instanceof Int32Array);
  assert.deepEqual([...(m['test.i32s'] as Int32Array)], [1, -2, 3]);
  assert.deepEqual(m['test.bools'], [true, false]);
  assert.deepEqual(m['test.u64s'], [1, 2, 3]);
  assert.deepEqual(m['test.nested'], [new Int16Array([1, 2]), new Int16Array([-3])]);
  assert.deepEqual(m['test.empty'], []);
  assert.deepEqual(g.metadataTypes['test.nested'], { array: { array: 'i16' } });
  for (const [name, t] of Object.entries(e.tensors) as [string, { type: number; shape: number[]; values: number[] | null }][]) {
    const info = g.tensorInfos.find((x) => x.name === name)!;
    assert.equal(info.type, t.type, name);
    assert.deepEqual(info.shape, t.shape, name);
    assert.deepEqual(info.dims, [...t.shape].reverse(), name);
    assert.equal(info.offset % 64, 0);
    if (t.values === null) continue;
    const v = g.tensors.get(name)!;
    assert.deepEqual(v.shape, t.shape);
    const got = v.dtype === 'q8_0' || v.dtype === 'q4_0' ? dequant(v) : values(v);
    close(got, t.values, 1e-6, name);
  }
  // The Q4_K tensor reads as stored (its values: test/quant/kquant.test.ts checks k-quant decoding).
  assert.equal(g.tensors.get('k4')!.dtype, 'q4_k');
  assert.equal(g.tensorInfos.find((x) => x.name === 'k4')!.typeName, 'Q4_K');
  assert.equal(ggufTensor(g, 'w32'), g.tensors.get('w32'));
  // Zero-copy: the f32 view points into the file storage.
  assert.equal(g.tensors.get('w32')!.storage.buffer, g.storage.buffer);
});

test('read -> write reproduces the fixture bit for bit; write -> read -> write too', () => {
  const p = join(fixtures, 'mixed.gguf');
  const orig = new Uint8Array(readFileSync(p));
  const again = cat(encodeGguf(ggufWriteInput(readGguf(p))));
  assert.deepEqual(again, orig);
  const dir = tmp();
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  writeGguf(join(dir, 'a.gguf'), { metadata: { 'general.architecture': 'llama', 'x.eps': 1e-5, 'x.n': 7, 'x.toks': ['a', 'b'], 'x.neg': -3 }, tensors: [{ name: 't', dtype: 'f32', shape: [2, 3], data }] });
  const a = readGguf(join(dir, 'a.gguf'));
  assert.deepEqual(a.metadataTypes, { 'general.architecture': 'string', 'x.eps': 'f32', 'x.n': 'u32', 'x.toks': { array: 'string' }, 'x.neg': 'i32' });
  assert.deepEqual(a.tensorInfos[0].dims, [3, 2]);
  assert.deepEqual(values(a.tensors.get('t')!), [1, 2, 3, 4, 5, 6]);
  writeGguf(join(dir, 'b.gguf'), ggufWriteInput(a));
  assert.deepEqual(readFileSync(join(dir, 'b.gguf')), readFileSync(join(dir, 'a.gguf')));
  assert.throws(() => encodeGguf({ metadata: {}, tensors: [{ name: 't', dtype: 'q8_0', shape: [32], data: new Uint8Array(30) }] }), /tensor 't': 30 bytes given, Q8_0 \[32\] needs 34/);
});

test("llama.cpp's vocab GGUF files read and rewrite bit for bit", (t) => {
  const dir = sharedFile('tokenizers/llamacpp-goldens');
  if (!dir) return t.skip('shared data absent');
  const files = readdirSync(dir).filter((f) => f.endsWith('.gguf'));
  assert.ok(files.length >= 7);
  for (const f of files) {
    const g = readGguf(join(dir, f));
    const toks = g.metadata['tokenizer.ggml.tokens'] as string[];
    assert.ok(Array.isArray(toks) && toks.length > 1000, f);
    assert.deepEqual(cat(encodeGguf(ggufWriteInput(g))), new Uint8Array(readFileSync(join(dir, f))), f);
  }
  const spm = readGguf(join(dir, 'ggml-vocab-llama-spm.gguf'));
  assert.equal((spm.metadata['tokenizer.ggml.tokens'] as string[]).length, 32000);
  assert.equal(spm.metadata['tokenizer.ggml.model'], 'llama');
  assert.equal(spm.metadata['tokenizer.ggml.bos_token_id'], 1);
  assert.ok(spm.metadata['tokenizer.ggml.scores'] instanceof Float32Array);
});

function ggufHeader(parts: (number | bigint | string)[][]): Uint8Array {
  const out: number[] = [];
  const push = (b: Uint8Array) => out.push(...b);
  for (const [kind, v] of parts as [string, number | bigint | string][]) {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    if (kind === 'u32') { dv.setUint32(0, Number(v), true); push(b.subarray(0, 4)); }
    else if (kind === 'u64') { dv.setBigUint64(0, BigInt(v), true); push(b); }
    else if (kind === 'str') { const s = new TextEncoder().encode(String(v)); dv.setBigUint64(0, BigInt(s.length), true); push(b); push(s); }
  }
  return new Uint8Array(out);
}

test('hostile GGUF headers are refused with the field named', () => {
  const cases: [(number | bigint | string)[][], RegExp][] = [
    [[['u32', 0x12345678]], /h\.gguf: magic: not a GGUF file/],
    [[['u32', 0x46554747], ['u32', 1]], /version: GGUF v1 is not supported/],
    [[['u32', 0x46554747], ['u32', 0x03000000]], /version: big-endian/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 2n ** 40n], ['u64', 0]], /tensor_count: 1099511627776 tensors cannot fit/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 0], ['u64', 2n ** 62n]], /metadata_kv_count: (value .* is too large|.* cannot fit)/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 0], ['u64', 1], ['str', 'k'], ['u32', 9], ['u32', 8], ['u64', 2n ** 40n], ['u64', 0]], /metadata 'k' array length: 1099511627776 elements cannot fit/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 0], ['u64', 1], ['str', 'k'], ['u32', 13], ['u64', 0]], /metadata 'k' type: unknown value type 13/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 0], ['u64', 1], ['str', 'k'], ['u32', 8], ['u64', 2n ** 50n]], /metadata 'k' length|metadata 'k': needs/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 0], ['u64', 1], ['str', 'general.alignment'], ['u32', 4], ['u32', 3], ['u64', 0]], /general.alignment': must be a u32 power of two/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 't'], ['u32', 2], ['u64', 2n ** 40n], ['u64', 2n ** 40n], ['u32', 0], ['u64', 0], ['u64', 0], ['u64', 0]], /tensor 't' dimensions: .* has too many elements/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 't'], ['u32', 1], ['u64', 1024], ['u32', 0], ['u64', 0], ['u64', 0]], /tensor 't' offset: data \[\d+, \d+\) runs past the end/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 't'], ['u32', 1], ['u64', 4], ['u32', 0], ['u64', 3], ['u64', 0]], /tensor 't' offset: 3 is not a multiple of the alignment 32/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 't'], ['u32', 1], ['u64', 4], ['u32', 99], ['u64', 0], ['u64', 0]], /tensor 't' type: unknown ggml type 99/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 't'], ['u32', 1], ['u64', 33], ['u32', 8], ['u64', 0], ['u64', 0]], /row length 33 is not a multiple of the Q8_0 block size 32/],
    [[['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 0], ['str', 'x'.repeat(65)], ['u32', 1]], /tensor #0 name: length 65 exceeds 64/],
  ];
  for (const [parts, re] of cases) {
    const b = ggufHeader(parts);
    const padded = new Uint8Array(b.length + 128);
    padded.set(b);
    assert.throws(() => parseGguf(asStorage(padded), 'h.gguf'), re, String(re));
  }
  // Two tensors that overlap.
  const two = ggufHeader([['u32', 0x46554747], ['u32', 3], ['u64', 2], ['u64', 0], ['str', 'a'], ['u32', 1], ['u64', 16], ['u32', 0], ['u64', 0], ['str', 'b'], ['u32', 1], ['u64', 8], ['u32', 0], ['u64', 32]]);
  const f = new Uint8Array(256);
  f.set(two);
  assert.throws(() => parseGguf(asStorage(f), 'h.gguf'), /tensor 'b' offset: overlaps tensor 'a'/);
});

test('truncated and corrupted GGUF files throw clean errors', () => {
  const bytes = new Uint8Array(readFileSync(join(fixtures, 'mixed.gguf')));
  const rejected = fuzz(bytes, 'fz.gguf', (b) => parseGguf(asStorage(b), 'fz.gguf'), 1100);
  assert.ok(rejected > 1000, `only ${rejected} rejected`);
});
