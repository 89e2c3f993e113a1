/**
 * Checkpoints past one buffer (4 GiB on Node 20) and bounded reading: a sparse 4.6 GiB PyTorch zip
 * (ZIP64 offsets; holes cost no disk) and a sparse 4.6 GiB safetensors file read back exact values
 * from tensors past 4 GiB through mapped windows; a deflated data.pkl declared at 1.5 GB is refused
 * before anything is inflated; a deflated storage that inflates past its declared size is refused.
 * The writer's output (ZIP64 forced) is what torch.load reads (checked once by hand with torch 1.13;
 * dev/io/ has the script) — here we check it against our reader and Python-free invariants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { mmapAvailable, readSafetensors } from '../../src/io/index.js';
import { parseTorch, readTorch } from '../../src/io/torch.js';
import { stateDictPickle, writeTorch } from '../../src/io/torch-write.js';
import { values } from './helpers.js';
import { openZip } from '../../src/io/zip.js';

const GiB = 2 ** 30;
const noMap = !mmapAvailable() && 'native addon (mmap) not built';

test('a PyTorch zip over 4 GiB (ZIP64) maps each storage and reads exact values', { skip: noMap }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-torch-big-'));
  try {
    const p = join(dir, 'pytorch_model.bin');
    const last = new Float32Array([1.5, -2, 3e-3, 7]);
    writeTorch(p, [
      { name: 'transformer.wte.weight', dtype: 'f16', shape: [1280, 1024 * 1024], data: () => null }, // 2.5 GiB hole
      { name: 'transformer.h.0.mlp.fc_in.weight', dtype: 'f32', shape: [512, 1024 * 1024], data: () => null }, // 2 GiB hole
      { name: 'lm_head.bias', dtype: 'f32', shape: [4], data: new Uint8Array(last.buffer) },
    ], { chunk: GiB });
    const t = readTorch(p);
    assert.deepEqual(t.tensors.get('transformer.wte.weight')!.shape, [1280, 1024 * 1024]);
    assert.equal(t.tensors.get('transformer.wte.weight')!.dtype, 'f16');
    assert.deepEqual(values(t.tensors.get('lm_head.bias')!), [...last]);
    // the storage past 4 GiB is its own small window, not a view into one huge buffer
    assert.ok(t.tensors.get('lm_head.bias')!.storage.buffer.byteLength < 1 << 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a safetensors file over 4 GiB maps each tensor and reads exact values', { skip: noMap }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-st-big-'));
  try {
    const far = 4.5 * GiB;
    const header = JSON.stringify({
      hole: { dtype: 'F16', shape: [far / 4], data_offsets: [0, far / 2] },
      hole2: { dtype: 'F16', shape: [far / 4], data_offsets: [far / 2, far] },
      b: { dtype: 'F32', shape: [3], data_offsets: [far, far + 12] },
    });
    const hb = Buffer.from(header + ' '.repeat((8 - (header.length % 8)) % 8));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hb.length));
    const p = join(dir, 'model.safetensors');
    const fd = openSync(p, 'w');
    writeSync(fd, Buffer.concat([len, hb]), 0, 8 + hb.length, 0);
    const b = Buffer.from(new Float32Array([-1.5, 7, 0.25]).buffer);
    writeSync(fd, b, 0, 12, 8 + hb.length + far);
    closeSync(fd);
    const f = readSafetensors(p);
    assert.deepEqual(values(f.tensors.get('b')!), [-1.5, 7, 0.25]);
    assert.deepEqual(f.tensors.get('hole2')!.shape, [far / 4]);
    // a file truncated in the middle of a tensor names that tensor
    const t = join(dir, 'cut.safetensors');
    const fd2 = openSync(t, 'w');
    writeSync(fd2, Buffer.concat([len, hb]), 0, 8 + hb.length, 0);
    closeSync(fd2);
    assert.throws(() => readSafetensors(t), /cut\.safetensors: tensor 'hole' data_offsets: \[0, 2415919104\] is not inside the data section \(0 bytes\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A one-entry-per-item zip with the given methods (0 stored, 8 deflate) and declared sizes. */
