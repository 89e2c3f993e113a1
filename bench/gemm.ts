/**
 * `npm run bench -- gemm [--json] [--quick] [--no-peer]`: the native GEMM engine against the machine's own limits,
 * measured in the same run: FMA peak (all threads, widest vectors) and memory read bandwidth (1 GiB,
 * all threads), then f32 and bf16 GEMM at M=N=K in {256, 1024, 2048} (GFLOP/s, % of the f32 FMA
 * peak) and f32 / bf16 / f16-weight mat-vec 1x4096 @ 4096x4096 (GB/s of weights streamed, % of the read
 * bandwidth), plus f32/bf16 1024^3 on one thread against the one-thread FMA peak (rows
 * `gemm_1thread`). Best of several runs (the machine may be shared). Writes bench/results/gemm.json.
 * Peer: when `python3` with numpy is on the PATH (numpy wheels bundle OpenBLAS), the same shapes
 * run through numpy.matmul in a child process right after ours (rows named `numpy`); skipped
 * otherwise, or with --no-peer.
 * Deliberately does not: install or require any peer.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { f32ToF16 } from '../src/backends/dtype.js';
import { loadGemmAddon, repoRoot, toBf16, type GemmAddon, type GemmFn } from '../test/backends/gemm-native.js';

interface Row {
  name: string; dtype: string; m: number; n: number; k: number; gflops: number;
  ms?: number; pct_peak?: number; gbps?: number; pct_bw?: number; layout?: string;
}

/** Best wall time (ms) of fn over at least `minRuns` runs and about `budgetMs` ms, after one warm-up. */
function best(fn: () => void, budgetMs: number, minRuns = 3): number {
  fn();
  let bestMs = Infinity, total = 0, runs = 0;
  while (runs < minRuns || (total < budgetMs && runs < 50)) {
    const t0 = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    bestMs = Math.min(bestMs, ms);
    total += ms;
    runs++;
  }
  return bestMs;
}

function randF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function gemmRow(addon: GemmAddon, dtype: 'f32' | 'bf16', s: number, peak: number, budget: number): Row {
  const af = randF32(s * s), bf = randF32(s * s), C = new Float32Array(s * s);
  const fn: GemmFn = dtype === 'f32' ? addon.gemm_f32 : addon.gemm_bf16;
  const A = dtype === 'f32' ? af : Uint16Array.from(af, toBf16);
  const B = dtype === 'f32' ? bf : Uint16Array.from(bf, toBf16);
  const ms = best(() => fn(s, s, s, A, 0, s, 1, B, 0, s, 1, C, 0, s, false), budget);
  const gflops = (2 * s * s * s) / ms / 1e6;
  return { name: 'gemm', dtype, m: s, n: s, k: s, gflops, ms, pct_peak: (100 * gflops) / peak };
}

function matvecRow(addon: GemmAddon, dtype: 'f32' | 'bf16' | 'f16', layout: 'rows' | 'linear', K: number, N: number,
  bw: number, budget: number): Row {
  const x = randF32(K), y = new Float32Array(N);
  const bytes = K * N * (dtype === 'f32' ? 4 : 2);
  // Cycle through enough distinct weight matrices (>= 256 MiB, >> L3) that every call streams its
  // weights from memory, as decode does (each layer has its own weights).
  const copies = Math.max(2, Math.ceil((256 << 20) / bytes));
  const wf = randF32(K * N);
  const Ws = Array.from({ length: copies }, () => (dtype === 'f32' ? wf.slice() : Uint16Array.from(wf, dtype === 'f16' ? f32ToF16 : toBf16)));
  const fn: GemmFn = dtype === 'f32' ? addon.matvec_f32 : dtype === 'f16' ? addon.matvec_f32_f16 : addon.matvec_f32_bf16;
  // rows: B is [K,N] row-major; linear: B = W^T with W [N,K] row-major (the nn.Linear layout).
  const [rsb, csb] = layout === 'rows' ? [N, 1] : [1, K];
  let i = 0;
  const ms = best(() => fn(1, N, K, x, 0, K, 1, Ws[i++ % copies]!, 0, rsb, csb, y, 0, N, false), budget, 2 * copies);
  const gbps = bytes / ms / 1e6;
  return { name: 'matvec', dtype, m: 1, n: N, k: K, layout, gflops: (2 * K * N) / ms / 1e6, ms, gbps, pct_bw: (100 * gbps) / bw };
}

// Timed in the child exactly like ours: one warm-up, best of several runs.
const NUMPY_SCRIPT = `
import sys, json, time
import numpy as np
sizes = [int(x) for x in sys.argv[1].split(',')]
budget = float(sys.argv[2]) / 1000
def best(f, min_runs=3):
    f(); b = 1e9; tot = 0; n = 0
    while n < min_runs or (tot < budget and n < 50):
        t = time.perf_counter(); f(); d = time.perf_counter() - t
        b = min(b, d); tot += d; n += 1
    return b * 1000
cfg = np.show_config(mode='dicts') if hasattr(np, 'show_config') else {}
for s in sizes:
    a = np.random.rand(s, s).astype(np.float32); b = np.random.rand(s, s).astype(np.float32)
    c = np.empty((s, s), np.float32)
    ms = best(lambda: np.matmul(a, b, out=c))
    print(json.dumps({'name': 'numpy', 'dtype': 'f32', 'm': s, 'n': s, 'k': s, 'ms': ms}))
ws = [np.random.rand(4096, 4096).astype(np.float32) for _ in range(4)]
x = np.random.rand(1, 4096).astype(np.float32); i = [0]
def mv():
    i[0] += 1; return x @ ws[i[0] % 4].T
print(json.dumps({'name': 'numpy_matvec', 'dtype': 'f32', 'm': 1, 'n': 4096, 'k': 4096, 'ms': best(mv, 8)}))
`;

