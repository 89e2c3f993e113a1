/**
 * GGML k-quants and iq4_nl (Q2_K..Q6_K, IQ4_NL):
 *  - dequantized blocks equal gguf-py's dequantizers bit for bit (goldens made by
 *    dev/kquant_reference.py, committed in test/fixtures/kquant/blocks.json), on the ref backend and
 *    on the native one (every ISA level: dequantization is one scalar path, the check is cheap);
 *  - the native fused dot (q8_K activations, integer block dots) against ref's dequantize-then-matmul
 *    at every ISA level, decode and prefill shapes, a row-strided weight sub-view;
 *  - the mat-mat tiles (q4_k / q5_k / q6_k at avx2 and avx512, native/src/kquant/tile.inc) equal the
 *    scalar level's row dots bit for bit, and the SIMD row dots within 1e-6;
 *  - GGUF: k-quant tensors load as stored (q4_k view over the file bytes); an unknown tensor type
 *    and an unsupported one are refused naming the type and the supported list; a k-quant row
 *    length that is not a multiple of 256 is refused naming the tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, View } from '../../src/backends/backend.js';
import { KQUANT_DTYPES, type KQuantDType } from '../../src/backends/dtype.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { dequantizeK } from '../../src/backends/ref/kquant.js';
import { loadNativeBackend, nativeIsa, setNativeIsa } from '../../src/backends/native/index.js';
import { ggufTensor, readGguf } from '../../src/io/gguf.js';
import { writeGguf } from '../../src/io/gguf-write.js';
import { fixtures, tmp } from '../io/helpers.js';
import { randomKBlocks } from '../backends/kquant-blocks.js';

interface Golden { ggmlType: number; blocks: number; blockBytes: number; blockSize: number; bytes: string; values: string }
const G = JSON.parse(readFileSync(join(fixtures, '..', 'kquant', 'blocks.json'), 'utf8')) as Record<string, Golden | string>;
const nb = loadNativeBackend();

function golden(q: KQuantDType): { bytes: Uint8Array; want: Uint32Array; n: number } {
  const g = G[q] as Golden;
  const bytes = new Uint8Array(Buffer.from(g.bytes, 'base64'));
  const vb = Buffer.from(g.values, 'base64');
  const want = new Uint32Array(vb.buffer.slice(vb.byteOffset, vb.byteOffset + vb.byteLength));
  return { bytes, want, n: g.blocks * g.blockSize };
}

function storageOf(b: Backend, bytes: Uint8Array): View['storage'] {
  const s = b.alloc(bytes.length);
  new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
  return s;
}

function dequantOn(b: Backend, q: KQuantDType, bytes: Uint8Array, n: number): Uint32Array {
  const s = storageOf(b, bytes);
  const o = b.alloc(n * 4);
  b.dequantize({ storage: o, dtype: 'f32', shape: [n], strides: [1], offset: 0 }, { storage: s, dtype: q, shape: [n], strides: [1], offset: 0 });
  const out = new Uint32Array(new Uint32Array(o.buffer, o.byteOffset, n));
  b.free(s);
  b.free(o);
  return out;
}

function firstDiff(a: Uint32Array, b: Uint32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

test('k-quant goldens come from gguf-py and cover every type', () => {
  assert.equal(G.source, 'gguf-py quants.py');
  for (const q of KQUANT_DTYPES) assert.ok(G[q], q);
});

for (const q of KQUANT_DTYPES) {
  test(`${q}: ref dequantization equals gguf-py bit for bit`, () => {
    const { bytes, want, n } = golden(q);
    const got = new Uint32Array(dequantizeK(q, bytes, n).buffer);
    assert.equal(firstDiff(got, want), -1);
    assert.equal(firstDiff(dequantOn(refBackend, q, bytes, n), want), -1);
  });
}

const ISAS = ['scalar', 'avx2', 'avx512'] as const;

test('native dequantization equals gguf-py bit for bit (every ISA level)', { skip: nb ? false : 'native addon not built' }, () => {
  const prev = nativeIsa() as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const isa of ISAS) {
      setNativeIsa(isa);
      for (const q of KQUANT_DTYPES) {
        const { bytes, want, n } = golden(q);
        assert.equal(firstDiff(dequantOn(nb!, q, bytes, n), want), -1, `${q} at ${isa}`);
      }
    }
  } finally {
    setNativeIsa(prev);
  }
});

/** out (M, N) = a (M, K) @ W^T for W stored as N rows of S values (S >= K: a sub-view of wider rows). */
/** A seeded uniform [0, 1) generator (32-bit LCG), so every test draws the same numbers. */
function lcg(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function matmulOn(b: Backend, q: KQuantDType, a: Float32Array, M: number, K: number, w: Uint8Array, N: number, S: number): Float32Array {
  const sa = storageOf(b, new Uint8Array(a.buffer));
  const sw = storageOf(b, w);
  const o = b.alloc(M * N * 4);
  b.matmul({ storage: o, dtype: 'f32', shape: [M, N], strides: [N, 1], offset: 0 },
    { storage: sa, dtype: 'f32', shape: [M, K], strides: [K, 1], offset: 0 },
    { storage: sw, dtype: q, shape: [K, N], strides: [1, S], offset: 0 });
  const out = new Float32Array(new Float32Array(o.buffer, o.byteOffset, M * N));
  for (const s of [sa, sw, o]) b.free(s);
  return out;
}

/** The k-quant types with mat-mat tiles at the avx2 / avx512 levels (used from 4 activation rows). */
const TILED: readonly KQuantDType[] = ['q4_k', 'q5_k', 'q6_k'];

test('native k-quant matmul matches ref (dequantize + f32 matmul) at every ISA level', { skip: nb ? false : 'native addon not built' }, () => {
  const uniform = lcg(12345);
  const prev = nativeIsa() as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const q of KQUANT_DTYPES) {
      const bs = q === 'iq4_nl' ? 32 : 256;
      // M >= 16 (prefill) without mat-mat tiles dequantizes into the f32 GEMM: exact products, so
      // ref's error bound is f32 sums; the tiles (M >= 4) round activations to q8_K like the row dots
      for (const [M, K, N, S] of [[1, 2 * bs, 37, 2 * bs], [11, bs, 19, 3 * bs], [2, 3 * bs, 16, 3 * bs], [17, 2 * bs, 300, 3 * bs]]) {
        const a = Float32Array.from({ length: M * K }, () => (uniform() - 0.5) * 4);
        const w = randomKBlocks(q, (N * S) / bs, uniform);
        const want = matmulOn(refBackend, q, a, M, K, w, N, S);
        let max = 0;
        for (const v of want) max = Math.max(max, Math.abs(v));
        for (const isa of ISAS) {
          setNativeIsa(isa);
          const got = matmulOn(nb!, q, a, M, K, w, N, S);
          let err = 0;
          for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
          const exact = M >= 16 && (isa === 'scalar' || !TILED.includes(q));
          assert.ok(err / max <= (exact ? 1e-5 : 1.5e-2), `${q} M${M} K${K} N${N} S${S} at ${isa}: normalised error ${(err / max).toExponential(2)}`);
        }
      }
    }
  } finally {
    setNativeIsa(prev);
  }
});

