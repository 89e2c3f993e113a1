/**
 * Native quantized matmul (native/src/quant, reached through the native backend's matmul when b is
 * q8_0/q4_0) against two independent TS oracles:
 *  1. the ref backend (dequantized weights, f32 activations): normalised error <= 1.5e-2, the
 *     conformance tolerance for quantized matmul (activations are rounded to q8 like ggml);
 *  2. a float64 model of exactly what the kernel is meant to compute (activation rows quantized to
 *     32-value int8 blocks with an f32 scale, integer block dots): normalised error <= 2e-5, which
 *     catches wrong nibble order, scales or block offsets that (1) alone might let through.
 * Odd sizes (K a multiple of 32, N and M odd, M crossing the 4-row tiles and 64-row chunks), batch
 * broadcast, row-strided activations, weight sub-views (row stride > K), a layout the kernel refuses
 * (falls back), and every ISA level (this file re-runs itself with MOSS_NATIVE_ISA=scalar|avx2|avx512).
 * Skips when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Backend, View } from '../../src/backends/backend.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/backends/dtype.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { loadNativeBackend } from '../../src/backends/native/index.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { setView } from '../../src/backends/native/marshal.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/backends/ref/quant.js';

const nb = loadNativeBackend();
const addon = loadAddon();
const skip = nb && addon && typeof addon.qmatmulIsa === 'function' ? false : 'native addon (with quant kernels) not built';
const child = process.env.MOSS_QUANT_TEST_CHILD ? process.env.MOSS_NATIVE_ISA : undefined;

let seed = 987654321;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}

type Q = 'q8_0' | 'q4_0';
const BB: Record<Q, number> = { q8_0: 34, q4_0: 18 };

function f32View(data: Float32Array, shape: number[], strides: number[], offset = 0): View {
  return { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: 0, byteLength: data.byteLength }, dtype: 'f32', shape, strides, offset };
}

/** Weight value (n, k) of the ggml (rows, S) storage, by the block format (independent of ref). */
function wAt(q: Q, bytes: Uint8Array, S: number, n: number, k: number): { d: number; v: number } {
  const e = n * S + k, base = (e >> 5) * BB[q], j = e & 31;
  const d = f16ToF32(bytes[base] | (bytes[base + 1] << 8));
  if (q === 'q8_0') return { d, v: (bytes[base + 2 + j] << 24) >> 24 };
  const byte = bytes[base + 2 + (j & 15)];
  return { d, v: (j < 16 ? byte & 15 : byte >> 4) - 8 };
}

/** What the kernel computes: q8 activation blocks (f32 scale, round half away) x weight blocks. */
function model(q: Q, a: Float32Array, lda: number, M: number, K: number, bytes: Uint8Array, S: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < K / 32; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(a[m * lda + b * 32 + j]));
      const d = Math.fround(amax / 127), id = d ? Math.fround(1 / d) : 0;
      const qa = new Int32Array(32);
      for (let j = 0; j < 32; j++) {
        const x = Math.fround(a[m * lda + b * 32 + j] * id);
        qa[j] = x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
      }
      for (let n = 0; n < N; n++) {
        let s = 0, dw = 0;
        for (let j = 0; j < 32; j++) {
          const w = wAt(q, bytes, S, n, b * 32 + j);
          s += qa[j] * w.v;
          dw = w.d;
        }
        out[m * N + n] += s * dw * d;
      }
    }
  }
  return out;
}

function normErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let md = 0, mr = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    md = Math.max(md, Math.abs(got[i] - ref[i]));
    mr = Math.max(mr, Math.abs(ref[i]));
  }
  return md / (mr + 1e-6);
}

/** Quantized weight (rows N, row stride S >= K elements) + f32 activations (M, K) with row stride lda. */
function operands(q: Q, M: number, N: number, K: number, S = K, lda = K) {
  const w = new Float32Array(N * S).map(() => rnd());
  for (let i = 0; i < 32 && i < w.length; i++) w[i] = 0; // one all-zero block (d = 0)
  const bytes = (q === 'q8_0' ? quantizeQ8_0 : quantizeQ4_0)(w);
  const a = new Float32Array(M * lda).map(() => rnd() * 3);
  return { bytes, a };
}

function run(be: Backend, q: Q, bytes: Uint8Array, a: Float32Array, M: number, N: number, K: number, S: number, lda: number): Float32Array {
  const out = new Float32Array(M * N);
  const bv: View = { storage: { buffer: bytes.buffer as ArrayBuffer, byteOffset: 0, byteLength: bytes.byteLength }, dtype: q, shape: [K, N], strides: [1, S], offset: 0 };
  be.matmul(f32View(out, [M, N], [N, 1]), f32View(a, [M, K], [lda, 1]), bv);
  return out;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 32], [1, 7, 64], [3, 5, 96], [1, 33, 320], [5, 17, 160], [7, 67, 256], [1, 1001, 512], [67, 37, 128], [9, 129, 1024],
  [1, 13, 4192], [2, 6, 4128], [1, 7, 8224], // avx512, M = 1: K <= 8192 one row at a time, longer rows in 4-row strips
];

