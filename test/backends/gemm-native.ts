/**
 * Test/bench-local loader for the gemm entry points of the native addon (build/Release/moss_native.node),
 * used until the native backend's TS wrapper exposes them (MOSS_NATIVE_ADDON=<path> overrides the file).
 * Returns null when the addon is not built.
 * Deliberately does not: build the addon or wrap anything beyond the gemm/probe functions.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

type F32 = Float32Array;
type Operand = Float32Array | Uint16Array;
/** gemm(M, N, K, A, offA, rsa, csa, B, offB, rsb, csb, C, offC, ldc, accumulate). */
export type GemmFn = (M: number, N: number, K: number, A: Operand, offA: number, rsa: number, csa: number,
  B: Operand, offB: number, rsb: number, csb: number, C: F32, offC: number, ldc: number, accumulate: boolean) => void;

export interface GemmAddon {
  gemm_f32: GemmFn;
  gemm_bf16: GemmFn;
  gemm_f32_bf16: GemmFn;
  matvec_f32: GemmFn;
  matvec_f32_bf16: GemmFn;
  gemm_f32_f16: GemmFn;
  matvec_f32_f16: GemmFn;
  probe_fma_gflops(threads: number, seconds: number): number;
  probe_read_gbps(threads: number, bytes: number): number;
  gemm_isa(): string;
  num_threads(): number;
  set_num_threads(n: number): number;
}

/** Repository root, found from this file's location in either src tree or dist/. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

export function loadGemmAddon(): GemmAddon | null {
  const file = process.env.MOSS_NATIVE_ADDON ?? path.join(repoRoot(), 'build', 'Release', 'moss_native.node');
  if (!existsSync(file)) return null;
  const m = createRequire(import.meta.url)(file) as Partial<GemmAddon>;
  return typeof m.gemm_f32 === 'function' ? (m as GemmAddon) : null;
}

/** Round-to-nearest-even f32 -> bf16 bits. */
const f1 = new Float32Array(1);
const u1 = new Uint32Array(f1.buffer);
export function toBf16(x: number): number {
  f1[0] = x;
  const u = u1[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(h: number): number {
  u1[0] = h << 16;
  return f1[0]!;
}
