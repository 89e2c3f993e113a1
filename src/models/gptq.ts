/**
 * MOSS GPTQ checkpoints (moss-moon-003-sft-int4 / -int8): each quantized Linear `p` is stored as
 * `p.qweight`, `p.qzeros`, `p.scales`, `p.g_idx` (+ `p.bias`), in the layout of MOSS's
 * models/quantization.py QuantLinear.pack (GPTQ-for-LLaMa / AutoGPTQ "old" format):
 *   qweight (K * wbits / 32, N) int32 — packed along the in-features: row i, bits wbits*j hold k = i*(32/wbits) + j
 *   qzeros  (G, N * wbits / 32)  int32 — packed along the out-features, storing zero - 1
 *   scales  (G, N) f16;  g_idx (K) int32/int64 — the group of each input feature (act-order permutes it)
 *   W[n, k] = scales[g_idx[k], n] * (q[k, n] - (stored_zero[g_idx[k], n] + 1))
 * `dequantizeGptq` computes exactly that (f32; exact, as the PyTorch forward in f32).
 * `repackGptq` (the load path) repacks it EXACTLY into the engine's gq4/gq8 blocks of 128 in-features
 * (f16 scale, integer zero, the same q; native/src/gptq/gptq.h), which the native GPTQ kernel multiplies
 * without ever dequantizing; the addon repacks in threads and drops the file pages under qweight, so
 * the model is held once. It needs f16 scales, K % 128 == 0 and one group per 128-block (groupsize a
 * multiple of 128 or -1, g_idx not act-order); otherwise `gptqSource` falls back to `gptqToGgml`,
 * which dequantizes and re-quantizes along K into q8_0 / q4_0 (q8_0 error <= scale/254 per block; q4_0
 * adds a second rounding, about doubling the weight error).
 * `gptqSource` wraps a WeightSource so that loaders see `p.weight` views instead of the four parts.
 * Deliberately does not: run GPTQ quantization (calibration), or permute act-order inputs at run time.
 */
import type { View } from '../backends/backend.js';
import { f16ToF32, type GptqDType } from '../backends/dtype.js';
import { loadAddon } from '../backends/native/addon.js';
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
 * The GPTQ group of each 128-block of in-features, or why the parts cannot be repacked exactly into
 * gq blocks (a block spanning two groups: act-order g_idx, or groupsize not a multiple of 128).
 */
export function gqBlockGroups(p: GptqParts, name = 'gptq'): Int32Array | string {
  const { K, G } = gptqShape(p, name);
  if (K % 128 !== 0) return `${K} in-features are not a multiple of 128`;
  if (p.scales.dtype !== 'f16') return `scales are ${p.scales.dtype}, not f16`;
  if (p.qweight.dtype !== 'i32' || p.qzeros.dtype !== 'i32') return 'qweight/qzeros are not int32';
  const gi = p.gIdx ? reader(p.gIdx, `${name}.g_idx`) : null;
  const groupsize = Math.ceil(K / G);
  const out = new Int32Array(K / 128);
  for (let b = 0; b < K / 128; b++) {
    const g0 = gi ? gi(b * 128) : Math.floor((b * 128) / groupsize);
    for (let k = b * 128; k < b * 128 + 128; k++) {
      const g = gi ? gi(k) : Math.floor(k / groupsize);
      if (!(g >= 0 && g < G)) throw new Error(`${name}.g_idx[${k}] = ${g} is outside 0..${G - 1}`);
      if (g !== g0) return `g_idx changes group inside in-features ${b * 128}..${b * 128 + 127} (act-order, or groupsize not a multiple of 128)`;
    }
    out[b] = g0;
  }
  return out;
}

type RepackFn = (bits: number, K: number, N: number, G: number, qw: ArrayBuffer, qwo: number, qz: ArrayBuffer, qzo: number,
  sc: ArrayBuffer, sco: number, groups: Int32Array, dst: ArrayBuffer, dsto: number) => void;

