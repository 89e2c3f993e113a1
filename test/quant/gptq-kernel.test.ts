/**
 * The native GPTQ kernel (native/src/gptq) against slow, obvious JS:
 *  - the exact repack into gq4/gq8 blocks: the addon's bytes equal the JS repack's, and the blocks
 *    dequantize (ref getter and native dequantize) to exactly dequantizeGptq's f32 weights;
 *  - the fused matmul (q8 activations, integer dots) at every ISA level, decode and prefill shapes,
 *    groupsize 128, 256 and -1, rows short and long (> 64 blocks: prefetched): within a bound computed from the activation
 *    rounding (|x - x_q| <= amax/254 per 32 values) of a float64 dequantize-then-matmul;
 *  - act-order g_idx (each group 128 in-features, scattered over k): repacked in group order, the
 *    blocks dequantize to dequantizeGptq's weights at the permuted in-features, and the matmul of the
 *    permuted activations stays within the same bound of the float64 dequantize-then-matmul;
 *  - groupsize 32 and 64 (plain and act-order, int4 and int8) in the gq4s/gq8s blocks (a scale and zero
 *    per 32 values): the same exact-repack, bit-exact dequantization and matmul-bound checks;
 *  - groups that are not whole 32-runs (groupsize 16, act-order groups of 16) are refused naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { View } from '../../src/backends/backend.js';
import { f32ToF16 } from '../../src/backends/dtype.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { loadNativeBackend, nativeIsa, setNativeIsa } from '../../src/backends/native/index.js';
import { dequantizeGptq, dequantizeGptqFast, gqLayout, gptqSource, repackGptq, type GptqParts } from '../../src/models/gptq.js';
import { mapSource } from '../../src/models/weights.js';

const nb = loadNativeBackend();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const view = (a: ArrayBufferView, dtype: View['dtype'], shape: number[]): View => ({
  storage: { buffer: a.buffer as ArrayBuffer, byteOffset: a.byteOffset, byteLength: a.byteLength },
  dtype, shape, strides: shape.length === 2 ? [shape[1], 1] : [1], offset: 0,
});

/** Random GPTQ parts (K, N) with groups of gs (-1: one group); q, zeros and scales uniform. */
function parts(bits: number, K: number, N: number, gs: number, seed: number, actOrder = false): GptqParts {
  const r = rng(seed), per = 32 / bits, maxq = (1 << bits) - 1, G = gs === -1 ? 1 : K / gs;
  const qweight = new Int32Array((K / per) * N), qzeros = new Int32Array(G * (N / per)), scales = new Uint16Array(G * N);
  for (let i = 0; i < qweight.length; i++) qweight[i] = (r() * 2 ** 32) | 0;
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      qzeros[g * (N / per) + Math.floor(n / per)] |= Math.floor(r() * (maxq + 1)) << (bits * (n % per));
      scales[g * N + n] = f32ToF16(0.001 + r() * 0.05);
    }
  }
  const gIdx = Int32Array.from({ length: K }, (_, k) => (gs === -1 ? 0 : Math.floor(k / gs)));
  if (actOrder) for (let k = K - 1; k > 0; k--) { const j = Math.floor(r() * (k + 1)); [gIdx[k], gIdx[j]] = [gIdx[j], gIdx[k]]; }
  return { qweight: view(qweight, 'i32', [K / per, N]), qzeros: view(qzeros, 'i32', [G, N / per]), scales: view(scales, 'f16', [G, N]), gIdx: view(gIdx, 'i32', [K]) };
}

const CASES = [
  { bits: 4, K: 256, N: 40, gs: 128, act: false },
  { bits: 4, K: 384, N: 16, gs: -1, act: false },
  { bits: 8, K: 256, N: 20, gs: 128, act: false },
  { bits: 8, K: 128, N: 44, gs: -1, act: false },
  { bits: 4, K: 512, N: 24, gs: 128, act: true },
  { bits: 8, K: 384, N: 12, gs: 128, act: true },
  // rows of more than 64 blocks: the kernels prefetch ahead in each row
  { bits: 4, K: 128 * 66, N: 16, gs: 256, act: false },
  { bits: 8, K: 128 * 65, N: 12, gs: -1, act: false },
  // groups of 32 / 64: gq4s / gq8s blocks (act-order groups of 64 or 32: sorted, then per-32 scales)
  { bits: 4, K: 256, N: 40, gs: 32, act: false },
  { bits: 4, K: 384, N: 16, gs: 64, act: false },
  { bits: 8, K: 256, N: 20, gs: 64, act: false },
  { bits: 8, K: 128, N: 44, gs: 32, act: false },
  { bits: 4, K: 512, N: 24, gs: 64, act: true },
  { bits: 8, K: 384, N: 12, gs: 32, act: true },
  { bits: 4, K: 128 * 66, N: 16, gs: 32, act: false },
  { bits: 8, K: 128 * 65, N: 12, gs: 64, act: false },
] as const;

