/**
 * GGUF files past one buffer's limit (4 GiB on Node 20) load through windowed mapping: a sparse
 * 4.5 GiB file (no disk used for the gap) with one tensor at its start and one past 4 GiB reads back
 * with exact values. Skipped when the native addon (mmap) is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf, mmapAvailable } from '../../src/io/index.js';

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

test('a GGUF file over 4 GiB maps in windows and reads exact values', { skip: !mmapAvailable() && 'native addon (mmap) not built' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-gguf-big-'));
  try {
    const far = 4.5 * 2 ** 30; // offset of the second tensor inside the data section (32-aligned)
    const tensorInfo = (name: string, n: number, off: number) => Buffer.concat([str(name), u32(1), u64(n), u32(0 /* F32 */), u64(off)]);
    const header = Buffer.concat([
      Buffer.from('GGUF'), u32(3), u64(2), u64(1),
      str('general.name'), u32(8), str('big'),
      tensorInfo('a', 4, 0), tensorInfo('b', 3, far),
    ]);
    const dataOffset = Math.ceil(header.length / 32) * 32;
    const path = join(dir, 'big.gguf');
    const fd = openSync(path, 'w');
    writeSync(fd, header, 0, header.length, 0);
    const a = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const b = Buffer.from(new Float32Array([-1.5, 7, 1e-3]).buffer);
    writeSync(fd, a, 0, a.length, dataOffset);
    writeSync(fd, b, 0, b.length, dataOffset + far);
    closeSync(fd);
    const g = readGguf(path);
    assert.equal(g.metadata['general.name'], 'big');
    const read = (n: string) => {
      const v = g.tensors.get(n)!;
      return [...new Float32Array(v.storage.buffer, v.storage.byteOffset, v.shape[0])];
    };
    assert.deepEqual(read('a'), [1, 2, 3, 4]);
    assert.deepEqual(read('b'), [-1.5, 7, Math.fround(1e-3)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
