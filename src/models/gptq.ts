/**
 * MOSS GPTQ checkpoints (moss-moon-003-sft-int4 / -int8): each quantized Linear `p` is stored as
 * `p.qweight`, `p.qzeros`, `p.scales`, `p.g_idx` (+ `p.bias`), in the layout of MOSS's
 * models/quantization.py QuantLinear.pack (GPTQ-for-LLaMa / AutoGPTQ "old" format):
 *   qweight (K * wbits / 32, N) int32 — packed along the in-features: row i, bits wbits*j hold k = i*(32/wbits) + j
 *   qzeros  (G, N * wbits / 32)  int32 — packed along the out-features, storing zero - 1
 *   scales  (G, N) f16;  g_idx (K) int32/int64 — the group of each input feature (act-order permutes it)
 *   W[n, k] = scales[g_idx[k], n] * (q[k, n] - (stored_zero[g_idx[k], n] + 1))
 * `dequantizeGptq` computes exactly that (f32; exact, as the PyTorch forward in f32). `gptqToGgml`
 * repacks into the engine's q8_0/q4_0 blocks by dequantizing and re-quantizing along K: q8_0 keeps
 * ~8 bits per 32 values (error <= scale/254 of each block, far below the GPTQ 4-bit step); q4_0 from
 * int4 GPTQ adds a second rounding (groups of 32 with a symmetric scale do not align with GPTQ's
 * asymmetric groups of 128), about doubling the weight error — prefer q8_0 or f32 for accuracy.
 * `gptqSource` wraps a WeightSource so that loaders see `p.weight` views instead of the four parts.
 * Deliberately does not: run GPTQ quantization (calibration), or compute on the packed layout directly.
 */
import type { View } from '../backends/backend.js';
import { f16ToF32 } from '../backends/dtype.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../backends/ref/quant.js';
import type { WeightSource } from './weights.js';

/** The four parts of one GPTQ Linear (views as the checkpoint reader gives them). */
export interface GptqParts {
  readonly qweight: View;
  readonly qzeros: View;
  readonly scales: View;
  /** null: the default g_idx[k] = floor(k / groupsize). */
  readonly gIdx: View | null;
}

function bytesOf(v: View): DataView {
  return new DataView(v.storage.buffer, v.storage.byteOffset);
}

/** Element i (row-major) of a contiguous view as a number, for the dtypes GPTQ files use. */
function reader(v: View, what: string): (i: number) => number {
  let acc = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    if (v.shape[d] !== 1 && v.strides[d] !== acc) throw new Error(`gptq: ${what} is not contiguous`);
    acc *= v.shape[d];
  }
  const dv = bytesOf(v);
  const o = v.offset;
  switch (v.dtype) {
    case 'i32': return (i) => dv.getInt32((o + i) * 4, true);
    case 'i64': return (i) => Number(dv.getBigInt64((o + i) * 8, true));
    case 'f16': return (i) => f16ToF32(dv.getUint16((o + i) * 2, true));
    case 'f32': return (i) => dv.getFloat32((o + i) * 4, true);
    default: throw new Error(`gptq: ${what} has dtype ${v.dtype}, expected i32/i64/f16/f32`);
  }
}

/** Infers (bits, K, N, G) from the shapes and checks they agree. */
export function gptqShape(p: GptqParts, name = 'gptq'): { bits: number; K: number; N: number; G: number } {
  const [qr, N] = p.qweight.shape;
  const [G, zc] = p.qzeros.shape;
  if (p.qweight.shape.length !== 2 || p.qzeros.shape.length !== 2 || p.scales.shape.length !== 2) throw new Error(`${name}: qweight, qzeros and scales must be 2-d`);
  const per = N / zc;
  const bits = 32 / per;
  if (bits !== 4 && bits !== 8 && bits !== 2) throw new Error(`${name}: qzeros [${p.qzeros.shape}] vs qweight [${p.qweight.shape}] implies ${bits}-bit weights (supported: 2, 4, 8)`);
  const K = qr * per;
  if (p.scales.shape[0] !== G || p.scales.shape[1] !== N) throw new Error(`${name}: scales [${p.scales.shape}] should be [${G}, ${N}]`);
  if (p.gIdx && (p.gIdx.shape.length !== 1 || p.gIdx.shape[0] !== K)) throw new Error(`${name}: g_idx [${p.gIdx.shape}] should be [${K}]`);
  return { bits, K, N, G };
}