test('k-quant mat-mat tiles equal the scalar row dots bit for bit (and the SIMD row dots within 1e-6)', { skip: nb ? false : 'native addon not built' }, () => {
  const uniform = lcg(4242);
  const prev = nativeIsa() as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const q of TILED) {
      // partial tiles (N % 16, N % 8), one and several blocks, a strided sub-view, M % 4 and M % 2 tails
      for (const [M, K, N, S] of [[4, 256, 16, 256], [5, 768, 37, 1024], [17, 512, 48, 512], [40, 256, 9, 512], [7, 1280, 100, 1280]]) {
        const a = Float32Array.from({ length: M * K }, () => (uniform() - 0.5) * 4);
        for (let i = 0; i < K; i += 97) a[i] = 0; // some exact zeros
        if (M > 4) a.fill(0, 4 * K, 4 * K + 256); // an all-zero activation block (d = 0)
        const w = randomKBlocks(q, (N * S) / 256, uniform);
        const rowByRow = (): Float32Array => {
          const out = new Float32Array(M * N);
          for (let m = 0; m < M; m++) out.set(matmulOn(nb!, q, a.slice(m * K, (m + 1) * K), 1, K, w, N, S), m * N);
          return out;
        };
        setNativeIsa('scalar');
        const scalar = rowByRow();
        const scale = Math.max(...scalar.map(Math.abs));
        for (const isa of ['avx2', 'avx512'] as const) {
          setNativeIsa(isa);
          if (nativeIsa() !== isa) continue; // this CPU lacks the level
          const got = matmulOn(nb!, q, a, M, K, w, N, S);
          const bits = new Uint32Array(got.buffer), want = new Uint32Array(scalar.buffer);
          const d = firstDiff(bits, want);
          assert.equal(d, -1, `${q} M${M} K${K} N${N} S${S} at ${isa}: element ${d} is ${got[d]}, the scalar row dot ${scalar[d]}`);
          const rows = rowByRow();
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - rows[i]) <= 1e-6 * scale, `${q} M${M} at ${isa} vs its row dot, element ${i}: ${got[i]} vs ${rows[i]}`);
        }
      }
    }
  } finally {
    setNativeIsa(prev);
  }
});

/** ggml's quantize_row_q8_K (d = max / -127 of the signed largest |x|, nearest-even ints) then the
 *  exact dot with the dequantized weight row, in float64: what the fused kernel computes up to f32
 *  summation order. */
