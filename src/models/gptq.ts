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
 * the model is held once. It needs f16 scales, K % 128 == 0 and one group per 128-block: groupsize a
 * multiple of 128 or -1, or act-order (desc_act) g_idx whose groups each hold a multiple of 128
 * in-features; those are repacked in group order and the Linear gathers its input in that order
 * (`inputOrder`; models/layers.ts), which is exact. Groups of 32 or 64 (and act-order groups of a
 * multiple of 32) go EXACTLY into gq4s/gq8s blocks (the same 128 values with a scale and zero per 32).
 * Other layouts (groups that are not whole 32-runs, e.g. groupsize 16) are refused by name; `moss
 * quantize` converts them through `gptqToGgml`, which dequantizes exactly and re-quantizes along K into
 * q8_0 / q4_0 (q8_0 error <= scale/254 per block; q4_0 adds a second rounding).
 * `gptqSource` wraps a WeightSource so that loaders see `p.weight` views instead of the four parts.
 * Deliberately does not: run GPTQ quantization (calibration).
 */
import { isContiguous, type View } from '../backends/backend.js';
import { f16ToF32, type GptqDType } from '../backends/dtype.js';
import { loadAddon } from '../backends/native/addon.js';
import { loadNativeBackend } from '../backends/native/index.js';
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
  if (!isContiguous(v)) throw new Error(`gptq: ${what} is not contiguous`);
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

/**
 * `dequantizeGptq`'s result, bit for bit, through the exact gq repack (native, threads) and the native
 * dequantizer (d * (q - z) in f32 is the exactly rounded product, as Math.fround of it), rows put back
 * in model order for act-order; `dequantizeGptq` itself where the addon is missing or gq cannot hold
 * the layout. What `moss quantize` reads a GPTQ folder with (16B: minutes instead of ~25 at load ~15).
 */
export function dequantizeGptqFast(p: GptqParts, name = 'gptq'): Float32Array {
  const nb = loadNativeBackend();
  const { bits, K, N } = gptqShape(p, name);
  if (!nb || (bits !== 4 && bits !== 8) || typeof gqLayout(p, name) === 'string') return dequantizeGptq(p, name);
  const { dtype, data, order } = repackGptq(p, name);
  const out = new Float32Array(N * K);
  const flat = (buffer: ArrayBuffer, byteOffset: number, byteLength: number, dt: View['dtype']): View =>
    ({ storage: { buffer, byteOffset, byteLength }, dtype: dt, shape: [N * K], strides: [1], offset: 0 });
  nb.dequantize(flat(out.buffer, 0, out.byteLength, 'f32'), flat(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength, dtype));
  if (order) {
    const row = new Float32Array(K);
    for (let n = 0; n < N; n++) {
      const r = out.subarray(n * K, (n + 1) * K);
      row.set(r);
      for (let j = 0; j < K; j++) r[order[j]] = row[j];
    }
  }
  return out;
}

/** GGML blocks of the dequantized weight (rows of K along the in-features; K % 32 == 0). */
export function gptqToGgml(p: GptqParts, type: 'q8_0' | 'q4_0', name = 'gptq'): Uint8Array {
  const w = dequantizeGptqFast(p, name);
  return type === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w);
}

/** How one GPTQ Linear maps onto gq blocks of 128 in-features. */
export interface GqLayout {
  /**
   * false: gq4/gq8 blocks, `groups` holds the GPTQ group of each 128-block; true: gq4s/gq8s blocks (a
   * scale and zero per 32 values), `groups` holds the group of each 32-run of the blocks.
   */
  readonly sub: boolean;
  readonly groups: Int32Array;
  /**
   * null: block b holds in-features 128 b .. 128 b + 127. Act-order (desc_act) checkpoints: the
   * in-features sorted by group (stable), so block b holds order[128 b .. 128 b + 127] and the Linear
   * multiplies x[..., order] (every product scale * (q - zero) * x is unchanged).
   */
  readonly order: Int32Array | null;
}

/**
 * The gq layout of one GPTQ Linear, or why it cannot be repacked exactly (the reason names the field:
 * a group whose in-features are not a multiple of 32 — groupsize 16 —, scales not f16, ...). Groups of
 * 128 (or more) give gq4/gq8 blocks; groups of 32 or 64 (or act-order groups of a multiple of 32, not
 * all of 128) the gq4s/gq8s blocks, 8 bytes more per 128 values.
 */