/** The block type a case repacks into: a scale per 32 values where groups are smaller than 128. */
const dtypeOf = (c: (typeof CASES)[number]) => `gq${c.bits}${c.gs !== -1 && c.gs < 128 ? 's' : ''}`;

/** W (N, K) with its in-features in `order` (what the repacked blocks hold): w'[n, j] = w[n, order[j]]. */
function permuted(w: Float32Array, N: number, K: number, order: Int32Array | null): Float32Array {
  if (!order) return w;
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let j = 0; j < K; j++) out[n * K + j] = w[n * K + order[j]];
  return out;
}

for (const c of CASES) {
  test(`gptq int${c.bits} gs ${c.gs}${c.act ? ' act-order' : ''}: exact repack (addon = JS), dequantizes to dequantizeGptq bit for bit`, () => {
    const p = parts(c.bits, c.K, c.N, c.gs, c.K + c.N, c.act);
    const js = repackGptq(p, 'L', false);
    assert.equal(js.order !== null, c.act, 'an input order exactly for act-order');
    if (js.order) assert.deepEqual([...js.order].sort((a, b) => a - b), Array.from({ length: c.K }, (_, k) => k), 'a permutation');
    const want = permuted(dequantizeGptq(p, 'L'), c.N, c.K, js.order);
    assert.equal(js.dtype, dtypeOf(c));
    const v = (d: Uint8Array): View => ({ storage: { buffer: d.buffer as ArrayBuffer, byteOffset: 0, byteLength: d.length }, dtype: js.dtype, shape: [c.N * c.K], strides: [1], offset: 0 });
    const out = new Float32Array(c.N * c.K);
    refBackend.dequantize(view(out, 'f32', [c.N * c.K]), v(js.data));
    assert.deepEqual(out, want);
    if (!nb) return;
    assert.deepEqual(dequantizeGptqFast(p, 'L'), dequantizeGptq(p, 'L'), 'the native dequantization moss quantize reads is the exact one');
    const native = repackGptq(p, 'L', true);
    assert.deepEqual(native.data, js.data);
    assert.deepEqual(native.order, js.order);
    out.fill(0);
    const o = nb.alloc(out.byteLength);
    nb.dequantize({ storage: o, dtype: 'f32', shape: [c.N * c.K], strides: [1], offset: 0 }, v(native.data));
    assert.deepEqual(new Float32Array(o.buffer, o.byteOffset, c.N * c.K), want);
    nb.free(o);
  });
}

/** y = x @ W^T in float64, and the bound |native - y| may reach from rounding x to int8 per 32 values. */
function reference(x: Float32Array, M: number, K: number, w: Float32Array, N: number): { y: Float64Array; bound: Float64Array } {
  const y = new Float64Array(M * N), bound = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0, e = 0;
      for (let b = 0; b < K / 32; b++) {
        let amax = 0, wabs = 0;
        for (let t = 0; t < 32; t++) {
          const k = b * 32 + t;
          amax = Math.max(amax, Math.abs(x[m * K + k]));
          s += x[m * K + k] * w[n * K + k];
          wabs += Math.abs(w[n * K + k]);
        }
        e += (amax / 254) * wabs * 1.0001;
      }
      y[m * N + n] = s;
      bound[m * N + n] = e + 1e-5 * Math.abs(s) + 1e-6;
    }
  }
  return { y, bound };
}