const byteAt = (v: View, elt: number): number => v.storage.byteOffset + v.offset * elt;

/**
 * The exact gq4/gq8 repack of one GPTQ Linear: N rows of K/128 blocks (f16 d, u16 z = stored zero + 1,
 * the q values; layouts in native/src/gptq/gptq.h). Native (threads; drops qweight's file pages) when
 * the addon is built, else in JS. Throws naming the layer when `gqBlockGroups` refuses.
 */
export function repackGptq(p: GptqParts, name = 'gptq', native = true): { dtype: GptqDType; data: Uint8Array } {
  const { bits, K, N, G } = gptqShape(p, name);
  if (bits !== 4 && bits !== 8) throw new Error(`${name}: ${bits}-bit GPTQ has no native kernel (4 or 8)`);
  const groups = gqBlockGroups(p, name);
  if (typeof groups === 'string') throw new Error(`${name}: cannot repack GPTQ exactly: ${groups}`);
  const dtype: GptqDType = bits === 4 ? 'gq4' : 'gq8';
  const bb = bits === 4 ? 68 : 132, per = 32 / bits, mask = (1 << bits) - 1;
  const data = new Uint8Array(N * (K / 128) * bb);
  const addon = native ? (loadAddon() as unknown as { gptqRepack?: RepackFn } | null) : null;
  if (addon?.gptqRepack) {
    addon.gptqRepack(bits, K, N, G, p.qweight.storage.buffer, byteAt(p.qweight, 4), p.qzeros.storage.buffer, byteAt(p.qzeros, 4),
      p.scales.storage.buffer, byteAt(p.scales, 2), groups, data.buffer, 0);
    return { dtype, data };
  }
  const qw = new DataView(p.qweight.storage.buffer, byteAt(p.qweight, 4));
  const qz = new DataView(p.qzeros.storage.buffer, byteAt(p.qzeros, 4));
  const sc = new DataView(p.scales.storage.buffer, byteAt(p.scales, 2));
  const wr = (K / 128) * bb;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < K / 128; b++) {
      const g = groups[b], o = n * wr + b * bb;
      const z = ((qz.getUint32((g * (N / per) + Math.floor(n / per)) * 4, true) >>> (bits * (n % per))) & mask) + 1;
      const d = sc.getUint16((g * N + n) * 2, true);
      data[o] = d & 255; data[o + 1] = d >> 8; data[o + 2] = z & 255; data[o + 3] = z >> 8;
      for (let t = 0; t < 128; t++) {
        const k = b * 128 + t;
        const q = (qw.getUint32((Math.floor(k / per) * N + n) * 4, true) >>> (bits * (k % per))) & mask;
        if (bits === 8) data[o + 4 + t] = q;
        else if (t < 64) data[o + 4 + t] |= q;
        else data[o + 4 + t - 64] |= q << 4;
      }
    }
  }
  return { dtype, data };
}

/**
 * A WeightSource where every GPTQ Linear `p` (p.qweight present) also answers `p.weight` (N, K):
 * f32 (exact) by default; with `repack` 'gq', the exact gq4/gq8 blocks of the native GPTQ kernel (layers
 * `gqBlockGroups` refuses, e.g. act-order, fall back to q4_0 (int4) / q8_0 (int8) re-quantization);
 * or q8_0/q4_0 blocks. Converts lazily, once per tensor.
 */
export function gptqSource(src: WeightSource, repack?: 'gq' | 'q8_0' | 'q4_0', groupsize?: number): WeightSource {
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
      const gq = repack === 'gq' && gptqShape(q.parts, n).bits !== 2 && typeof gqBlockGroups(q.parts, n) !== 'string';
      if (gq) {
        ({ data, dtype } = repackGptq(q.parts, n));
      } else if (repack) {
        const to = repack !== 'gq' ? repack : gptqShape(q.parts, n).bits === 8 ? 'q8_0' : 'q4_0';
        data = gptqToGgml(q.parts, to, n);
        dtype = to;
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
