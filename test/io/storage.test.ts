/**
 * File storage: mmap (native addon, when built) and the read fallback give the same tensors; a
 * q8_0/q4_0 GGUF written from the ref backend's quantizers reads back byte-identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { configureEngine } from '../../src/backends/index.js';
import { mmapAvailable, openStorage, readInto } from '../../src/io/file-storage.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readGguf } from '../../src/io/gguf.js';
import { writeGguf } from '../../src/io/gguf-write.js';
import { readTorch } from '../../src/io/torch.js';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { fixtures, tmp, values } from './helpers.js';

test('mmap and read fallback give identical tensors', (t) => {
  if (!mmapAvailable()) return t.skip('native addon not built: only the read path exists');
  const load = () => ({
    st: [...readSafetensors(join(fixtures, 'mixed.safetensors')).tensors].map(([k, v]) => [k, values(v)]),
    pt: [...readTorch(join(fixtures, 'mixed.pt')).tensors].map(([k, v]) => [k, values(v)]),
    gg: values(readGguf(join(fixtures, 'mixed.gguf')).tensors.get('w32')!),
  });
  const mapped = load();
  const before = configureEngine({ mmap: false }); // what MOSS_NO_MMAP=1 sets at the CLI
  try {
    assert.equal(mmapAvailable(), false);
    assert.deepEqual(load(), mapped);
  } finally {
    configureEngine(before);
  }
  assert.equal(openStorage(join(fixtures, 'mixed.gguf')).byteLength, 1728);
});

test('q8_0 / q4_0 tensors from the ref quantizers round-trip through GGUF', () => {
  const n = 4 * 64;
  const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
  const q8 = quantizeQ8_0(x);
  const q4 = quantizeQ4_0(x);
  const p = join(tmp(), 'q.gguf');
  writeGguf(p, { metadata: { 'general.architecture': 'llama', 'general.quantization_version': 2 }, tensors: [{ name: 'a', dtype: 'q8_0', shape: [4, 64], data: q8 }, { name: 'b', dtype: 'q4_0', shape: [4, 64], data: q4 }] });
  const g = readGguf(p);
  for (const [name, q, deq] of [['a', q8, dequantizeQ8_0], ['b', q4, dequantizeQ4_0]] as const) {
    const v = g.tensors.get(name)!;
    assert.deepEqual(v.shape, [4, 64]);
    assert.deepEqual(g.tensorInfos.find((i) => i.name === name)!.dims, [64, 4]);
    const bytes = new Uint8Array(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
    assert.deepEqual(bytes, q);
    assert.deepEqual(deq(bytes, n), deq(q, n));
  }
});

test('the read fallback reads in chunks (readSync takes < 2 GiB per call) and stops on a short file', () => {
  const path = join(tmp(), 'chunks.bin');
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 255);
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  try {
    const got = new Uint8Array(90);
    readInto(path, fd, got, 10, 7); // 13 chunks of 7 bytes (the last one short) from offset 10
    assert.deepEqual(got, data.subarray(10));
    assert.throws(() => readInto(path, fd, new Uint8Array(20), 90, 7), /shrank/);
  } finally {
    closeSync(fd);
  }
});