test('native GPTQ matmul = float64 dequantize-then-matmul within the activation rounding (every ISA level)', { skip: nb ? false : 'native addon not built' }, () => {
  const prev = nativeIsa() as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const c of CASES) {
      const p = parts(c.bits, c.K, c.N, c.gs, 7 * c.K + c.N, c.act);
      const w = dequantizeGptq(p, 'L');
      const { dtype, data, order } = repackGptq(p, 'L');
      // the weight as the model sees it: (K, N) view of N rows of K (strides (1, K))
      const wv: View = { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: 0, byteLength: data.length }, dtype, shape: [c.K, c.N], strides: [1, c.K], offset: 0 };
      for (const M of [1, 3, 9]) {
        const r = rng(M * 31 + c.K);
        const x = Float32Array.from({ length: M * c.K }, () => (r() - 0.5) * 4);
        // act-order: the reference in model order; the kernel gets x[..., order] (what the Linear gathers)
        const { y, bound } = reference(permuted(x, M, c.K, order), M, c.K, permuted(w, c.N, c.K, order), c.N);
        assert.ok(reference(x, M, c.K, w, c.N).y.every((v, i) => Math.abs(v - y[i]) <= 1e-9 * (1 + Math.abs(v))), 'permuting both sides keeps y');
        const xk = permuted(x, M, c.K, order);
        for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
          setNativeIsa(isa);
          const out = new Float32Array(M * c.N);
          nb!.matmul(view(out, 'f32', [M, c.N]), view(xk, 'f32', [M, c.K]), wv);
          for (let i = 0; i < out.length; i++) {
            assert.ok(Math.abs(out[i] - y[i]) <= bound[i], `int${c.bits} gs ${c.gs} M ${M} ${isa}: [${i}] ${out[i]} vs ${y[i]} (bound ${bound[i]})`);
          }
        }
      }
    }
  } finally {
    setNativeIsa(prev);
  }
});

test('act-order layers get gq blocks and an input order; groupsize 16 and act-order groups of 16 are refused naming the field', () => {
  const act = parts(4, 256, 8, 128, 3, true);
  const lay = gqLayout(act, 'L');
  assert.ok(typeof lay !== 'string' && lay.order, 'act-order: an order');
  const mk = (p: GptqParts) => mapSource('m', [{ file: 'm', tensors: new Map([['l.qweight', p.qweight], ['l.qzeros', p.qzeros], ['l.scales', p.scales], ['l.g_idx', p.gIdx!]]) }]);
  const src = gptqSource(mk(act), 'gq');
  assert.deepEqual(src.inputOrder!('l.weight'), lay.order, 'inputOrder answers before get');
  const got = src.get('l.weight')!.view;
  assert.deepEqual([got.dtype, ...got.shape], ['gq4', 8, 256]);
  const ok = parts(4, 256, 8, 128, 5);
  const plain = gptqSource(mk(ok), 'gq');
  assert.deepEqual([plain.get('l.weight')!.view.dtype, plain.inputOrder!('l.weight')], ['gq4', undefined]);

  // groupsize 64: a scale per 32 values (gq8s), model order; act-order groups of 64: gq4s in group order
  const gs64 = parts(8, 256, 8, 64, 4);
  assert.deepEqual([gptqSource(mk(gs64), 'gq').get('l.weight')!.view.dtype, gptqSource(mk(gs64), 'gq').inputOrder!('l.weight')], ['gq8s', undefined]);
  const act64 = gptqSource(mk(parts(4, 256, 8, 64, 6, true)), 'gq');
  assert.equal(act64.get('l.weight')!.view.dtype, 'gq4s');
  assert.ok(act64.inputOrder!('l.weight'), 'act-order groups of 64: an input order');
  // groups of 16 cannot sit in 32-value runs
  const gs16 = parts(8, 256, 8, 16, 4);
  assert.match(String(gqLayout(gs16, 'L')), /^groupsize 16 is not a multiple of 32/);
  assert.throws(() => repackGptq(gs16, 'h.0.mlp.fc_in'), /^Error: h\.0\.mlp\.fc_in: cannot repack GPTQ exactly: groupsize 16/);
  assert.throws(() => gptqSource(mk(gs16), 'gq').get('l.weight'), /^Error: m: GPTQ layer 'l': groupsize 16 is not a multiple of 32 .*moss quantize --type q8_0/);
  // act-order with groups of 16: sorting cannot fill whole 32-runs
  const odd = parts(4, 256, 8, 16, 6, true);
  assert.match(String(gqLayout(odd, 'L')), /^g_idx puts 16 in-features in group 0, not a multiple of 32/);
  assert.throws(() => gptqSource(mk(odd), 'gq').get('l.weight'), /^Error: m: GPTQ layer 'l': g_idx puts 16/);
  // desc_act: true without g_idx: the order cannot be known
  const noIdx = mapSource('m', [{ file: 'm', tensors: new Map([['l.qweight', ok.qweight], ['l.qzeros', ok.qzeros], ['l.scales', ok.scales]]) }]);
  assert.throws(() => gptqSource(noIdx, 'gq', 128, true).get('l.weight'), /^Error: m: tensor 'l\.g_idx' is missing \(desc_act: true/);
  assert.equal(gptqSource(noIdx, 'gq', 128).get('l.weight')!.view.dtype, 'gq4');
  // moss quantize's path still converts them (exact dequantization, then q8_0)
  assert.equal(gptqSource(mk(odd), 'q8_0').get('l.weight')!.view.dtype, 'q8_0');
});
