/**
 * Native GEMM / mat-vec entry points (native/src/gemm) against a naive float64 triple loop:
 * odd shapes (incl. 1 and sizes crossing the KC/NB/MB blocks), transposed and generally strided
 * operands, offsets, ldc > N, accumulate, bf16 (against the exact product of the bf16 inputs), the
 * mixed f32 x bf16 and f32 x f16 (IEEE half weights) paths, the forced mat-vec path, bounds checks, and every ISA level (this file
 * re-runs itself in child processes with MOSS_NATIVE_ISA=scalar|avx2).
 * Skips when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { f16ToF32, f32ToF16 } from '../../src/backends/dtype.js';
import { loadGemmAddon, toBf16, fromBf16, type GemmFn } from './gemm-native.js';

const addon = loadGemmAddon();
const skip = addon ? false : 'native addon not built (npm run build:native)';
const childIsa = process.env.MOSS_GEMM_TEST_CHILD ? process.env.MOSS_NATIVE_ISA : undefined;

let seed = 12345;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}

interface Layout { rs: number; cs: number; len: number; off: number }
/** Layout of a rows x cols operand: 0 row-major, 1 transposed, 2 strided both ways (gaps), plus an offset. */
function layout(kind: number, rows: number, cols: number): Layout {
  const off = 3;
  if (kind === 0) return { rs: cols, cs: 1, len: off + rows * cols, off };
  if (kind === 1) return { rs: 1, cs: rows, len: off + rows * cols, off };
  return { rs: 2 * cols + 1, cs: 2, len: off + rows * (2 * cols + 1), off };
}

type Kind = 'f32' | 'bf16' | 'f32_bf16' | 'f32_f16';

function check(fn: GemmFn, kind: Kind, M: number, N: number, K: number, la: number, lb: number, acc: boolean): void {
  const A = layout(la, M, K), B = layout(lb, K, N);
  const af = new Float32Array(A.len).map(() => rnd()), bf = new Float32Array(B.len).map(() => rnd());
  const aBf = kind === 'bf16', bBf = kind !== 'f32', bF16 = kind === 'f32_f16';
  const a16 = Uint16Array.from(af, toBf16), b16 = Uint16Array.from(bf, bF16 ? f32ToF16 : toBf16);
  const av = aBf ? Float64Array.from(a16, fromBf16) : Float64Array.from(af);
  const bv = bBf ? Float64Array.from(b16, bF16 ? f16ToF32 : fromBf16) : Float64Array.from(bf);
  const ldc = N + 2, offC = 1;
  const C = new Float32Array(offC + M * ldc).map(() => rnd());
  const C0 = C.slice();
  fn(M, N, K, aBf ? a16 : af, A.off, A.rs, A.cs, bBf ? b16 : bf, B.off, B.rs, B.cs, C, offC, ldc, acc);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, sa = 0;
      for (let k = 0; k < K; k++) {
        const p = av[A.off + i * A.rs + k * A.cs]! * bv[B.off + k * B.rs + j * B.cs]!;
        s += p;
        sa += Math.abs(p);
      }
      const c0 = C0[offC + i * ldc + j]!;
      if (acc) { s += c0; sa += Math.abs(c0); }
      const got = C[offC + i * ldc + j]!;
      const tol = 1e-5 * sa + 1e-6;
      if (!(Math.abs(got - s) <= tol)) {
        assert.fail(`${kind} M=${M} N=${N} K=${K} la=${la} lb=${lb} acc=${acc}: C[${i},${j}] = ${got}, want ${s} (tol ${tol})`);
      }
    }
    // Padding columns between rows must be untouched.
    for (let j = N; j < ldc && i * ldc + j + offC < C.length; j++) {
      assert.equal(C[offC + i * ldc + j], C0[offC + i * ldc + j], 'wrote outside C');
    }
  }
  assert.equal(C[0], C0[0], 'wrote before C');
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [13, 33, 17], [1, 100, 37], [5, 3, 80], [100, 2, 9], [12, 32, 384], [7, 9, 0],
  [25, 70, 400], [37, 129, 100], [13, 500, 800], [3100, 40, 20], [2, 1000, 50], [6, 64, 1027],
];

test('gemm: isa selection honours MOSS_NATIVE_ISA', { skip }, () => {
  const isa = addon!.gemm_isa();
  assert.match(isa, /^(scalar|avx2|avx512|avx512bf16)$/);
  if (childIsa) assert.equal(isa, childIsa, 'child ran at the requested ISA (is the CPU new enough?)');
});

for (const [name, kind] of [['gemm_f32', 'f32'], ['gemm_bf16', 'bf16'], ['gemm_f32_bf16', 'f32_bf16'], ['gemm_f32_f16', 'f32_f16'],
  ['matvec_f32', 'f32'], ['matvec_f32_bf16', 'f32_bf16'], ['matvec_f32_f16', 'f32_f16']] as [keyof NonNullable<typeof addon>, Kind][]) {
  test(`${name}: odd shapes, transposed/strided operands, accumulate`, { skip }, () => {
    const fn = addon![name] as GemmFn;
    for (const [M, N, K] of SHAPES) {
      if (name.startsWith('matvec') && M > 40) continue;
      const small = M * N * K <= 2e5;
      // Small shapes: every layout pair, with and without accumulate; big ones: a few pairs.
      // (Child processes and the mixed / mat-vec entries, which share the packers, take one big pair.)
      const few = childIsa !== undefined || !(name === 'gemm_f32' || name === 'gemm_bf16');
      const pairs = small ? [0, 1, 2, 3, 4, 5, 6, 7, 8].map((x) => [Math.floor(x / 3), x % 3])
        : few ? [[(M + N) % 3, (N + K) % 3]] : [[0, 0], [1, 0], [0, 1], [2, 2]];
      for (const [la, lb] of pairs) {
        check(fn, kind, M, N, K, la!, lb!, !small);
        if (small) check(fn, kind, M, N, K, la!, lb!, true);
      }
    }
  });
}

