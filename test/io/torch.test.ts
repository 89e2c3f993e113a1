/**
 * PyTorch zip checkpoints: candle's fixtures (known contents in ../shared/formats/SOURCE.md),
 * torch-made fixtures (dev/io/make_torch_fixtures.py: every dtype, shared storages, Parameter,
 * deflate, ZIP64, legacy), malicious pickles that must never run, and truncation fuzzing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTorch, readTorch } from '../../src/io/torch.js';
import { fixtures, fuzz, sharedFile, tmp, values } from './helpers.js';
import { storedZip } from './zip-writer.js';

test("candle's test.pt: {'test': int64 [[1,2,3,4],[5,6,7,8]]}", (t) => {
  const p = sharedFile('formats/test.pt');
  if (!p) return t.skip('shared data absent');
  const f = readTorch(p);
  assert.deepEqual([...f.tensors.keys()], ['test']);
  const v = f.tensors.get('test')!;
  assert.equal(v.dtype, 'i64');
  assert.deepEqual(v.shape, [2, 4]);
  assert.deepEqual(values(v), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test("candle's test_with_key.pt: the state dict under 'model_state_dict'", (t) => {
  const p = sharedFile('formats/test_with_key.pt');
  if (!p) return t.skip('shared data absent');
  const f = readTorch(p);
  assert.deepEqual([...f.tensors.keys()], ['model_state_dict.test']);
  const g = readTorch(p, { key: 'model_state_dict' });
  assert.deepEqual(values(g.tensors.get('test')!), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => readTorch(p, { key: 'nope' }), /test_with_key\.pt: key 'nope': not found/);
});

test("candle's fortran_tensor_3d.pth keeps Fortran strides as a strided view", (t) => {
  const p = sharedFile('formats/fortran_tensor_3d.pth');
  if (!p) return t.skip('shared data absent');
  const v = readTorch(p).tensors.get('tensor_fortran')!;
  assert.deepEqual(v.shape, [2, 3, 4]);
  assert.deepEqual(v.strides, [1, 2, 6]);
  assert.deepEqual(values(v), Array.from({ length: 24 }, (_, i) => i + 1));
});

type Expect = Record<string, { dtype: string; shape: number[]; stride: number[]; offset: number; values: number[] }>;
const DT: Record<string, string> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16', float64: 'f32', int64: 'i64', int32: 'i32', uint8: 'i32', int8: 'i32', bool: 'bool' };

for (const name of ['mixed.pt', 'deflated.pt', 'zip64.pt']) {
  test(`${name}: every dtype, strides, offsets and values match torch`, () => {
    const f = readTorch(join(fixtures, name));
    const e = JSON.parse(readFileSync(join(fixtures, 'mixed.pt.json'), 'utf8')) as Expect;
    assert.deepEqual([...f.tensors.keys()].sort(), Object.keys(e).sort());
    for (const [k, x] of Object.entries(e)) {
      const v = f.tensors.get(k)!;
      assert.equal(v.dtype, DT[x.dtype], k);
      assert.deepEqual(v.shape, x.shape, k);
      assert.deepEqual(v.strides, x.stride, k);
      assert.equal(v.offset, x.offset, k);
      assert.deepEqual(values(v), x.values, k);
    }
    assert.equal(f.sourceDtypes.get('u8'), 'u8');
    assert.equal(f.sourceDtypes.get('f64'), 'f64');
    // base, its transpose and a row share one storage object: memory is shared, not copied.
    const s = f.tensors.get('shared.base')!.storage;
    assert.equal(f.tensors.get('shared.t')!.storage, s);
    assert.equal(f.tensors.get('shared.row')!.storage, s);
    if (name !== 'deflated.pt') assert.equal(s.byteOffset % 64, 0); // torch aligns stored entries: zero-copy
  });
}

test('the legacy (non-zip) torch format is refused with a hint', () => {
  assert.throws(() => readTorch(join(fixtures, 'legacy.pt')), /legacy\.pt: format: legacy \(pre-1\.6, non-zip\) PyTorch checkpoints are not supported/);
});

/** A protocol-2 pickle calling module.name('touch <path>') via GLOBAL + REDUCE (never loaded by us). */
function evilPickle(module: string, name: string, cmd: string, stackGlobal = false): Uint8Array {
  const enc = new TextEncoder();
  const str = (s: string) => { const b = enc.encode(s); return [0x58, b.length & 255, (b.length >> 8) & 255, 0, 0, ...b]; };
  const head = stackGlobal ? [0x80, 4, ...str(module), ...str(name), 0x93] : [0x80, 2, 0x63, ...enc.encode(`${module}\n${name}\n`)];
  return new Uint8Array([...head, ...str(cmd), 0x85, 0x52, 0x2e]); // (cmd,) REDUCE STOP
}

