/**
 * safetensors: the real candle fixture, a hand-written multi-dtype fixture (dev/io/
 * make_safetensors_fixture.py), write -> read round trips, and hostile headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors, readSafetensors, writeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { fixtures, fuzz, sharedFile, tmp, values } from './helpers.js';

const asStorage = (b: Uint8Array) => ({ buffer: b.buffer as ArrayBuffer, byteOffset: b.byteOffset, byteLength: b.byteLength });

test('reads the real jfk-codes.safetensors zero-copy with numpy-checked values', (t) => {
  const p = sharedFile('formats/jfk-codes.safetensors');
  if (!p) return t.skip('shared data absent');
  const f = readSafetensors(p);
  const v = f.tensors.get('codes')!;
  assert.equal(v.dtype, 'i64');
  assert.deepEqual(v.shape, [1, 2, 828]);
  assert.equal(v.storage.byteOffset, 80); // 8 + 72-byte header: a view into the file, not a copy
  assert.equal(v.storage.buffer, f.storage.buffer);
  const x = values(v);
  // numpy: a.sum() = 960640, a[0,0,:5] = [865 62 408 408 475], a[0,1,-3:] = [873 796 889]
  assert.equal(x.reduce((a, b) => a + b, 0), 960640);
  assert.deepEqual(x.slice(0, 5), [865, 62, 408, 408, 475]);
  assert.deepEqual(x.slice(-3), [873, 796, 889]);
  assert.deepEqual(f.metadata, {});
});

test('reads every dtype of the hand-written fixture, copying the misaligned tensor', () => {
  const f = readSafetensors(join(fixtures, 'mixed.safetensors'));
  const expect = JSON.parse(readFileSync(join(fixtures, 'mixed.safetensors.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
  assert.deepEqual(f.metadata, { format: 'pt', note: 'made by dev/io/make_safetensors_fixture.py' });
  const dt: Record<string, string> = { F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', BOOL: 'bool', U8: 'i32', I8: 'i32', F64: 'f32' };
  for (const [name, e] of Object.entries(expect)) {
    const v = f.tensors.get(name)!;
    assert.equal(v.dtype, dt[e.dtype], name);
    assert.equal(f.tensorInfos.get(name)!.dtype, e.dtype);
    assert.deepEqual(v.shape, e.shape, name);
    assert.deepEqual(values(v), e.values, name);
  }
  // odd_f32 starts at an odd file offset: the reader must have copied it into its own buffer.
  const odd = f.tensorInfos.get('odd_f32')!;
  assert.equal(odd.byteOffset % 4 !== 0, true);
  assert.notEqual(f.tensors.get('odd_f32')!.storage.buffer, f.storage.buffer);
  assert.equal(f.tensors.get('w_f32')!.storage.buffer, f.storage.buffer);
});

test('write -> read -> write is bit for bit, with aligned padded header', () => {
  const dir = tmp();
  const f = readSafetensors(join(fixtures, 'mixed.safetensors'));
  const a = join(dir, 'a.safetensors');
  writeSafetensors(a, f.tensors, f.metadata);
  const bytesA = readFileSync(a);
  const n = Number(bytesA.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const g = readSafetensors(a);
  for (const [k, v] of f.tensors) assert.deepEqual(values(g.tensors.get(k)!), values(v), k);
  for (const [, v] of g.tensors) assert.equal(v.storage.byteOffset % 8 === 0 || v.dtype !== 'i64', true);
  const b = join(dir, 'b.safetensors');
  writeSafetensors(b, g.tensors, g.metadata);
  assert.deepEqual(readFileSync(b), bytesA);
  assert.deepEqual(readdirSync(dir).sort(), ['a.safetensors', 'b.safetensors']); // no temp files left
});

test('writes a strided (transposed) view as its row-major values', () => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6]); // (2, 3)
  const t = { storage: { buffer: data.buffer, byteOffset: 0, byteLength: 24 }, dtype: 'f32' as const, shape: [3, 2], strides: [1, 3], offset: 0 };
  const bytes = Buffer.concat(encodeSafetensors({ t }));
  const f = parseSafetensors(asStorage(new Uint8Array(bytes)), 'mem');
  assert.deepEqual(values(f.tensors.get('t')!), [1, 4, 2, 5, 3, 6]);
});

function st(header: unknown, data = new Uint8Array(16)): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('hostile headers are refused with the file and field named', () => {
  const bad: [unknown, RegExp][] = [
    ['{"a":', /x\.st: header: is not valid JSON/],
    [[1], /header: does not start with/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, /tensor 'a' data_offsets: span 12 bytes/],
    [{ a: { dtype: 'F32', shape: [4], data_offsets: [0, 32] } }, /tensor 'a' data_offsets: \[0, 32\] is not inside/],
    [{ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 16] } }, /tensor 'a' shape: has too many elements/],
    [{ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 16] } }, /shape: has an invalid dimension -1/],
    [{ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, /tensor 'a' dtype: unsupported dtype "F8_E4M3"/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, /tensor 'b' data_offsets: overlaps tensor 'a'/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, /data_offsets: \[8, 4\]/],
    [{ __metadata__: { a: 1 } }, /__metadata__\.a: is not a string/],
  ];
  for (const [h, re] of bad) assert.throws(() => parseSafetensors(asStorage(st(h)), 'x.st'), re, JSON.stringify(h));
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  assert.throws(() => parseSafetensors(asStorage(huge), 'x.st'), /x\.st: header length: 1099511627776 exceeds/);
  new DataView(huge.buffer).setBigUint64(0, 100n, true);
  assert.throws(() => parseSafetensors(asStorage(huge), 'x.st'), /header length: 100 runs past the end/);
});

test('truncated and corrupted safetensors files throw clean errors', () => {
  const bytes = new Uint8Array(readFileSync(join(fixtures, 'mixed.safetensors')));
  const rejected = fuzz(bytes, 'fz.st', (b) => parseSafetensors(asStorage(b), 'fz.st'), 400);
  assert.ok(rejected > 400, `only ${rejected} variants rejected`);
});

test('a __proto__ tensor name cannot pollute objects', () => {
  const f = parseSafetensors(asStorage(st('{"__proto__":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')), 'p.st');
  assert.deepEqual(f.tensors.get('__proto__')!.shape, [4]);
  assert.equal(({} as Record<string, unknown>).dtype, undefined);
  writeFileSync(join(tmp(), 'x'), '');
});
