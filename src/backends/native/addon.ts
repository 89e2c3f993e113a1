/**
 * Loads the compiled addon (build/Release/moss_native.node) and describes its raw interface.
 * The package root is found by walking up from this file to the package.json named "moss-ts", so
 * this works from src/ (tsx) and dist/ alike. Returns null when the addon is absent or fails to
 * load (e.g. not built on this machine); the engine switch `nativeDebug` (MOSS_NATIVE_DEBUG=1) says why.
 * Deliberately does not: build the addon, or know the Backend interface (index.ts does).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineOptions } from '../options.js';

type Buf = ArrayBuffer | null;

/** The raw functions of moss_native.node (see native/src/addon.cc for the calling convention). */
export interface NativeAddon {
  init(meta: Float64Array): void;
  alloc(byteLength: number): ArrayBuffer;
  free(buffer: ArrayBuffer): boolean;
  mapFile(path: string, offset?: number, length?: number): ArrayBuffer | [ArrayBuffer, number];
  copy(out: Buf, a: Buf): void;
  fill(out: Buf): void;
  dequantize(out: Buf, a: Buf): void;
  unary(op: number, out: Buf, a: Buf): void;
  binary(op: number, out: Buf, a: Buf, b: Buf): void;
  where(out: Buf, cond: Buf, a: Buf, b: Buf): void;
  reduce(op: number, out: Buf, a: Buf): void;
  argreduce(isMin: number, out: Buf, a: Buf): void;
  indexSelect(out: Buf, a: Buf, index: Buf): void;
  gather(out: Buf, a: Buf, index: Buf): void;
  scatterAdd(out: Buf, index: Buf, src: Buf): void;
  softmax(out: Buf, a: Buf): void;
  logSoftmax(out: Buf, a: Buf): void;
  layerNorm(y: Buf, mean: Buf, rstd: Buf, x: Buf, w: Buf, b: Buf): void;
  layerNormBackward(dx: Buf, dw: Buf, db: Buf, dy: Buf, x: Buf, mean: Buf, rstd: Buf, w: Buf): void;
  rmsNorm(y: Buf, rstd: Buf, x: Buf, w: Buf): void;
  rmsNormBackward(dx: Buf, dw: Buf, dy: Buf, x: Buf, rstd: Buf, w: Buf): void;
  rope(out: Buf, x: Buf, positions: Buf): void;
  attention(out: Buf, q: Buf, k: Buf, v: Buf, lse: Buf): void;
  attentionBackward(dq: Buf, dk: Buf, dv: Buf, dout: Buf, q: Buf, k: Buf, v: Buf, out: Buf, lse: Buf): void;
  crossEntropy(loss: Buf, dlogits: Buf, logits: Buf, targets: Buf): void;
  adamw(param: Buf, grad: Buf, m: Buf, v: Buf): void;
  matmul(out: Buf, a: Buf, b: Buf): void;
  isa(): string;
  setIsa(level: number): number;
  numThreads(): number;
  setNumThreads(n: number): number;
  planNew(): object;
  planAdd(plan: object, op: number, code: number, ...views: Buf[]): void;
  planRun(plan: object, pos: number | readonly number[]): void;
  planFree(plan: object): void;
  planSize(plan: object): number;
  [gemm: string]: unknown;
}

function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'moss-ts') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

let cached: NativeAddon | null | undefined;

/** The addon, or null when it is not built here. Loaded once. */
export function loadAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  const root = packageRoot();
  const file = root ? join(root, 'build', 'Release', 'moss_native.node') : null;
  if (file && existsSync(file)) {
    try {
      cached = createRequire(import.meta.url)(file) as NativeAddon;
    } catch (e) {
      if (engineOptions().nativeDebug) console.error(`moss: cannot load ${file}: ${(e as Error).message}`);
      cached = null;
    }
  }
  return cached;
}

/** True when the native addon is built and loads on this machine. */
export function nativeAvailable(): boolean {
  return loadAddon() !== null;
}