test('a pickle that would run a command is refused and nothing runs', () => {
  const dir = tmp();
  const target = join(dir, 'pwned');
  const cmd = `touch ${target}`;
  const cases: [Uint8Array, RegExp][] = [
    [evilPickle('posix', 'system', cmd), /evil\.pt \(archive\/data\.pkl\): pickle global: refusing 'posix\.system'/],
    [evilPickle('os', 'system', cmd), /refusing 'os\.system'/],
    [evilPickle('nt', 'system', cmd), /refusing 'nt\.system'/],
    [evilPickle('builtins', 'eval', `__import__('os').system('${cmd}')`), /refusing 'builtins\.eval'/],
    [evilPickle('subprocess', 'call', cmd), /refusing 'subprocess\.call'/],
    [evilPickle('posix', 'system', cmd, true), /refusing 'posix\.system'/],
    // INST ('i' module\nname\n) and OBJ calls are not even opcodes we accept.
    [new Uint8Array([0x80, 2, 0x28, ...new TextEncoder().encode(`S'${cmd}'\nios\nsystem\n.`)]), /opcode 0x53/],
    [new Uint8Array([0x80, 2, 0x28, 0x69, ...new TextEncoder().encode('os\nsystem\n.')]), /opcode 0x69 \("i"\)/],
    // REDUCE on something that is not an allow-listed callable.
    [new Uint8Array([0x80, 2, 0x7d, 0x29, 0x52, 0x2e]), /REDUCE on a value that is not an allow-listed callable/],
    // An allow-listed name called with a forbidden shape: OrderedDict(iterable) is refused.
    [new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode('collections\nOrderedDict\n'), 0x5d, 0x85, 0x52, 0x2e]), /only OrderedDict\(\) with no arguments/],
  ];
  for (const [pkl, re] of cases) {
    const p = join(dir, 'evil.pt');
    writeFileSync(p, storedZip([['archive/data.pkl', pkl], ['archive/version', new TextEncoder().encode('3\n')]]));
    assert.throws(() => readTorch(p), re);
  }
  assert.equal(existsSync(target), false);
});

test('hostile tensor records are refused', () => {
  const enc = new TextEncoder();
  const s = (x: string) => { const b = enc.encode(x); return [0x8c, b.length, ...b]; };
  // {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), offset, size, stride, False, OrderedDict())}
  const pkl = (numel: number, size: number[], stride: number[], offset = 0) => new Uint8Array([
    0x80, 2, 0x7d, ...s('w'), 0x63, ...enc.encode('torch._utils\n_rebuild_tensor_v2\n'), 0x28,
    0x28, ...s('storage'), 0x63, ...enc.encode('torch\nFloatStorage\n'), ...s('0'), ...s('cpu'), 0x4a, numel & 255, (numel >> 8) & 255, (numel >> 16) & 255, numel >>> 24, 0x74, 0x51,
    0x4b, offset, 0x28, ...size.flatMap((d) => [0x4a, d & 255, (d >> 8) & 255, (d >> 16) & 255, d >>> 24]), 0x74,
    0x28, ...stride.flatMap((d) => [0x4b, d]), 0x74, 0x89, 0x63, ...enc.encode('collections\nOrderedDict\n'), 0x29, 0x52, 0x74, 0x52, 0x73, 0x2e,
  ]);
  const zip = (p: Uint8Array, data: Uint8Array) => storedZip([['a/data.pkl', p], ['a/data/0', data]]);
  assert.deepEqual(values(parseTorch(zip(pkl(4, [2, 2], [2, 1]), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)), 'ok.pt').tensors.get('w')!), [1, 2, 3, 4]);
  assert.throws(() => parseTorch(zip(pkl(1 << 30, [2, 2], [2, 1]), new Uint8Array(16)), 'h.pt'), /h\.pt: storage '0': entry a\/data\/0 has 16 bytes, FloatStorage of 1073741824 needs/);
  assert.throws(() => parseTorch(zip(pkl(4, [3, 2], [2, 1]), new Uint8Array(16)), 'h.pt'), /_rebuild_tensor_v2 size: \[3, 2\] with strides \[2, 1\] at offset 0 reaches past the storage of 4/);
  assert.throws(() => parseTorch(zip(pkl(4, [2, 2], [2, 1], 1), new Uint8Array(16)), 'h.pt'), /reaches past the storage/);
  assert.throws(() => parseTorch(zip(pkl(4, [2, 2], [2, 1]), new Uint8Array(16)).slice(0, 100), 'h.pt'), /h\.pt: zip entry 'a\/data\.pkl': truncated: the file ends at byte 100, inside a\/data\.pkl/);
});

test('truncated and corrupted torch checkpoints throw clean errors', () => {
  for (const name of ['mixed.pt', 'zip64.pt', 'deflated.pt']) {
    const bytes = new Uint8Array(readFileSync(join(fixtures, name)));
    const rejected = fuzz(bytes, 'fz.pt', (b) => parseTorch(b, 'fz.pt'), 64);
    assert.ok(rejected > 200, `${name}: only ${rejected} rejected`);
  }
  // Corrupt the pickle itself (inside the stored entry) byte by byte.
  const bytes = new Uint8Array(readFileSync(join(fixtures, 'mixed.pt')));
  const start = 4 + 26 + 4 + 'mixed/data.pkl'.length; // local header + name; torch adds an extra field
  for (let i = start; i < start + 1400; i += 3) {
    const b = bytes.slice();
    b[i] ^= 0x5a;
    try {
      parseTorch(b, 'fz.pt');
    } catch (e) {
      assert.ok((e as Error).message.includes('fz.pt'), (e as Error).message);
      assert.ok(!(e instanceof TypeError) && !(e instanceof RangeError), `${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});