test('quant: the kernel level follows MOSS_NATIVE_ISA', { skip }, () => {
  const isa = addon!.qmatmulIsa as () => string;
  assert.match(isa(), /^(scalar|avx2|avx512vnni)$/);
  if (child) assert.equal(isa(), child === 'avx512' ? 'avx512vnni' : child, 'child ran at the requested level (CPU new enough?)');
});

for (const q of ['q8_0', 'q4_0'] as Q[]) {
  test(`quant ${q}: native matmul vs ref and vs the q8-activation model, odd shapes`, { skip }, () => {
    for (const [M, N, K] of SHAPES) {
      for (const [S, lda] of [[K, K], [K + 64, K + 5]]) {
        const { bytes, a } = operands(q, M, N, K, S, lda);
        const got = run(nb!, q, bytes, a, M, N, K, S, lda);
        const ref = run(refBackend, q, bytes, a, M, N, K, S, lda);
        const e1 = normErr(got, ref);
        assert.ok(e1 <= 1.5e-2, `${q} M=${M} N=${N} K=${K} S=${S}: vs ref ${e1}`);
        const e2 = normErr(got, model(q, a, lda, M, K, bytes, S, N));
        assert.ok(e2 <= 2e-5, `${q} M=${M} N=${N} K=${K} S=${S}: vs model ${e2}`);
      }
    }
  });

  test(`quant ${q}: batched (B, T, K) @ (B, K, N) weights, and a refused layout falls back`, { skip }, () => {
    const B = 3, T = 5, K = 96, N = 11;
    const { bytes, a } = operands(q, B * T, B * N, K);
    const wv: View = { storage: { buffer: bytes.buffer as ArrayBuffer, byteOffset: 0, byteLength: bytes.byteLength }, dtype: q, shape: [B, K, N], strides: [N * K, 1, K], offset: 0 };
    const outs = [nb!, refBackend].map((be) => {
      const out = new Float32Array(B * T * N);
      be.matmul(f32View(out, [B, T, N], [T * N, N, 1]), f32View(a, [B, T, K], [T * K, K, 1]), wv);
      return out;
    });
    assert.ok(normErr(outs[0], outs[1]) <= 1.5e-2);
    for (let b = 0; b < B; b++) {
      const want = model(q, a.subarray(b * T * K), K, T, K, bytes.subarray(b * N * K / 32 * BB[q]), K, N);
      assert.ok(normErr(outs[0].subarray(b * T * N, (b + 1) * T * N), want) <= 2e-5, `batch ${b}`);
    }
    // (K, N) row-major quantized storage is not a ggml weight: qmatmul refuses, the generic path runs
    const Kr = 32, Nr = 64;
    const { bytes: b2, a: a2 } = operands(q, 3, Nr, Kr);
    const v2: View = { storage: { buffer: b2.buffer as ArrayBuffer, byteOffset: 0, byteLength: b2.byteLength }, dtype: q, shape: [Kr, Nr], strides: [Nr, 1], offset: 0 };
    const r = [nb!, refBackend].map((be) => {
      const out = new Float32Array(3 * Nr);
      be.matmul(f32View(out, [3, Nr], [Nr, 1]), f32View(a2, [3, Kr], [Kr, 1]), v2);
      return out;
    });
    assert.ok(normErr(r[0], r[1]) <= 1e-5, 'fallback path is exact dequantize-then-matmul');
  });
}

test('quant: a weight view past the end of its buffer is refused, not read', { skip }, () => {
  const { bytes, a } = operands('q8_0', 1, 4, 64);
  assert.throws(() => run(nb!, 'q8_0', bytes.subarray(0, bytes.length - 34).slice(), a, 1, 4, 64, 64, 64), /past its ArrayBuffer/);
});