export function gqLayout(p: GptqParts, name = 'gptq'): GqLayout | string {
  const { K, G } = gptqShape(p, name);
  if (K % 128 !== 0) return `${K} in-features are not a multiple of 128`;
  if (p.scales.dtype !== 'f16') return `scales are ${p.scales.dtype}, not f16`;
  if (p.qweight.dtype !== 'i32' || p.qzeros.dtype !== 'i32') return 'qweight/qzeros are not int32';
  const groupsize = Math.ceil(K / G);
  const gi = p.gIdx ? reader(p.gIdx, `${name}.g_idx`) : (k: number) => Math.floor(k / groupsize);
  const g = new Int32Array(K);
  const count = new Int32Array(G);
  let sorted = true;
  for (let k = 0; k < K; k++) {
    const v = gi(k);
    if (!(Number.isInteger(v) && v >= 0 && v < G)) throw new Error(`${name}.g_idx[${k}] = ${v} is outside 0..${G - 1}`);
    g[k] = v;
    count[v]++;
    if (k > 0 && v < g[k - 1]) sorted = false;
  }
  /** The group of each run of `size` values, or null where a run spans two groups. */
  const runs = (at: (k: number) => number, size: number): Int32Array | null => {
    const out = new Int32Array(K / size);
    for (let b = 0; b < K / size; b++) {
      out[b] = at(b * size);
      for (let k = b * size + 1; k < b * size + size; k++) if (at(k) !== out[b]) return null;
    }
    return out;
  };
  const plain = runs((k) => g[k], 128);
  if (plain) return { sub: false, groups: plain, order: null };
  const plain32 = runs((k) => g[k], 32);
  if (plain32) return { sub: true, groups: plain32, order: null };
  // act-order: the in-features sorted by group (counting sort, stable), if every group fills whole 32-runs
  const odd = count.findIndex((c) => c % 32 !== 0);
  if (odd >= 0) {
    return sorted
      ? `groupsize ${groupsize} is not a multiple of 32 (group ${odd} has ${count[odd]} in-features)`
      : `g_idx puts ${count[odd]} in-features in group ${odd}, not a multiple of 32`;
  }
  const start = new Int32Array(G);
  for (let i = 1; i < G; i++) start[i] = start[i - 1] + count[i - 1];
  const order = new Int32Array(K);
  for (let k = 0; k < K; k++) order[start[g[k]]++] = k;
  const whole = count.every((c) => c % 128 === 0);
  return { sub: !whole, groups: runs((j) => g[order[j]], whole ? 128 : 32)!, order };
}

type RepackFn = (bits: number, K: number, N: number, G: number, qw: ArrayBuffer, qwo: number, qz: ArrayBuffer, qzo: number,
  sc: ArrayBuffer, sco: number, groups: Int32Array, dst: ArrayBuffer, dsto: number, order?: Int32Array) => void;

const byteAt = (v: View, elt: number): number => v.storage.byteOffset + v.offset * elt;

/**
 * The exact gq4/gq8 repack of one GPTQ Linear: N rows of K/128 blocks (f16 d, u16 z = stored zero + 1,
 * the q values; layouts in native/src/gptq/gptq.h), or gq4s/gq8s (f16 d and u8 stored zero per 32
 * values) for groups of 32 / 64, with `order` for act-order checkpoints (block b holds in-features
 * order[128 b ..]; see GqLayout). Native (threads; drops qweight's file pages) when the addon is built,
 * else in JS. Throws naming the layer when `gqLayout` refuses.
 */
export function repackGptq(p: GptqParts, name = 'gptq', native = true): { dtype: GptqDType; data: Uint8Array; order: Int32Array | null } {
  const { bits, K, N, G } = gptqShape(p, name);
  if (bits !== 4 && bits !== 8) throw new Error(`${name}: ${bits}-bit GPTQ has no native kernel (4 or 8)`);
  const layout = gqLayout(p, name);
  if (typeof layout === 'string') throw new Error(`${name}: cannot repack GPTQ exactly: ${layout}`);
  const { sub, groups, order } = layout;
  const dtype: GptqDType = bits === 4 ? (sub ? 'gq4s' : 'gq4') : (sub ? 'gq8s' : 'gq8');
  const bb = bits === 4 ? (sub ? 76 : 68) : (sub ? 140 : 132), per = 32 / bits, mask = (1 << bits) - 1, qo = sub ? 12 : 4;
  const data = new Uint8Array(N * (K / 128) * bb);
  const addon = native ? (loadAddon() as unknown as { gptqRepack?: RepackFn } | null) : null;
  const aligned = byteAt(p.qweight, 4) % 4 === 0 && byteAt(p.qzeros, 4) % 4 === 0 && byteAt(p.scales, 2) % 2 === 0;
  if (addon?.gptqRepack && aligned) {
    addon.gptqRepack(bits, K, N, G, p.qweight.storage.buffer, byteAt(p.qweight, 4), p.qzeros.storage.buffer, byteAt(p.qzeros, 4),
      p.scales.storage.buffer, byteAt(p.scales, 2), groups, data.buffer, 0, ...(order ? [order] : []));
    return { dtype, data, order };
  }
  const qw = new DataView(p.qweight.storage.buffer, byteAt(p.qweight, 4));
  const qz = new DataView(p.qzeros.storage.buffer, byteAt(p.qzeros, 4));
  const sc = new DataView(p.scales.storage.buffer, byteAt(p.scales, 2));
  const wr = (K / 128) * bb;
  const storedZero = (g: number, n: number) => (qz.getUint32((g * (N / per) + Math.floor(n / per)) * 4, true) >>> (bits * (n % per))) & mask;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < K / 128; b++) {
      const o = n * wr + b * bb;
      if (sub) {
        for (let s = 0; s < 4; s++) {
          const g = groups[b * 4 + s], d = sc.getUint16((g * N + n) * 2, true);
          data[o + 2 * s] = d & 255; data[o + 2 * s + 1] = d >> 8; data[o + 8 + s] = storedZero(g, n);
        }
      } else {
        const g = groups[b], z = storedZero(g, n) + 1, d = sc.getUint16((g * N + n) * 2, true);
        data[o] = d & 255; data[o + 1] = d >> 8; data[o + 2] = z & 255; data[o + 3] = z >> 8;
      }
      for (let t = 0; t < 128; t++) {
        const k = order ? order[b * 128 + t] : b * 128 + t;
        const q = (qw.getUint32((Math.floor(k / per) * N + n) * 4, true) >>> (bits * (k % per))) & mask;
        if (bits === 8) data[o + qo + t] = q;
        else if (t < 64) data[o + qo + t] |= q;
        else data[o + qo + t - 64] |= q << 4;
      }
    }
  }
  return { dtype, data, order };
}

