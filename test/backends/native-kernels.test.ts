/**
 * Native backend kernels against plain TypeScript loops: memory (alloc/free/mmap), copy/cast,
 * fill, dequantize, unary, binary, where, reductions, indexing, the fused kernels and matmul, on
 * odd sizes (1, 3, 7, 33, 65) and non-contiguous views, under every SIMD level (scalar, avx2,
 * avx512: forced in-process with setNativeIsa, and once through MOSS_NATIVE_ISA in a child).
 * Skips when the addon is not built.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, BinaryOp, UnaryOp } from '../../src/backends/backend.js';
import { f32ToF16, type DType } from '../../src/backends/dtype.js';
import { loadNativeBackend, mapFile, nativeAvailable, setNativeIsa, unmapFile } from '../../src/backends/native/index.js';
import { close, erf, makeView, outView, rand, read, readElem, roundTo, shapeSize, type Layout } from './native-helpers.js';

const available = nativeAvailable();
const skip = available ? false : 'native addon not built (npm run build:native)';
const ISAS = ['scalar', 'avx2', 'avx512'] as const;
const SIZES = [1, 3, 7, 33, 65];
const LAYOUTS: Layout[] = ['contig', 'strided', 'transposed'];

const SQRT2PI = Math.sqrt(2 * Math.PI);
const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const C = Math.sqrt(2 / Math.PI);
const UNARY: Record<UnaryOp, [(x: number) => number, number, number]> = {
  neg: [(x) => -x, -3, 3], exp: [Math.exp, -10, 10], log: [Math.log, 0.01, 5], sqrt: [Math.sqrt, 0, 5],
  rsqrt: [(x) => 1 / Math.sqrt(x), 0.01, 5], tanh: [Math.tanh, -4, 4], sigmoid: [sig, -12, 12],
  relu: [(x) => Math.max(x, 0), -2, 2], gelu: [(x) => x * phi(x), -7, 5],
  gelu_new: [(x) => 0.5 * x * (1 + Math.tanh(C * (x + 0.044715 * x ** 3))), -6, 5],
  silu: [(x) => x * sig(x), -12, 8], abs: [Math.abs, -3, 3], sin: [Math.sin, -4, 4], cos: [Math.cos, -4, 4],
  square: [(x) => x * x, -3, 3], recip: [(x) => 1 / x, 0.1, 3],
  gelu_grad: [(x) => phi(x) + x * Math.exp(-0.5 * x * x) / SQRT2PI, -7, 5],
  gelu_new_grad: [(x) => {
    const t = Math.tanh(C * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x);
  }, -6, 5],
  silu_grad: [(x) => sig(x) * (1 + x * (1 - sig(x))), -12, 8],
};
const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  pow: (a, b) => Math.pow(Math.abs(a), b), maximum: Math.max, minimum: Math.min,
  eq: (a, b) => +(a === b), ne: (a, b) => +(a !== b), lt: (a, b) => +(a < b), le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b), ge: (a, b) => +(a >= b),
};

function suite(isa: (typeof ISAS)[number]): void {
  describe(`native kernels (${isa})`, { skip }, () => {
    let be: Backend;
    it('selects the level', () => {
      be = loadNativeBackend()!;
      const got = setNativeIsa(isa);
      assert.ok(['scalar', 'avx2', 'avx512'].includes(got));
      if (isa === 'scalar') assert.equal(got, 'scalar');
    });

    it('copy: every dtype pair, odd sizes, non-contiguous both sides', () => {
      const dts: DType[] = ['f32', 'f16', 'bf16', 'i32', 'i64', 'bool'];
      for (const n of [3, 65]) {
        const shape = [n, 3];
        const src = rand(n * 3, n, -40, 40).map((x, i) => (i % 5 === 0 ? 0 : x));
        for (const sd of dts) for (const od of dts) for (const lay of ['contig', 'transposed'] as Layout[]) {
          const a = makeView(be, src, shape, sd, lay);
          const o = makeView(be, new Array(n * 3).fill(0), shape, od, lay === 'contig' ? 'strided' : 'contig');
          be.copy(o, a);
          const want = read(a).map((x) => roundTo(od, x));
          close(read(o), want, 0, 0, `copy ${sd}->${od} ${lay} n=${n}`);
        }
      }
    });

    it('fill and dequantize q8_0 / q4_0', () => {
      for (const dt of ['f32', 'f16', 'i64', 'bool'] as DType[]) {
        const o = makeView(be, new Array(33).fill(0), [3, 11], dt, 'strided');
        be.fill(o, 2.5);
        close(read(o), new Array(33).fill(roundTo(dt, 2.5)), 0, 0, `fill ${dt}`);
      }
      for (const q of ['q8_0', 'q4_0'] as const) {
        const nb = 3, bb = q === 'q8_0' ? 34 : 18;
        const s = be.alloc(nb * bb);
        const u8 = new Uint8Array(s.buffer);
        const want: number[] = [];
        for (let b = 0; b < nb; b++) {
          const d = 0.01 * (b + 1) * (b === 1 ? -1 : 1);
          new DataView(s.buffer).setUint16(b * bb, f32ToF16(d), true);
          const dq = readElem({ buffer: s.buffer, byteOffset: b * bb, byteLength: 2 }, 'f16', 0);
          const vals = new Array<number>(32);
          for (let j = 0; j < (q === 'q8_0' ? 32 : 16); j++) {
            const byte = (b * 37 + j * 11) & 255;
            u8[b * bb + 2 + j] = byte;
            if (q === 'q8_0') vals[j] = ((byte << 24) >> 24) * dq;
            else { vals[j] = ((byte & 15) - 8) * dq; vals[j + 16] = ((byte >> 4) - 8) * dq; }
          }
          want.push(...vals.map((v) => Math.fround(v)));
        }
        const o = outView(be, [nb * 32]);
        be.dequantize(o, { storage: s, dtype: q, shape: [nb * 32], strides: [1], offset: 0 });
        close(read(o), want, 1e-7, 0, q);
      }
    });

    it('unary: every op on odd sizes and layouts, f32 and bf16', () => {
      for (const [op, [f, lo, hi]] of Object.entries(UNARY) as [UnaryOp, [(x: number) => number, number, number]][]) {
        for (const n of SIZES) for (const lay of LAYOUTS) {
          const a = makeView(be, rand(n * 2, n + op.length, lo, hi), [2, n], 'f32', lay);
          const o = outView(be, [2, n]);
          be.unary(op, o, a);
          close(read(o), read(a).map(f), 3e-6, 2e-7, `${op} n=${n} ${lay}`);
        }
        const a = makeView(be, rand(65, 7, lo, hi), [65], 'bf16', 'strided');
        const o = outView(be, [65], 'bf16');
        be.unary(op, o, a);
        close(read(o), read(a).map((x) => roundTo('bf16', f(x))), 8e-3, 1e-6, `${op} bf16`);
      }
    });

    it('binary: every op, broadcasting by stride 0, mixed dtypes', () => {
      for (const [op, f] of Object.entries(BINARY) as [BinaryOp, (a: number, b: number) => number][]) {
        for (const n of SIZES) for (const lay of LAYOUTS) {
          const av = rand(3 * n, n, 0.1, 2).map((x, i) => (i % 4 === 0 ? 1 : x));
          const a = makeView(be, av, [3, n], 'f32', lay);
          const bRow = makeView(be, rand(n, n + 9, 0.1, 2).map((x, i) => (i % 3 === 0 ? 1 : x)), [n], 'f32');
          const b = { ...bRow, shape: [3, n], strides: [0, 1] }; // broadcast over rows
          const o = outView(be, [3, n]);
          be.binary(op, o, a, b);
          const ra = read(a), rb = read(b);
          close(read(o), ra.map((x, i) => Math.fround(f(x, rb[i]))), 2e-7, 0, `${op} n=${n} ${lay}`);
          const s = { ...bRow, shape: [3, n], strides: [0, 0] }; // scalar
          be.binary(op, o, s, a);
          close(read(o), ra.map((x) => Math.fround(f(rb[0], x))), 2e-7, 0, `${op} scalar-a n=${n}`);
        }
      }
      const a = makeView(be, [1, 2, 3, 4, 5], [5], 'f16', 'strided');
      const b = makeView(be, [5, 4, 3, 2, 1], [5], 'i32');
      const o = outView(be, [5], 'bool');
      be.binary('ge', o, a, b);
      assert.deepEqual(read(o), [0, 0, 1, 1, 1]);
    });

    it('where', () => {
      const n = 33;
      const c = makeView(be, rand(n, 3).map((x) => +(x > 0)), [n], 'bool', 'strided');
      const a = makeView(be, rand(n, 4), [n], 'f32'), b = makeView(be, rand(n, 5), [n], 'f16');
      const o = outView(be, [n]);
      be.where(o, c, a, b);
      const rc = read(c), ra = read(a), rb = read(b);
      close(read(o), rc.map((t, i) => (t ? ra[i] : rb[i])), 0, 0, 'where');
    });

    it('reduce sum/max/min over axis sets (keepdim) and argmax/argmin', () => {
      const shape = [3, 7, 5];
      for (const lay of LAYOUTS) {
        const a = makeView(be, rand(105, 11, -5, 5), shape, 'f32', lay);
        const ra = read(a);
        for (const axes of [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]) {
          const oshape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          for (const op of ['sum', 'max', 'min'] as const) {
            const o = outView(be, oshape);
            be.reduce(op, o, a, axes);
            const want = new Array<number>(shapeSize(oshape)).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
            for (let i = 0; i < 3; i++) for (let j = 0; j < 7; j++) for (let k = 0; k < 5; k++) {
              const idx = [i, j, k].map((x, d) => (axes.includes(d) ? 0 : x));
              const oi = (idx[0] * oshape[1] + idx[1]) * oshape[2] + idx[2];
              const x = ra[(i * 7 + j) * 5 + k];
              want[oi] = op === 'sum' ? want[oi] + x : op === 'max' ? Math.max(want[oi], x) : Math.min(want[oi], x);
            }
            close(read(o), want.map(Math.fround), 1e-6, 1e-6, `${op} ${axes} ${lay}`);
          }
        }
        for (const axis of [0, 1, 2]) for (const op of ['argmax', 'argmin'] as const) {
          const oshape = shape.map((d, i) => (i === axis ? 1 : d));
          const o = outView(be, oshape, 'i32');
          be.argreduce(op, o, a, axis);
          const got = read(o);
          for (let oi = 0; oi < got.length; oi++) {
            const base = [Math.floor(oi / (oshape[1] * oshape[2])), Math.floor(oi / oshape[2]) % oshape[1], oi % oshape[2]];
            let best = 0, bv = NaN;
            for (let t = 0; t < shape[axis]; t++) {
              const idx = [...base];
              idx[axis] = t;
              const x = ra[(idx[0] * 7 + idx[1]) * 5 + idx[2]];
              if (t === 0 || (op === 'argmax' ? x > bv : x < bv)) { best = t; bv = x; }
            }
            assert.equal(got[oi], best, `${op} axis ${axis}`);
          }
        }
      }
    });

    it('indexSelect, gather, scatterAdd', () => {
      const a = makeView(be, rand(7 * 5, 2), [7, 5], 'f32', 'transposed');
      const ra = read(a);
      const idx = makeView(be, [6, 0, 3, 3], [4], 'i64');
      const o = outView(be, [4, 5]);
      be.indexSelect(o, a, 0, idx);
      close(read(o), [6, 0, 3, 3].flatMap((r) => ra.slice(r * 5, r * 5 + 5)), 0, 0, 'indexSelect 0');
      const o1 = outView(be, [7, 4]);
      be.indexSelect(o1, a, 1, makeView(be, [4, 1, 1, 0], [4], 'i32'));
      close(read(o1), ra.flatMap((_, i) => (i % 5 === 0 ? [4, 1, 1, 0].map((c) => ra[i + c]) : [])), 0, 0, 'indexSelect 1');
      const gi = [0, 4, 2, 1, 3, 3, 0];
      const g = outView(be, [7, 1]);
      be.gather(g, a, 1, makeView(be, gi, [7, 1], 'i32', 'strided'));
      close(read(g), gi.map((c, r) => ra[r * 5 + c]), 0, 0, 'gather');
      const acc = makeView(be, new Array(15).fill(1), [3, 5], 'f32');
      const si = [2, 0, 2, 1, 2];
      const src = makeView(be, [1, 2, 3, 4, 5], [1, 5], 'f32');
      be.scatterAdd(acc, 0, makeView(be, si, [1, 5], 'i64'), src);
      const want = new Array(15).fill(1);
      si.forEach((r, c) => (want[r * 5 + c] += c + 1));
      close(read(acc), want, 0, 0, 'scatterAdd');
    });

    it('softmax, logSoftmax, crossEntropy (+dlogits, ignore_index)', () => {
      for (const V of SIZES) {
        const x = makeView(be, rand(3 * V, V, -8, 8), [3, V], 'f32', 'strided');
        const rx = read(x);
        const rows = [0, 1, 2].map((r) => rx.slice(r * V, r * V + V));
        const lse = rows.map((r) => { const m = Math.max(...r); return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0)); });
        const o = outView(be, [3, V]), lo = outView(be, [3, V]);
        be.softmax!(o, x);
        be.logSoftmax!(lo, x);
        close(read(o), rows.flatMap((r, i) => r.map((v) => Math.exp(v - lse[i]))), 1e-5, 1e-7, `softmax ${V}`);
        close(read(lo), rows.flatMap((r, i) => r.map((v) => v - lse[i])), 1e-5, 1e-5, `logSoftmax ${V}`);
        const tg = [V - 1, -100, 0];
        const loss = outView(be, [3]), dl = outView(be, [3, V]);
        be.crossEntropy!(loss, dl, x, makeView(be, tg, [3], 'i32'), -100, 0.5);
        close(read(loss), tg.map((t, i) => (t === -100 ? 0 : lse[i] - rows[i][t])), 1e-5, 1e-5, `ce ${V}`);
        const wd = rows.flatMap((r, i) => r.map((v, j) => (tg[i] === -100 ? 0 : (Math.exp(v - lse[i]) - +(j === tg[i])) * 0.5)));
        close(read(dl), wd, 1e-5, 1e-6, `dlogits ${V}`);
      }
    });

    it('layerNorm / rmsNorm forward and backward', () => {
      for (const Cn of SIZES) {
        const N = 4, eps = 1e-5;
        const x = makeView(be, rand(N * Cn, Cn, -2, 3), [N, Cn], 'f32', 'strided');
        const w = makeView(be, rand(Cn, Cn + 1, 0.5, 1.5), [Cn], 'bf16');
        const b = makeView(be, rand(Cn, Cn + 2), [Cn]);
        const dy = makeView(be, rand(N * Cn, Cn + 3), [N, Cn]);
        const rx = read(x), rw = read(w), rb = read(b), rdy = read(dy);
        const y = outView(be, [N, Cn]), mean = outView(be, [N]), rstd = outView(be, [N]);
        be.layerNorm!(y, mean, rstd, x, w, b, eps);
        const wy: number[] = [], wm: number[] = [], wr: number[] = [], wdx: number[] = [];
        const wdw = new Array(Cn).fill(0.25), wdb = new Array(Cn).fill(0.25);
        for (let r = 0; r < N; r++) {
          const row = rx.slice(r * Cn, r * Cn + Cn), g = rdy.slice(r * Cn, r * Cn + Cn);
          const m = row.reduce((s, v) => s + v, 0) / Cn;
          const s = 1 / Math.sqrt(row.reduce((a, v) => a + (v - m) ** 2, 0) / Cn + eps);
          wm.push(m); wr.push(s);
          const xh = row.map((v) => (v - m) * s), gh = g.map((v, j) => v * rw[j]);
          const mg = gh.reduce((a, v) => a + v, 0) / Cn, mgx = gh.reduce((a, v, j) => a + v * xh[j], 0) / Cn;
          xh.forEach((v, j) => { wy.push(v * rw[j] + rb[j]); wdx.push(s * (gh[j] - mg - v * mgx)); wdw[j] += g[j] * v; wdb[j] += g[j]; });
        }
        close(read(y), wy, 1e-5, 1e-5, `ln y ${Cn}`);
        close(read(mean), wm, 1e-5, 1e-6, `ln mean ${Cn}`);
        close(read(rstd), wr, 1e-5, 1e-5, `ln rstd ${Cn}`);
        const dx = outView(be, [N, Cn]);
        const dw = makeView(be, new Array(Cn).fill(0.25), [Cn]), db = makeView(be, new Array(Cn).fill(0.25), [Cn]);
        be.layerNormBackward!(dx, dw, db, dy, x, mean, rstd, w);
        close(read(dx), wdx, 1e-4, 1e-5, `ln dx ${Cn}`);
        close(read(dw), wdw, 1e-5, 1e-5, `ln dw ${Cn}`);
        close(read(db), wdb, 1e-5, 1e-5, `ln db ${Cn}`);
        // rms
        const yr = outView(be, [N, Cn]), rs = outView(be, [N]);
        be.rmsNorm!(yr, rs, x, w, eps);
        const ry: number[] = [], rr: number[] = [], rdx: number[] = [], rdw = new Array(Cn).fill(0);
        for (let r = 0; r < N; r++) {
          const row = rx.slice(r * Cn, r * Cn + Cn), g = rdy.slice(r * Cn, r * Cn + Cn);
          const s = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / Cn + eps);
          rr.push(s);
          const gh = g.map((v, j) => v * rw[j]);
          const mgx = gh.reduce((a, v, j) => a + v * row[j] * s, 0) / Cn;
          row.forEach((v, j) => { ry.push(v * s * rw[j]); rdx.push(s * (gh[j] - v * s * mgx)); rdw[j] += g[j] * v * s; });
        }
        close(read(yr), ry, 1e-5, 1e-5, `rms y ${Cn}`);
        close(read(rs), rr, 1e-5, 1e-5, `rms rstd ${Cn}`);
        const dxr = outView(be, [N, Cn]), dwr = outView(be, [Cn]);
        be.rmsNormBackward!(dxr, dwr, dy, x, rs, w);
        close(read(dxr), rdx, 1e-4, 1e-5, `rms dx ${Cn}`);
        close(read(dwr), rdw, 1e-5, 1e-5, `rms dw ${Cn}`);
      }
    });

    it('rope: interleaved and half-split, partial rotary dim, inverse', () => {
      const [B, T, H, D] = [2, 3, 2, 10];
      const x = makeView(be, rand(B * T * H * D, 5, -1, 1), [B, T, H, D]);
      const pos = makeView(be, [0, 1, 2, 7, 8, 900], [B, T], 'i32');
      const rx = read(x), rp = read(pos);
      for (const interleaved of [true, false]) for (const rotaryDim of [10, 6]) for (const inverse of [false, true]) {
        const o = outView(be, [B, T, H, D]);
        be.rope!(o, x, pos, { rotaryDim, interleaved, base: 10000, inverse });
        const want = [...rx];
        for (let bt = 0; bt < B * T; bt++) for (let h = 0; h < H; h++) {
          const base = (bt * H + h) * D;
          for (let i = 0; i < rotaryDim / 2; i++) {
            const ang = (inverse ? -1 : 1) * rp[bt] * Math.pow(10000, -2 * i / rotaryDim);
            const [i0, i1] = interleaved ? [2 * i, 2 * i + 1] : [i, i + rotaryDim / 2];
            const a = rx[base + i0], b = rx[base + i1];
            want[base + i0] = a * Math.cos(ang) - b * Math.sin(ang);
            want[base + i1] = a * Math.sin(ang) + b * Math.cos(ang);
          }
        }
        close(read(o), want, 1e-5, 1e-6, `rope ${interleaved} ${rotaryDim} ${inverse}`);
      }
    });

    it('attention: causal with pastLen/kvLen, GQA, strided KV cache, f16 k/v', () => {
      const [B, H, Hkv, Tq, Tk, D] = [2, 4, 2, 3, 7, 33];
      for (const kvd of ['f32', 'f16'] as DType[]) for (const causal of [true, false]) {
        const q = makeView(be, rand(B * H * Tq * D, 1), [B, H, Tq, D]);
        const k = makeView(be, rand(B * Hkv * Tk * D, 2), [B, Hkv, Tk, D], kvd, 'strided');
        const v = makeView(be, rand(B * Hkv * Tk * D, 3), [B, Hkv, Tk, D], kvd);
        const p = { scale: 1 / Math.sqrt(D), causal, pastLen: [2, 0], kvLen: [5, 7] };
        const o = outView(be, [B, H, Tq, D]);
        be.attention!(o, q, k, v, p);
        const rq = read(q), rk = read(k), rv = read(v), want: number[] = [];
        for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
          const hk = Math.floor(h / (H / Hkv));
          let lim = p.kvLen[b];
          if (causal) lim = Math.min(lim, p.pastLen[b] + i + 1);
          const qo = ((b * H + h) * Tq + i) * D;
          const s: number[] = [];
          for (let j = 0; j < lim; j++) {
            const ko = ((b * Hkv + hk) * Tk + j) * D;
            let d = 0;
            for (let t = 0; t < D; t++) d += rq[qo + t] * rk[ko + t];
            s.push(d * p.scale);
          }
          const m = Math.max(...s), e = s.map((x) => Math.exp(x - m)), z = e.reduce((a, x) => a + x, 0);
          for (let t = 0; t < D; t++) {
            let acc = 0;
            for (let j = 0; j < lim; j++) acc += (e[j] / z) * rv[((b * Hkv + hk) * Tk + j) * D + t];
            want.push(acc);
          }
        }
        close(read(o), want, 1e-5, 1e-6, `attention ${kvd} causal=${causal}`);
      }
    });

    it('adamw (torch semantics) and matmul (batched, transposed, broadcast batch)', () => {
      const n = 65;
      const p0 = rand(n, 1), g = rand(n, 2), m0 = rand(n, 3, -0.1, 0.1), v0 = rand(n, 4, 0, 0.1);
      const P = makeView(be, p0, [n]), G = makeView(be, g, [n]), M = makeView(be, m0, [n]), Vv = makeView(be, v0, [n]);
      const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3 };
      be.adamw!(P, G, M, Vv, hp);
      const wm = m0.map((m, i) => 0.9 * m + 0.1 * g[i]), wv = v0.map((v, i) => 0.999 * v + 0.001 * g[i] ** 2);
      const wp = p0.map((p, i) => p * (1 - hp.lr * hp.weightDecay) -
        hp.lr * (wm[i] / (1 - 0.9 ** 3)) / (Math.sqrt(wv[i] / (1 - 0.999 ** 3)) + hp.eps));
      close(read(M), wm, 1e-6, 1e-8, 'adamw m');
      close(read(Vv), wv, 1e-6, 1e-9, 'adamw v');
      close(read(P), wp, 1e-6, 1e-7, 'adamw p');
      for (const [Bn, Mn, Kn, Nn] of [[2, 3, 7, 5], [1, 1, 33, 65], [3, 65, 7, 1]]) {
        for (const lay of ['contig', 'transposed'] as Layout[]) for (const bd of ['f32', 'bf16'] as DType[]) {
          const a = makeView(be, rand(Bn * Mn * Kn, Kn), [Bn, Mn, Kn], 'f32', lay);
          const bm = makeView(be, rand(Kn * Nn, Nn), [Kn, Nn], bd, 'transposed');
          const b = { ...bm, shape: [Bn, Kn, Nn], strides: [0, ...bm.strides] };
          const o = outView(be, [Bn, Mn, Nn]);
          be.matmul(o, a, b);
          const ra = read(a), rb = read(bm), want: number[] = [];
          for (let bi = 0; bi < Bn; bi++) for (let i = 0; i < Mn; i++) for (let j = 0; j < Nn; j++) {
            let s = 0;
            for (let t = 0; t < Kn; t++) s += ra[(bi * Mn + i) * Kn + t] * rb[t * Nn + j];
            want.push(s);
          }
          close(read(o), want, 1e-5, 1e-5, `matmul ${Bn}x${Mn}x${Kn}x${Nn} ${lay} ${bd}`);
        }
      }
    });
  });
}

describe('native memory', { skip }, () => {
  it('alloc is zeroed and 64-byte aligned; free detaches, is idempotent; reads of freed storage throw', () => {
    const be = loadNativeBackend()!;
    for (const n of [1, 100, 3 << 20]) {
      const s = be.alloc(n);
      assert.equal(s.buffer.byteLength, n);
      assert.ok(new Uint8Array(s.buffer).every((x) => x === 0));
      be.free(s);
      assert.equal(s.buffer.byteLength, 0);
      assert.equal(s.disposed, true);
      be.free(s);
      const o = outView(be, [1]);
      assert.throws(() => be.copy(o, { storage: s, dtype: 'f32', shape: [1], strides: [1], offset: 0 }), /past its ArrayBuffer/);
    }
    const o = outView(be, [4]);
    assert.throws(() => be.fill({ ...o, shape: [2], strides: [5] }, 1), /past its ArrayBuffer/);
  });

  it('big blocks are reused across lengths of one size class, zero-filled and of the asked length', () => {
    const be = loadNativeBackend()!;
    // 3.87 MB and 4.0 MB (a batch padded to 944 then 976 rows of 1024 f32) share a class of 4.19 MB
    for (const [a, b] of [[944 * 4096, 976 * 4096], [976 * 4096, 944 * 4096], [70_000, 65_536]]) {
      const s = be.alloc(a);
      new Uint8Array(s.buffer).fill(7);
      be.free(s);
      const t = be.alloc(b);
      assert.equal(t.buffer.byteLength, b);
      const u = new Uint8Array(t.buffer);
      assert.ok(u.every((x) => x === 0), `reused block of ${b} bytes not zero-filled`);
      u.fill(9); // the whole asked length is writable
      be.free(t);
    }
  });

  it('mapFile maps a file copy-on-write; errors name the path; writes never reach the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moss-mmap-'));
    try {
      const f = join(dir, 'w.bin');
      writeFileSync(f, Buffer.from(new Float32Array([1, 2, 3, 4]).buffer));
      const s = mapFile(f);
      assert.deepEqual([...new Float32Array(s.buffer)], [1, 2, 3, 4]);
      const be = loadNativeBackend()!;
      const o = outView(be, [4]);
      be.unary('neg', o, { storage: s, dtype: 'f32', shape: [4], strides: [1], offset: 0 });
      assert.deepEqual(read(o), [-1, -2, -3, -4]);
      be.fill({ storage: s, dtype: 'f32', shape: [4], strides: [1], offset: 0 }, 7);
      new Float32Array(s.buffer)[0] = 9; // a plain JS write (as the ref backend does) must not fault
      assert.deepEqual([...new Float32Array(s.buffer)], [9, 7, 7, 7]);
      assert.deepEqual([...new Float32Array(Uint8Array.from(readFileSync(f)).buffer)], [1, 2, 3, 4], 'the file is untouched');
      unmapFile(s);
      unmapFile(s);
      assert.equal(s.buffer.byteLength, 0);
      assert.throws(() => mapFile(join(dir, 'missing.bin')), /missing\.bin/);
      assert.throws(() => mapFile(dir), /not a regular file/);
      // a file past one buffer's limit (sparse: no disk used) is refused cleanly, not a crash
      const big = join(dir, 'big.bin');
      writeFileSync(big, '');
      truncateSync(big, 5 * 2 ** 30);
      assert.throws(() => mapFile(big), /big\.bin: 5368709120 bytes is more than/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MOSS_NATIVE_ISA=scalar forces the portable kernels in a fresh process', () => {
    const mod = fileURLToPath(new URL('../../src/backends/native/index.js', import.meta.url));
    const code = `import(${JSON.stringify(mod)}).then((m) => { const b = m.loadNativeBackend(); ` +
      `const s = b.alloc(8); new Float32Array(s.buffer).set([1, -2]); b.unary('gelu', {storage: s, dtype: 'f32', ` +
      `shape: [2], strides: [1], offset: 0}, {storage: s, dtype: 'f32', shape: [2], strides: [1], offset: 0}); ` +
      `console.log(m.nativeIsa(), [...new Float32Array(s.buffer)].join(',')); })`;
    const out = execFileSync(process.execPath, ['-e', code], { env: { ...process.env, MOSS_NATIVE_ISA: 'scalar' } })
      .toString().trim().split(' ');
    assert.equal(out[0], 'scalar');
    close(out[1].split(',').map(Number), [1 * phi(1), -2 * phi(-2)], 1e-6, 1e-7, 'gelu in child');
  });
});

for (const isa of ISAS) suite(isa);
