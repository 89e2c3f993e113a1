// Mat-vec timing of the native fused k-quant dots, one thread: a (1, K) f32 activation times an
// (N, K) weight of random blocks per type (plus q4_0 / q8_0 as the peers in the same run), best of
// REPS. Pass another checkout's root to time its build (e.g. main before a kernel change) in the
// same run. M > 1 times a mat-mat (prefill) of M activation rows instead (MOSS_KQ_TILE_M=0 turns the
// k-quant mat-mat tiles off, for the dequantize + f32 GEMM path). Usage (after `npm run build`):
//   node dev/kquant_matvec_bench.mjs [root ...]   (env ISA=scalar|avx2|avx512, M=1, K=2048, N=5632, REPS=20, TYPES=q4_k,q6_k)
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const roots = process.argv.slice(2).length ? process.argv.slice(2).map((r) => resolve(r)) : [fileURLToPath(new URL('..', import.meta.url))];
const M = Number(process.env.M ?? 1), K = Number(process.env.K ?? 2048), N = Number(process.env.N ?? 5632), REPS = Number(process.env.REPS ?? 20);
const ALL = { q8_0: [32, 34], q4_0: [32, 18], q2_k: [256, 84], q3_k: [256, 110], q4_k: [256, 144], q5_k: [256, 176], q6_k: [256, 210] };
const TYPES = process.env.TYPES ? Object.fromEntries(process.env.TYPES.split(',').map((t) => [t, ALL[t]])) : ALL;
const rows = [];
for (const root of roots) {
  const nat = await import(`${root}/dist/src/backends/native/index.js`);
  const b = nat.loadNativeBackend();
  if (process.env.ISA) nat.setNativeIsa(process.env.ISA);
  nat.setNativeThreads(1);
  let x = 0x9e3779b9;
  const rnd = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32; };
  const a = b.alloc(M * K * 4);
  const av = new Float32Array(a.buffer, a.byteOffset, M * K);
  for (let i = 0; i < M * K; i++) av[i] = rnd() - 0.5;
  const o = b.alloc(M * N * 4);
  for (const [q, [bs, bb]] of Object.entries(TYPES)) {
    const w = b.alloc((N * K / bs) * bb);
    const wv = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    for (let i = 0; i < wv.length; i++) wv[i] = (rnd() * 256) | 0;
    // small finite f16 scales (0x1400 ~ 0.001) wherever a type keeps them, so no inf/NaN reaches the sums
    const offs = { q8_0: [0], q4_0: [0], q2_k: [80, 82], q3_k: [108], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208] }[q];
    for (let blk = 0; blk < wv.length / bb; blk++) for (const off of offs) { wv[blk * bb + off] = 0; wv[blk * bb + off + 1] = 0x14; }
    const call = () => b.matmul({ storage: o, dtype: 'f32', shape: [M, N], strides: [N, 1], offset: 0 },
      { storage: a, dtype: 'f32', shape: [M, K], strides: [K, 1], offset: 0 },
      { storage: w, dtype: q, shape: [K, N], strides: [1, K], offset: 0 });
    call();
    let best = Infinity;
    for (let r = 0; r < REPS; r++) {
      const t = performance.now();
      call();
      best = Math.min(best, performance.now() - t);
    }
    rows.push({ root, isa: nat.nativeIsa(), q, ms: best, gbps: wv.length / best / 1e6, gmacs: M * N * K / best / 1e6 });
    b.free(w);
  }
}
for (const r of rows) console.log(`${r.root.padEnd(12)} ${r.isa.padEnd(7)} ${r.q.padEnd(5)} ${r.ms.toFixed(3).padStart(8)} ms  ${r.gbps.toFixed(1).padStart(5)} GB/s  ${r.gmacs.toFixed(1).padStart(6)} GMAC/s  (M ${M}, tiles ${process.env.MOSS_KQ_TILE_M ?? 'default'})`);