/**
 * A WeightSource where every GPTQ Linear `p` (p.qweight present) also answers `p.weight` (N, K):
 * f32 (exact) by default; with `repack` 'gq', the exact gq4/gq8 (gq4s/gq8s for groups of 32 / 64) blocks
 * of the native GPTQ kernel, and for act-order layers the in-feature order through `inputOrder` (a layer
 * `gqLayout` refuses, e.g. groupsize 16, is refused naming the field and `moss quantize`; 2-bit layers become q4_0); or
 * q8_0/q4_0 blocks of the exact dequantization. Converts lazily, once per tensor. `descAct` (config
 * desc_act: true) makes a missing g_idx an error instead of the default floor(k / groupsize).
 */
export function gptqSource(src: WeightSource, repack?: 'gq' | 'q8_0' | 'q4_0', groupsize?: number, descAct = false): WeightSource {
  const cache = new Map<string, { view: View; file: string }>();
  const orders = new Map<string, Int32Array>();
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
  const get = (n: string): { view: View; file: string } | undefined => {
    const direct = src.get(n);
    if (direct) return direct;
    const hit = cache.get(n);
    if (hit) return hit;
    const q = partsOf(n);
    if (!q) return undefined;
    const p = n.slice(0, -'.weight'.length);
    const { bits, K, N } = gptqShape(q.parts, n);
    if (groupsize !== undefined && groupsize > 0 && K % groupsize !== 0) {
      throw new Error(`${q.file}: tensor '${p}.qweight': groupsize ${groupsize} does not divide the ${K} in-features`);
    }
    if (descAct && !q.parts.gIdx) throw new Error(`${src.whereMissing(`${p}.g_idx`)}: tensor '${p}.g_idx' is missing (desc_act: true, so the groups are not runs of groupsize)`);
    let data: Uint8Array;
    let dtype: View['dtype'] = 'f32';
    if (repack === 'gq' && bits !== 2) {
      const layout = gqLayout(q.parts, n);
      if (typeof layout === 'string') {
        throw new Error(`${q.file}: GPTQ layer '${p}': ${layout}, so it cannot run exactly on the GPTQ kernel (a scale per 32 in-features at the finest); \`moss quantize --type q8_0\` converts it from the exact dequantization`);
      }
      let order: Int32Array | null;
      ({ data, dtype, order } = repackGptq(q.parts, n));
      if (order) orders.set(n, order);
    } else if (repack) {
      const to = repack !== 'gq' ? repack : 'q4_0';
      data = gptqToGgml(q.parts, to, n);
      dtype = to;
    } else {
      data = new Uint8Array(dequantizeGptq(q.parts, n).buffer);
    }
    const view: View = { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, byteLength: data.byteLength }, dtype, shape: [N, K], strides: [K, 1], offset: 0 };
    const r = { view, file: q.file };
    cache.set(n, r);
    return r;
  };
  return {
    origin: src.origin,
    has: (n) => src.has(n) || partsOf(n) !== undefined,
    whereMissing: (n) => src.whereMissing(n),
    nameOf: src.nameOf,
    get,
    inputOrder(n) {
      if (!src.has(n) && !cache.has(n)) get(n);
      return orders.get(n) ?? src.inputOrder?.(n);
    },
  };
}