test('gemm: correct at 1 and 3 pool threads (uneven work split, more threads than cores)', { skip }, () => {
  const a = addon!;
  const before = a.num_threads();
  try {
    for (const t of [1, 3]) {
      assert.equal(a.set_num_threads(t), t);
      check(a.gemm_f32, 'f32', 61, 97, 45, 0, 1, true);
      check(a.gemm_bf16, 'bf16', 29, 300, 70, 1, 0, false);
      check(a.matvec_f32, 'f32', 3, 77, 300, 0, 0, true);
      check(a.matvec_f32, 'f32', 2, 300, 77, 0, 1, false);
    }
  } finally {
    a.set_num_threads(before);
  }
});

test('gemm: empty sizes and bounds checks', { skip }, () => {
  const a = addon!;
  const C = new Float32Array(4).fill(7);
  a.gemm_f32(0, 2, 3, new Float32Array(0), 0, 3, 1, new Float32Array(6), 0, 2, 1, C, 0, 2, false);
  assert.deepEqual([...C], [7, 7, 7, 7]);
  a.gemm_f32(2, 2, 0, new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 2, 1, C, 0, 2, true);
  assert.deepEqual([...C], [7, 7, 7, 7]);
  a.gemm_f32(2, 2, 0, new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 2, 1, C, 0, 2, false);
  assert.deepEqual([...C], [0, 0, 0, 0]);
  assert.throws(() => a.gemm_f32(2, 2, 2, new Float32Array(3), 0, 2, 1, new Float32Array(4), 0, 2, 1, C, 0, 2, false), RangeError);
  assert.throws(() => a.gemm_f32(2, 2, 2, new Float32Array(4), 0, 2, 1, new Float32Array(4), 0, 2, 1, C, 1, 2, false), RangeError);
  assert.throws(() => a.gemm_bf16(2, 2, 2, new Float32Array(4), 0, 2, 1, new Uint16Array(4), 0, 2, 1, C, 0, 2, false), RangeError);
});

test('gemm: bf16 path is exact on exactly representable products', { skip }, () => {
  // Small integers: every product and partial sum is exact in f32, so the result must be exact.
  const M = 17, N = 45, K = 66;
  const A = new Uint16Array(M * K).map((_, i) => toBf16(((i * 7) % 11) - 5));
  const B = new Uint16Array(K * N).map((_, i) => toBf16(((i * 5) % 13) - 6));
  const C = new Float32Array(M * N);
  addon!.gemm_bf16(M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N, false);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += fromBf16(A[i * K + k]!) * fromBf16(B[k * N + j]!);
      assert.equal(C[i * N + j], s);
    }
  }
});

test('gemm: f16 weights widen exactly, subnormals and the largest finite value included', { skip }, () => {
  // f16 bit patterns: subnormals (0x0001 = 2^-24, 0x03ff), the smallest normal, -0, 1, the largest
  // finite (65504) and negatives; A holds powers of two so every product and sum below is exact in f32.
  const bits = [0x0001, 0x03ff, 0x8001, 0x0400, 0x8000, 0x3c00, 0x7bff, 0xfbff, 0x3555, 0xc000];
  const K = bits.length;
  for (const M of [1, 40]) {
    for (const N of [1, 33]) {
      const A = new Float32Array(M * K).map((_, i) => 2 ** ((i % 5) - 2));
      const B = new Uint16Array(K * N).map((_, i) => bits[Math.floor(i / N)]!); // row-major (K, N): row k = bits[k]
      for (const fn of [addon!.gemm_f32_f16, addon!.matvec_f32_f16]) {
        const C = new Float32Array(M * N);
        fn(M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N, false);
        for (let i = 0; i < M; i++) {
          let want = 0;
          for (let k = 0; k < K; k++) want += A[i * K + k]! * f16ToF32(bits[k]!);
          for (let j = 0; j < N; j++) assert.equal(C[i * N + j], Math.fround(want), `M=${M} N=${N} C[${i},${j}]`);
        }
      }
    }
  }
});

if (!process.env.MOSS_GEMM_TEST_CHILD) {
  for (const isa of ['scalar', 'avx2']) {
    test(`gemm: whole suite at MOSS_NATIVE_ISA=${isa} (child process)`, { skip }, () => {
      const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], {
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, MOSS_NATIVE_ISA: isa, MOSS_GEMM_TEST_CHILD: '1' },
        encoding: 'utf8',
        timeout: 300_000,
      });
      assert.equal(r.status, 0, `child at ${isa} failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /# fail 0/);
      assert.doesNotMatch(r.stdout, /# pass 0\b/);
    });
  }
}
