/**
 * `npm run bench -- native-kernels [--json]`: the native backend's non-GEMM kernels at each SIMD
 * level (scalar / avx2 / avx512, forced in-process) next to the `ref` backend, plus the per-call
 * overhead of a 1-element kernel (what decode pays thousands of times per token batch).
 * Reports speed-ups measured in the same run (the machine is shared and noisy).
 * Deliberately does not: time GEMM (bench/gemm.ts) or compare with other engines.
 */
import type { Backend, View } from '../src/backends/backend.js';
import { refBackend } from '../src/backends/ref/index.js';
import { loadNativeBackend, nativeThreads, setNativeIsa } from '../src/backends/native/index.js';

function view(be: Backend, shape: number[], fillv = 0.5): View {
  const n = shape.reduce((a, b) => a * b, 1);
  const storage = be.alloc(n * 4);
  const f = new Float32Array(storage.buffer, storage.byteOffset, n);
  for (let i = 0; i < n; i++) f[i] = fillv * Math.sin(i * 0.37);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { storage, dtype: 'f32', shape, strides, offset: 0 };
}

function time(fn: () => void, minMs = 150): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    reps++;
    t = performance.now();
  }
  return ((t - t0) / reps) * 1e3; // microseconds per call
}

interface Case { name: string; elems: number; run(be: Backend): () => void }

const N = 1 << 20;
const cases: Case[] = [
  { name: 'add 1M', elems: N, run: (be) => { const a = view(be, [N]), b = view(be, [N]), o = view(be, [N]); return () => be.binary('add', o, a, b); } },
  { name: 'gelu 1M', elems: N, run: (be) => { const a = view(be, [N], 4), o = view(be, [N]); return () => be.unary('gelu', o, a); } },
  { name: 'silu 1M', elems: N, run: (be) => { const a = view(be, [N], 4), o = view(be, [N]); return () => be.unary('silu', o, a); } },
  { name: 'exp 1M', elems: N, run: (be) => { const a = view(be, [N], 4), o = view(be, [N]); return () => be.unary('exp', o, a); } },
  { name: 'copy f32->bf16 1M', elems: N, run: (be) => { const a = view(be, [N]); const s = be.alloc(N * 2); const o: View = { storage: s, dtype: 'bf16', shape: [N], strides: [1], offset: 0 }; return () => be.copy(o, a); } },
  { name: 'softmax 256x4096', elems: N, run: (be) => { const a = view(be, [256, 4096], 8), o = view(be, [256, 4096]); return () => be.softmax!(o, a); } },
  { name: 'rmsNorm 256x4096', elems: N, run: (be) => { const a = view(be, [256, 4096]), w = view(be, [4096]), o = view(be, [256, 4096]), r = view(be, [256]); return () => be.rmsNorm!(o, r, a, w, 1e-5); } },
  { name: 'layerNorm 256x4096', elems: N, run: (be) => { const a = view(be, [256, 4096]), w = view(be, [4096]), b = view(be, [4096]), o = view(be, [256, 4096]), m = view(be, [256]), r = view(be, [256]); return () => be.layerNorm!(o, m, r, a, w, b, 1e-5); } },
  { name: 'attention decode 24h Tk=1024 D=256', elems: 24 * 1024 * 256, run: (be) => { const q = view(be, [1, 24, 1, 256]), k = view(be, [1, 24, 1024, 256]), v = view(be, [1, 24, 1024, 256]), o = view(be, [1, 24, 1, 256]); return () => be.attention!(o, q, k, v, { scale: 1 / 16, causal: true, pastLen: [1023], kvLen: [1024] }); } },
  { name: 'adamw 1M', elems: N, run: (be) => { const p = view(be, [N]), g = view(be, [N]), m = view(be, [N]), v = view(be, [N], 0.1); return () => be.adamw!(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 }); } },
];

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const nb = loadNativeBackend();
  if (!nb) throw new Error('the native backend is not built (run `npm run build:native`)');
  const rows: Record<string, string | number>[] = [];
  for (const c of cases) {
    const ref = c.elems <= N ? time(c.run(refBackend), 300) : NaN;
    const us: Record<string, number> = {};
    for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
      setNativeIsa(isa);
      us[isa] = time(c.run(nb));
    }
    setNativeIsa('avx512');
    rows.push({ kernel: c.name, ref_us: +ref.toFixed(0), scalar_us: +us.scalar.toFixed(1), avx2_us: +us.avx2.toFixed(1),
      avx512_us: +us.avx512.toFixed(1), 'scalar/avx512': +(us.scalar / us.avx512).toFixed(2),
      'ref/avx512': +(ref / us.avx512).toFixed(1), 'GB/s(avx512)': +((c.elems * 8) / us.avx512 / 1e3).toFixed(1) });
  }
  // per-call overhead: 1-element add (marshalling + N-API + dispatch)
  const a = view(nb, [1]), b = view(nb, [1]), o = view(nb, [1]);
  const call = time(() => { for (let i = 0; i < 1000; i++) nb.binary('add', o, a, b); }, 300) / 1000;
  const a4 = view(nb, [2, 3, 4, 5]), o4 = view(nb, [2, 3, 4, 5]);
  const call4 = time(() => { for (let i = 0; i < 1000; i++) nb.unary('silu', o4, a4); }, 300) / 1000;
  rows.push({ kernel: `call overhead: add 1 elem (us/call), threads=${nativeThreads()}`, avx512_us: +call.toFixed(3) });
  rows.push({ kernel: 'call overhead: silu 120 elems 4-D (us/call)', avx512_us: +call4.toFixed(3) });
  if (json) for (const r of rows) console.log(JSON.stringify({ bench: 'native-kernels', ...r }));
  else console.table(rows);
}