function q8kModel(a: Float32Array, K: number, w: Float32Array): number {
  let s = 0;
  for (let b = 0; b < K / 256; b++) {
    let amax = 0, max = 0;
    for (let j = 0; j < 256; j++) {
      const x = a[b * 256 + j];
      if (Math.abs(x) > amax) { amax = Math.abs(x); max = x; }
    }
    if (amax === 0) continue;
    const iscale = Math.fround(-127 / max);
    for (let j = 0; j < 256; j++) {
      const t = Math.fround(iscale * a[b * 256 + j]);
      const r = Math.round(t), q = Math.min(127, Math.abs(t % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r);
      s += q * w[b * 256 + j] / iscale;
    }
  }
  return s;
}

test('native k-quant dot is ggml\'s q8_K math (not only close to ref)', { skip: nb ? false : 'native addon not built' }, () => {
  const uniform = lcg(99);
  const prev = nativeIsa() as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const q of KQUANT_DTYPES.filter((d) => d !== 'iq4_nl')) {
      const K = 512, N = 7;
      const a = Float32Array.from({ length: K }, () => (uniform() - 0.5) * 4);
      const w = randomKBlocks(q, (N * K) / 256, uniform);
      const wf = dequantizeK(q, w, N * K);
      const want = Array.from({ length: N }, (_, n) => q8kModel(a, K, wf.subarray(n * K, (n + 1) * K)));
      const scale = Math.max(...want.map(Math.abs));
      let scalar: Float32Array | null = null;
      for (const isa of ISAS) {
        setNativeIsa(isa);
        const got = matmulOn(nb!, q, a, 1, K, w, N, K);
        for (let n = 0; n < N; n++) assert.ok(Math.abs(got[n] - want[n]) <= 2e-5 * scale, `${q} at ${isa}, row ${n}: ${got[n]} vs ${want[n]}`);
        // the SIMD dots (hand-written for q2_k..q6_k) sum the same integers as the scalar level:
        // only the f32 order of the per-block terms differs
        scalar ??= got;
        for (let n = 0; n < N; n++) assert.ok(Math.abs(got[n] - scalar[n]) <= 1e-6 * scale, `${q} at ${isa} vs scalar, row ${n}: ${got[n]} vs ${scalar[n]}`);
      }
    }
  } finally {
    setNativeIsa(prev);
  }
});

test('GGUF: k-quant tensors load as stored; bad types and row lengths are refused by name', () => {
  const dir = tmp();
  const { bytes } = golden('q4_k');
  const q6 = golden('q6_k');
  const p = join(dir, 'k.gguf');
  writeGguf(p, {
    metadata: { 'general.architecture': 'llama' },
    tensors: [
      { name: 'blk.0.ffn_up.weight', dtype: 'q4_k', shape: [3, 512], data: bytes.subarray(0, 6 * 144) },
      { name: 'output.weight', dtype: 'Q6_K', shape: [2, 256], data: q6.bytes.subarray(0, 2 * 210) },
      { name: 'odd', dtype: 'IQ2_XXS', shape: [1, 256], data: new Uint8Array(66) },
    ],
  });
  const g = readGguf(p);
  const v = ggufTensor(g, 'blk.0.ffn_up.weight');
  assert.equal(v.dtype, 'q4_k');
  assert.deepEqual(v.shape, [3, 512]);
  assert.equal(ggufTensor(g, 'output.weight').dtype, 'q6_k');
  const deq = new Uint32Array(dequantizeK('q4_k', new Uint8Array(v.storage.buffer, v.storage.byteOffset, 6 * 144), 3 * 512).buffer);
  assert.equal(firstDiff(deq, golden('q4_k').want.subarray(0, 3 * 512)), -1);
  assert.throws(() => ggufTensor(g, 'odd'), /tensor 'odd' has type IQ2_XXS, which is not supported \(supported: F32, F16, Q4_0, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, I32, I64, BF16\)/);

  // an unknown type id and a Q4_K row of 300 values, patched into the file's tensor infos
  const raw = new Uint8Array(readFileSync(p));
  const dv = new DataView(raw.buffer);
  const at = (name: string): number => Buffer.from(raw).indexOf(Buffer.from(name)) + name.length; // -> n_dimensions
  const typeOff = (name: string, nd: number): number => at(name) + 4 + 8 * nd;
  const unknown = new Uint8Array(raw);
  new DataView(unknown.buffer).setUint32(typeOff('odd', 2), 77, true);
  writeFileSync(join(dir, 'u.gguf'), unknown);
  assert.throws(() => readGguf(join(dir, 'u.gguf')), /tensor 'odd' type: unknown ggml type 77 \(supported: F32, F16, Q4_0, Q8_0, Q2_K, .*IQ4_NL/);
  dv.setBigUint64(at('blk.0.ffn_up.weight') + 4, 300n, true);
  writeFileSync(join(dir, 'r.gguf'), raw);
  assert.throws(() => readGguf(join(dir, 'r.gguf')), /tensor 'blk\.0\.ffn_up\.weight' dimensions: row length 300 is not a multiple of the Q4_K block size 256/);
});