function zipOf(items: { name: string; data: Uint8Array; size?: number; deflate?: boolean }[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let pos = 0;
  for (const it of items) {
    const body = it.deflate ? deflateRawSync(it.data) : Buffer.from(it.data);
    const size = it.size ?? it.data.length;
    const nb = Buffer.from(it.name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(it.deflate ? 8 : 0, 8);
    h.writeUInt32LE(body.length, 18); h.writeUInt32LE(size, 22); h.writeUInt16LE(nb.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(it.deflate ? 8 : 0, 10);
    c.writeUInt32LE(body.length, 20); c.writeUInt32LE(size, 24); c.writeUInt16LE(nb.length, 28); c.writeUInt32LE(pos, 42);
    central.push(c, nb);
    parts.push(h, nb, body);
    pos += 30 + nb.length + body.length;
  }
  const cd = Buffer.concat(central);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(items.length, 8); e.writeUInt16LE(items.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(pos, 16);
  return new Uint8Array(Buffer.concat([...parts, cd, e]));
}

test('deflated entries are inflated only up to what is needed, never past a fixed cap', () => {
  // an honestly declared 1.5 GB data.pkl of zeros: refused from its declared size, nothing inflated
  const zeros = new Uint8Array(1 << 20);
  const before = process.memoryUsage().rss;
  const huge = zipOf([{ name: 'a/data.pkl', data: zeros, size: 1_500_000_000, deflate: true }]);
  assert.throws(() => parseTorch(huge, 'zeros.pt'), /zeros\.pt: zip entry 'a\/data\.pkl': 1500000000 bytes is more than the 268435456-byte limit/);
  assert.ok(process.memoryUsage().rss - before < 200 * 2 ** 20);
  // a data.pkl that inflates past its declared size stops at the declared size
  const liar = zipOf([{ name: 'a/data.pkl', data: zeros, size: 1000, deflate: true }]);
  assert.throws(() => parseTorch(liar, 'liar.pt'), /liar\.pt: zip entry 'a\/data\.pkl': cannot inflate \(Cannot create a Buffer larger than 1000 bytes\)/);
});

test('the writer round-trips through the reader, ZIP64 forced or not, deflated storages included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-torch-w-'));
  try {
    const w = new Float32Array([1, -2, 3.5, 4, 5, 6]);
    for (const zip64 of [false, true]) {
      const p = join(dir, `w${zip64}.bin`);
      writeTorch(p, [
        { name: 'a.weight', dtype: 'f32', shape: [2, 3], data: new Uint8Array(w.buffer) },
        { name: 'n', dtype: 'i64', shape: [1], data: new Uint8Array(new BigInt64Array([3_000_000_000n]).buffer) },
      ], { zip64, chunk: 8 });
      const t = readTorch(p);
      assert.deepEqual(values(t.tensors.get('a.weight')!), [...w]);
      assert.deepEqual(t.tensors.get('a.weight')!.shape, [2, 3]);
      assert.deepEqual(values(t.tensors.get('n')!), [3_000_000_000]);
      // cut in the middle of the first tensor's data: the error names the tensor
      const bytes = readFileSync(p);
      const cut = join(dir, 'cut.bin');
      writeFileSync(cut, bytes.subarray(0, openZip(new Uint8Array(bytes), p).entries.get('archive/data/0')!.dataOffset + 8));
      assert.throws(() => readTorch(cut), /cut\.bin: tensor 'a\.weight': truncated: the file ends at byte \d+, inside archive\/data\/0 \[\d+, \d+\)$/);
    }
    // the same pickle with a deflated storage that is exactly its size, and one that lies
    const storage = new Uint8Array(w.buffer);
    const pk = stateDictPickle([{ name: 'a.weight', dtype: 'f32', shape: [2, 3] }]);
    const deflated = zipOf([{ name: 'archive/data.pkl', data: pk }, { name: 'archive/data/0', data: storage, deflate: true }]);
    assert.deepEqual(values(parseTorch(deflated, 'd.pt').tensors.get('a.weight')!), [...w]);
    const bomb = zipOf([{ name: 'archive/data.pkl', data: pk }, { name: 'archive/data/0', data: new Uint8Array(1 << 20), size: 24, deflate: true }]);
    assert.throws(() => parseTorch(bomb, 'b.pt'), /b\.pt: zip entry 'archive\/data\/0': cannot inflate \(Cannot create a Buffer larger than 24 bytes\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