/** numpy (OpenBLAS) on the same shapes, or [] when python3/numpy is not available. */
function numpyPeer(sizes: number[], budget: number, peak: number, bw: number): Row[] {
  const r = spawnSync('python3', ['-c', NUMPY_SCRIPT, sizes.join(','), String(budget)], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return [];
  const rows: Row[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { name: string; dtype: string; m: number; n: number; k: number; ms: number };
    const gflops = (2 * o.m * o.n * o.k) / o.ms / 1e6;
    if (o.name === 'numpy') rows.push({ ...o, gflops, pct_peak: (100 * gflops) / peak });
    else {
      const gbps = (o.n * o.k * 4) / o.ms / 1e6;
      rows.push({ ...o, layout: 'linear', gflops, gbps, pct_bw: (100 * gbps) / bw });
    }
  }
  return rows;
}

function fmt(x: number | undefined, d = 1): string {
  return x === undefined ? '' : x.toFixed(d);
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const addon = loadGemmAddon();
  if (!addon) throw new Error('native addon not built (npm run build:native)');
  const threads = addon.num_threads();
  const isa = addon.gemm_isa();
  const peak = addon.probe_fma_gflops(0, quick ? 0.3 : 1.0);
  const bw = addon.probe_read_gbps(0, quick ? 256 << 20 : 1 << 30);
  const budget = quick ? 300 : 1500;
  const rows: Row[] = [
    { name: 'probe_fma', dtype: 'f32', m: 0, n: 0, k: 0, gflops: peak, pct_peak: 100 },
    { name: 'probe_read', dtype: 'f32', m: 0, n: 0, k: 0, gflops: 0, gbps: bw, pct_bw: 100 },
  ];
  for (const dtype of ['f32', 'bf16'] as const) {
    for (const s of quick ? [256, 1024] : [256, 1024, 2048]) rows.push(gemmRow(addon, dtype, s, peak, budget));
  }
  // One thread against the one-thread peak: the kernel's efficiency, less sensitive to other load
  // on a shared machine than the all-threads rows.
  const peak1 = addon.probe_fma_gflops(1, quick ? 0.3 : 1.0);
  addon.set_num_threads(1);
  try {
    for (const dtype of ['f32', 'bf16'] as const) rows.push({ ...gemmRow(addon, dtype, 1024, peak1, budget), name: 'gemm_1thread' });
  } finally {
    addon.set_num_threads(threads);
  }
  rows.push(matvecRow(addon, 'f32', 'rows', 4096, 4096, bw, budget));
  rows.push(matvecRow(addon, 'f32', 'linear', 4096, 4096, bw, budget));
  rows.push(matvecRow(addon, 'bf16', 'linear', 4096, 4096, bw, budget));
  rows.push(matvecRow(addon, 'f16', 'linear', 4096, 4096, bw, budget));
  if (!args.includes('--no-peer')) rows.push(...numpyPeer(quick ? [256, 1024] : [256, 1024, 2048], budget, peak, bw));
  // The probe again after the kernels: a drifting machine shows up as a different number here.
  const peak2 = addon.probe_fma_gflops(0, quick ? 0.3 : 1.0);
  rows.push({ name: 'probe_fma_after', dtype: 'f32', m: 0, n: 0, k: 0, gflops: peak2, pct_peak: (100 * peak2) / peak });

  if (json) {
    for (const r of rows) process.stdout.write(JSON.stringify({ ...r, isa, threads }) + '\n');
  } else {
    process.stdout.write(`native gemm (isa ${isa}, ${threads} threads): FMA peak ${fmt(peak)} GFLOP/s, read ${fmt(bw)} GB/s\n`);
    process.stdout.write('name            dtype  shape              GFLOP/s  %peak    GB/s   %bw       ms\n');
    for (const r of rows) {
      const shape = r.m ? `${r.m}x${r.k}@${r.k}x${r.n}${r.layout ? ` ${r.layout}` : ''}` : '';
      process.stdout.write(`${r.name.padEnd(16)}${r.dtype.padEnd(7)}${shape.padEnd(19)}${fmt(r.gflops).padStart(8)}` +
        `${fmt(r.pct_peak).padStart(7)}${fmt(r.gbps).padStart(8)}${fmt(r.pct_bw).padStart(6)}${fmt(r.ms, 2).padStart(9)}\n`);
    }
  }
  const dir = path.join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'gemm.json'), JSON.stringify({ isa, threads, fma_peak_gflops: peak, read_gbps: bw, results: rows }, null, 2) + '\n');
}
