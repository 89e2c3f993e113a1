/**
 * Batched matmul of the reference backend: out (...batch, M, N) = a (...batch, M, K) @
 * b (...batch, K, N), any strides on a and b (transposed, sliced, batch-broadcast with stride 0).
 * b may be q8_0/q4_0: its elements are dequantized by storage offset (blocks of 32 along the
 * storage order, i.e. a ggml (N, K) weight seen as a (K, N) transposed view). Each (M, K) / (K, N)
 * slice is packed once (b's pack is reused while consecutive batches share it); dot products
 * accumulate in double and round once on store.
 * Not here: blocking, threads or SIMD — this is the oracle.
 */
import { numel, type View } from '../backend.js';
import { offsets, readF32, write } from './strided.js';

export function matmul(out: View, a: View, b: View): void {
  const nd = out.shape.length;
  if (nd < 2 || a.shape.length !== nd || b.shape.length !== nd) throw new Error('ref.matmul: out, a, b need the same rank >= 2');
  const M = out.shape[nd - 2];
  const N = out.shape[nd - 1];
  const K = a.shape[nd - 1];
  const batch = out.shape.slice(0, nd - 2);
  const aBase = offsets(batch, a.strides.slice(0, nd - 2), a.offset);
  const bBase = offsets(batch, b.strides.slice(0, nd - 2), b.offset);
  const res = new Float32Array(numel(out.shape));
  const bt = new Float32Array(N * K); // b slice transposed: bt[n*K + k] = b[k, n]
  let lastB = -1;
  for (let bi = 0; bi < aBase.length; bi++) {
    const am = readF32({ ...a, shape: [M, K], strides: a.strides.slice(nd - 2), offset: aBase[bi] });
    if (bBase[bi] !== lastB) {
      const bk = readF32({ ...b, shape: [K, N], strides: b.strides.slice(nd - 2), offset: bBase[bi] });
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = bk[k * N + n];
      lastB = bBase[bi];
    }
    const o = bi * M * N;
    for (let m = 0; m < M; m++) {
      const ar = m * K;
      for (let n = 0; n < N; n++) {
        const br = n * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += am[ar + k] * bt[br + k];
        res[o + m * N + n] = s;
      }
    }
  }
  write(out, res);
}
