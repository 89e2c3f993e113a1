/**
 * The native GPTQ kernel (native/src/gptq) against slow, obvious JS:
 *  - the exact repack into gq4/gq8 blocks: the addon's bytes equal the JS repack's, and the blocks
 *    dequantize (ref getter and native dequantize) to exactly dequantizeGptq's f32 weights;
 *  - the fused matmul (q8 activations, integer dots) at every ISA level, decode and prefill shapes,
 *    groupsize 128 and -1: within a bound computed from the activation
 *    rounding (|x - x_q| <= amax/254 per 32 values) of a float64 dequantize-then-matmul;
 *  - act-order g_idx and groupsize 64 are refused by repackGptq (gptqSource falls back to q4_0/q8_0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { View } from '../../src/backends/backend.js';
import { f32ToF16 } from '../../src/backends/dtype.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { loadNativeBackend, nativeIsa, setNativeIsa } from '../../src/backends/native/index.js';
import { dequantizeGptq, gqBlockGroups, gptqSource, repackGptq, type GptqParts } from '../../src/models/gptq.js';
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
  { bits: 4, K: 256, N: 40, gs: 128 },
  { bits: 4, K: 384, N: 16, gs: -1 },
  { bits: 8, K: 256, N: 20, gs: 128 },
  { bits: 8, K: 128, N: 44, gs: -1 },
] as const;

for (const c of CASES) {
  test(`gptq int${c.bits} gs ${c.gs}: exact repack (addon = JS), dequantizes to dequantizeGptq bit for bit`, () => {
    const p = parts(c.bits, c.K, c.N, c.gs, c.K + c.N);
    const want = dequantizeGptq(p, 'L');
    const js = repackGptq(p, 'L', false);
    assert.equal(js.dtype, c.bits === 4 ? 'gq4' : 'gq8');
    const v = (d: Uint8Array): View => ({ storage: { buffer: d.buffer as ArrayBuffer, byteOffset: 0, byteLength: d.length }, dtype: js.dtype, shape: [c.N * c.K], strides: [1], offset: 0 });
    const out = new Float32Array(c.N * c.K);
    refBackend.dequantize(view(out, 'f32', [c.N * c.K]), v(js.data));
    assert.deepEqual(out, want);
    if (!nb) return;
    const native = repackGptq(p, 'L', true);
    assert.deepEqual(native.data, js.data);
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
      const p = parts(c.bits, c.K, c.N, c.gs, 7 * c.K + c.N);
      const w = dequantizeGptq(p, 'L');
      const { dtype, data } = repackGptq(p, 'L');
      // the weight as the model sees it: (K, N) view of N rows of K (strides (1, K))
      const wv: View = { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: 0, byteLength: data.length }, dtype, shape: [c.K, c.N], strides: [1, c.K], offset: 0 };
      for (const M of [1, 3, 9]) {
        const r = rng(M * 31 + c.K);
        const x = Float32Array.from({ length: M * c.K }, () => (r() - 0.5) * 4);
        const { y, bound } = reference(x, M, c.K, w, c.N);
        for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
          setNativeIsa(isa);
          const out = new Float32Array(M * c.N);
          nb!.matmul(view(out, 'f32', [M, c.N]), view(x, 'f32', [M, c.K]), wv);
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

test('act-order g_idx and groupsize 64 are not repacked (one line naming the layer); gptqSource falls back', () => {
  const act = parts(4, 256, 8, 128, 3, true);
  assert.match(String(gqBlockGroups(act, 'L')), /g_idx changes group inside in-features 0\.\.127/);
  assert.throws(() => repackGptq(act, 'h.0.mlp.fc_in'), /^Error: h\.0\.mlp\.fc_in: cannot repack GPTQ exactly: g_idx changes group/);
  assert.equal(typeof gqBlockGroups(parts(8, 256, 8, 64, 4), 'L'), 'string');
  const t = new Map([['l.qweight', act.qweight], ['l.qzeros', act.qzeros], ['l.scales', act.scales], ['l.g_idx', act.gIdx!]]);
  const got = gptqSource(mapSource('m', [{ file: 'm', tensors: t }]), 'gq').get('l.weight')!.view;
  assert.deepEqual([got.dtype, ...got.shape], ['q4_0', 8, 256]);
  const ok = parts(4, 256, 8, 128, 5);
  const t2 = new Map([['l.qweight', ok.qweight], ['l.qzeros', ok.qzeros], ['l.scales', ok.scales], ['l.g_idx', ok.gIdx!]]);
  const gq = gptqSource(mapSource('m', [{ file: 'm', tensors: t2 }]), 'gq').get('l.weight')!.view;
  assert.deepEqual([gq.dtype, ...gq.shape], ['gq4', 8, 256]);
});