if (!process.env.MOSS_QUANT_TEST_CHILD && !skip) {
  for (const isa of ['scalar', 'avx2', 'avx512']) {
    test(`quant: every case again at MOSS_NATIVE_ISA=${isa} (child process)`, () => {
      const r = spawnSync(process.execPath, ['--test', fileURLToPath(import.meta.url)], {
        // without NODE_TEST_CONTEXT the child is a plain run whose exit status reports failures
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, MOSS_NATIVE_ISA: isa, MOSS_QUANT_TEST_CHILD: '1' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
    });
  }
}

for (const q of ['q4_0', 'q8_0'] as Q[]) test(`quant ${q}: prepared (repacked 16 rows at a time) weights give the same sums; freed memory forgets its copy`, { skip }, () => {
  const prepare = addon!.qprepare as (b: ArrayBuffer) => number;
  const level = (addon!.qmatmulIsa as () => string)();
  const weightView = (buf: ArrayBuffer, N: number, K: number): View => ({ storage: { buffer: buf, byteOffset: 0, byteLength: buf.byteLength }, dtype: q, shape: [N, K], strides: [K, 1], offset: 0 });
  for (const [M, N, K] of [[1, 8, 32], [1, 64, 2048], [3, 16, 96], [4, 40, 256], [5, 48, 4192], [64, 32, 128], [70, 16, 64], [9, 32, 32], [15, 80, 160], [1, 12, 64]] as const) {
    const { bytes, a } = operands(q, M, N, K);
    const plain = run(nb!, q, bytes, a, M, N, K, K, K);
    const first = prepare(setView(0, weightView(bytes.buffer as ArrayBuffer, N, K)));
    assert.equal(first > 0, level === 'avx512vnni' && N % 16 === 0, `repacked at level ${level}, N=${N}`);
    assert.equal(prepare(setView(0, weightView(bytes.buffer as ArrayBuffer, N, K))), 0, 'preparing twice repacks once');
    const got = run(nb!, q, bytes, a, M, N, K, K, K);
    const e = normErr(got, model(q, a, K, M, K, bytes, K, N));
    assert.ok(e <= 2e-5, `${q} prepared M=${M} N=${N} K=${K} (${level}): vs model ${e}`);
    assert.ok(normErr(got, plain) <= 2e-6, `prepared vs plain M=${M} N=${N} K=${K}`);
  }
  // a weight in native memory: repacked, freed, and the same (recycled) memory refilled with other
  // weights must be read as they are now, not through the old copy
  // (over 1 MB: the native allocator hands a freed block of the same size back, at the same address)
  const N = 1024, K = 2048;
  const one = operands(q, 2, N, K), two = operands(q, 2, N, K);
  const s1 = nb!.alloc(one.bytes.length);
  new Uint8Array(s1.buffer, 0, one.bytes.length).set(one.bytes);
  const w1: View = { storage: s1, dtype: q, shape: [K, N], strides: [1, K], offset: 0 };
  nb!.prepareWeight!({ ...w1, shape: [N, K], strides: [K, 1] });
  const mm = (w: View, a: Float32Array): Float32Array => {
    const out = new Float32Array(2 * N);
    nb!.matmul(f32View(out, [2, N], [N, 1]), f32View(a, [2, K], [K, 1]), w);
    return out;
  };
  assert.ok(normErr(mm(w1, one.a), model(q, one.a, K, 2, K, one.bytes, K, N)) <= 2e-5);
  nb!.free(s1);
  const s2 = nb!.alloc(two.bytes.length);
  new Uint8Array(s2.buffer, 0, two.bytes.length).set(two.bytes);
  const w2: View = { storage: s2, dtype: q, shape: [K, N], strides: [1, K], offset: 0 };
  assert.ok(normErr(mm(w2, two.a), model(q, two.a, K, 2, K, two.bytes, K, N)) <= 2e-5, 'stale repacked copy used');
  nb!.free(s2);
});

for (const h of ['f16', 'bf16'] as const) test(`half ${h}: a prepared (huge-page copy) weight gives the widened sums; freed memory forgets its copy`, { skip }, () => {
  // over 1 MiB (smaller weights are not copied), in native memory like a loaded checkpoint
  const N = 640, K = 1024, M = 3;
  const toHalf = h === 'f16' ? f32ToF16 : f32ToBf16, fromHalf = h === 'f16' ? f16ToF32 : bf16ToF32;
  const make = (seed: number): { bits: Uint16Array; w32: Float32Array } => {
    const bits = new Uint16Array(N * K).map((_, i) => toHalf(Math.sin(i * 0.37 + seed) * 0.05));
    return { bits, w32: Float32Array.from(bits, fromHalf) };
  };
  const a = new Float32Array(M * K).map((_, i) => Math.cos(i * 0.11));
  const want = (w32: Float32Array): Float64Array => {
    const c = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) { let s = 0; for (let k = 0; k < K; k++) s += a[m * K + k]! * w32[n * K + k]!; c[m * N + n] = s; }
    return c;
  };
  const mm = (w: View, rows: number): Float32Array => {
    const out = new Float32Array(rows * N);
    nb!.matmul(f32View(out, [rows, N], [N, 1]), f32View(a.subarray(0, rows * K), [rows, K], [K, 1]), w);
    return out;
  };
  const one = make(1), two = make(2);
  const s1 = nb!.alloc(one.bits.byteLength);
  new Uint16Array(s1.buffer, 0, one.bits.length).set(one.bits);
  const w1: View = { storage: s1, dtype: h, shape: [K, N], strides: [1, K], offset: 0 };
  const prepared = (addon!.hprepare as (b: ArrayBuffer) => number)(setView(0, { ...w1, shape: [N, K], strides: [K, 1] }));
  assert.equal(prepared, N * K * 2, 'copied');
  // f32 sums of 1024 terms against a float64 reference (the scalar level sums in one chain): <= 1e-5;
  // reading the other weights instead would be off by O(1)
  for (const rows of [1, M]) assert.ok(normErr(mm(w1, rows), want(one.w32).subarray(0, rows * N)) <= 1e-5, `prepared ${h} M=${rows}`);
  nb!.free(s1);
  const s2 = nb!.alloc(two.bits.byteLength);
  new Uint16Array(s2.buffer, 0, two.bits.length).set(two.bits);
  const w2: View = { storage: s2, dtype: h, shape: [K, N], strides: [1, K], offset: 0 };
  assert.ok(normErr(mm(w2, M), want(two.w32)) <= 1e-5, 'stale copy used after free');
  nb!.free(s2);
});