/** W (N, K) row-major f32 (the Linear weight layout): exactly scale * (q - (stored_zero + 1)). */
export function dequantizeGptq(p: GptqParts, name = 'gptq'): Float32Array {
  const { bits, K, N, G } = gptqShape(p, name);
  const per = 32 / bits, mask = (1 << bits) - 1;
  const qw = reader(p.qweight, `${name}.qweight`), qz = reader(p.qzeros, `${name}.qzeros`), sc = reader(p.scales, `${name}.scales`);
  const gi = p.gIdx ? reader(p.gIdx, `${name}.g_idx`) : null;
  const groupsize = Math.ceil(K / G);
  const out = new Float32Array(N * K);
  // zero + 1 and scale per (group, n), unpacked once
  const zero = new Float32Array(G * N), scale = new Float32Array(G * N);
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      const word = qz(g * (N / per) + Math.floor(n / per)) >>> 0;
      zero[g * N + n] = ((word >>> (bits * (n % per))) & mask) + 1;
      scale[g * N + n] = sc(g * N + n);
    }
  }
  for (let k = 0; k < K; k++) {
    const g = gi ? gi(k) : Math.floor(k / groupsize);
    if (!(g >= 0 && g < G)) throw new Error(`${name}.g_idx[${k}] = ${g} is outside 0..${G - 1}`);
    const row = Math.floor(k / per), shift = bits * (k % per);
    for (let n = 0; n < N; n++) {
      const q = ((qw(row * N + n) >>> 0) >>> shift) & mask;
      out[n * K + k] = Math.fround(scale[g * N + n] * (q - zero[g * N + n]));
    }
  }
  return out;
}

/** GGML blocks of the dequantized weight (rows of K along the in-features; K % 32 == 0). */
export function gptqToGgml(p: GptqParts, type: 'q8_0' | 'q4_0', name = 'gptq'): Uint8Array {
  const w = dequantizeGptq(p, name);
  return type === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w);
}

/**
 * A WeightSource where every GPTQ Linear `p` (p.qweight present) also answers `p.weight` (N, K):
 * f32 (exact) by default, or q8_0/q4_0 blocks with `repack`. Dequantizes lazily, once per tensor.
 */
export function gptqSource(src: WeightSource, repack?: 'q8_0' | 'q4_0', groupsize?: number): WeightSource {
  const cache = new Map<string, { view: View; file: string }>();
  const partsOf = (name: string): { parts: GptqParts; file: string } | undefined => {
    if (!name.endsWith('.weight')) return undefined;
    const p = name.slice(0, -'.weight'.length);
    const qweight = src.get(`${p}.qweight`);
    if (!qweight) return undefined;
    const need = (s: string): View => {
      const got = src.get(`${p}.${s}`);
      if (!got) throw new Error(`${src.whereMissing(`${p}.${s}`)}: tensor '${p}.${s}' is missing (GPTQ layer ${p} has a qweight)`);
      return got.view;
    };
    return { parts: { qweight: qweight.view, qzeros: need('qzeros'), scales: need('scales'), gIdx: src.get(`${p}.g_idx`)?.view ?? null }, file: qweight.file };
  };
  return {
    origin: src.origin,
    has: (n) => src.has(n) || partsOf(n) !== undefined,
    whereMissing: (n) => src.whereMissing(n),
    nameOf: src.nameOf,
    get(n) {
      const direct = src.get(n);
      if (direct) return direct;
      const hit = cache.get(n);
      if (hit) return hit;
      const q = partsOf(n);
      if (!q) return undefined;
      const { K, N } = gptqShape(q.parts, n);
      if (groupsize !== undefined && groupsize > 0 && K % groupsize !== 0) {
        throw new Error(`${q.file}: tensor '${n.slice(0, -'.weight'.length)}.qweight': groupsize ${groupsize} does not divide the ${K} in-features`);
      }
      let data: Uint8Array;
      let dtype: View['dtype'] = 'f32';
      if (repack) {
        data = gptqToGgml(q.parts, repack, n);
        dtype = repack;
      } else {
        data = new Uint8Array(dequantizeGptq(q.parts, n).buffer);
      }
      const view: View = { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, byteLength: data.byteLength }, dtype, shape: [N, K], strides: [K, 1], offset: 0 };
      const r = { view, file: q.file };
      cache.set(n, r);
      return r;
    },
  };
}
