/**
 * Conformance table, part two: indexing (indexSelect, gather, scatterAdd) and the fused kernels
 * (softmax, logSoftmax, layer/RMS norm fwd+bwd, rope, attention, crossEntropy, adamw). Same
 * shape as CASES in conformance-cases.ts: one entry per op/variant, run on ref and each backend.
 */
import type { Backend, View } from '../../src/backends/backend.js';
import type { DType } from '../../src/backends/dtype.js';
import { type Case, rand } from './conformance-cases.js';
import { type Layout, makeView, outView, type Rng } from './conformance-util.js';

export const FUSED_CASES: Case[] = [];
const add = (c: Case): void => {
  FUSED_CASES.push(c);
};
const FLOATS: DType[] = ['f32', 'f16', 'bf16'];
const idx = (b: Backend, rng: Rng, dt: DType, shape: number[], hi: number): View =>
  makeView(b, dt, shape, rng.ints(shape.reduce((a, c) => a * c, 1), 0, hi));

// --- indexing ---
for (const dt of ['f32', 'f16', 'bf16', 'i32', 'i64'] as DType[]) {
  for (const it of ['i32', 'i64'] as DType[]) {
    add({ name: `indexSelect ${dt} axis 0 idx ${it} (embedding rows, dups)`, run: (b, rng) => {
      const a = rand(b, rng, dt, [17, 33], { kind: 'padded', pad: 3, offset: 5 }, dt.startsWith('i') ? 'int' : 'normal');
      const i = idx(b, rng, it, [7], 17);
      const o = outView(b, dt, [7, 33]);
      b.indexSelect(o, a, 0, i);
      return [o];
    } });
  }
  add({ name: `indexSelect ${dt} axis 1 of transposed [5,65]`, run: (b, rng) => {
    const a = rand(b, rng, dt, [5, 65], { kind: 'permuted', perm: [1, 0] }, dt.startsWith('i') ? 'int' : 'normal');
    const i = idx(b, rng, 'i64', [9], 65);
    const o = outView(b, dt, [5, 9]);
    b.indexSelect(o, a, 1, i);
    return [o];
  } });
}
for (const axis of [0, 1]) {
  for (const dt of ['f32', 'bf16', 'i64'] as DType[]) {
    add({ name: `gather ${dt} axis ${axis} [7,9] index [5,4]`, run: (b, rng) => {
      const a = rand(b, rng, dt, [7, 9], { kind: 'permuted', perm: [1, 0] }, dt.startsWith('i') ? 'int' : 'normal');
      const i = idx(b, rng, 'i32', [5, 4], axis === 0 ? 7 : 9);
      const o = outView(b, dt, [5, 4]);
      b.gather(o, a, axis, i);
      return [o];
    } });
    add({ name: `scatterAdd ${dt} axis ${axis} into [6,9] (dups)`, run: (b, rng) => {
      const o = rand(b, rng, dt, [6, 9], { kind: 'contig' }, dt.startsWith('i') ? 'int' : 'normal');
      const i = idx(b, rng, 'i64', [4, 5], axis === 0 ? 6 : 9);
      const src = rand(b, rng, dt, [4, 5], { kind: 'padded', pad: 1, offset: 2 }, dt.startsWith('i') ? 'int' : 'normal');
      b.scatterAdd(o, axis, i, src);
      return [o];
    } });
  }
}

// --- softmax family ---
for (const op of ['softmax', 'logSoftmax'] as const) {
  for (const dt of FLOATS) {
    for (const shape of [[3, 65], [7, 129], [1, 1], [2, 3, 33]]) {
      add({ name: `${op} ${dt} ${shape}`, needs: op, run: (b, rng) => {
        const a = rand(b, rng, dt, shape);
        const o = outView(b, dt, shape);
        b[op]!(o, a);
        return [o];
      } });
    }
  }
}

// --- norms ---
for (const dt of FLOATS) {
  for (const [R, D, affine] of [[7, 65, true], [3, 33, false], [1, 129, true]] as [number, number, boolean][]) {
    add({ name: `layerNorm fwd+bwd ${dt} rows ${R} dim ${D} affine=${affine}`, needs: 'layerNorm', run: (b, rng) => {
      const x = rand(b, rng, dt, [R, D]);
      const w = affine ? rand(b, rng, dt, [D]) : null;
      const bias = affine ? rand(b, rng, dt, [D]) : null;
      const y = outView(b, dt, [R, D]);
      const mean = outView(b, 'f32', [R]);
      const rstd = outView(b, 'f32', [R]);
      b.layerNorm!(y, mean, rstd, x, w, bias, 1e-5);
      const dy = rand(b, rng, dt, [R, D]);
      const dx = outView(b, dt, [R, D]);
      const dw = affine ? rand(b, rng, 'f32', [D]) : null; // += into random values
      const db = affine ? rand(b, rng, 'f32', [D]) : null;
      b.layerNormBackward!(dx, dw, db, dy, x, mean, rstd, w);
      return [y, mean, rstd, dx, ...(dw && db ? [dw, db] : [])];
    } });
    add({ name: `rmsNorm fwd+bwd ${dt} rows ${R} dim ${D} weight=${affine}`, needs: 'rmsNorm', run: (b, rng) => {
      const x = rand(b, rng, dt, [R, D]);
      const w = affine ? rand(b, rng, dt, [D]) : null;
      const y = outView(b, dt, [R, D]);
      const rstd = outView(b, 'f32', [R]);
      b.rmsNorm!(y, rstd, x, w, 1e-6);
      const dy = rand(b, rng, dt, [R, D]);
      const dx = outView(b, dt, [R, D]);
      const dw = affine ? rand(b, rng, 'f32', [D]) : null;
      b.rmsNormBackward!(dx, dw, dy, x, rstd, w);
      return [y, rstd, dx, ...(dw ? [dw] : [])];
    } });
  }
}

// --- rope ---
for (const dt of FLOATS) {
  for (const interleaved of [true, false]) {
    for (const [D, rd] of [[16, 16], [16, 8], [64, 24]]) {
      for (const inverse of [false, true]) {
        if (dt !== 'f32' && (inverse || D === 64)) continue;
        add({ name: `rope ${dt} D${D} rotaryDim ${rd} interleaved=${interleaved} inverse=${inverse}`, needs: 'rope', run: (b, rng) => {
          const x = rand(b, rng, dt, [2, 3, 3, D]);
          const pos = makeView(b, 'i32', [2, 3], rng.ints(6, 0, 300));
          const o = outView(b, dt, [2, 3, 3, D]);
          b.rope!(o, x, pos, { rotaryDim: rd, interleaved, base: 10000, inverse });
          return [o];
        } });
      }
    }
  }
}

// rope with per-pair frequency factors (rope scaling), forward and inverse
for (const [interleaved, inverse] of [[false, false], [true, true]] as const) {
  add({ name: `rope f32 freqFactors interleaved=${interleaved} inverse=${inverse}`, needs: 'rope', run: (b, rng) => {
    const x = rand(b, rng, 'f32', [2, 3, 3, 16]);
    const pos = makeView(b, 'i32', [2, 3], rng.ints(6, 0, 300));
    const o = outView(b, 'f32', [2, 3, 3, 16]);
    b.rope!(o, x, pos, { rotaryDim: 12, interleaved, base: 500000, inverse, freqFactors: [1, 1.5, 3.25, 8, 8, 32] });
    return [o];
  } });
}

// --- attention: prefill with cache, decode (Tq = 1), GQA, MQA, padding via kvLen ---
const ATT: [string, number, number, number, number, number, number, boolean, number[], number[]][] = [
  ['prefill causal', 1, 4, 4, 7, 7, 16, true, [0], [7]],
  ['chunk after cache GQA', 2, 4, 2, 3, 33, 64, true, [30, 10], [33, 13]],
  ['decode MQA', 2, 6, 1, 1, 65, 32, true, [64, 20], [65, 21]],
  ['non-causal padded', 2, 2, 2, 5, 9, 8, false, [0, 0], [9, 4]],
  // three 64-row query blocks, 4 query heads per kv head (native: one K^T panel per kv head and block,
  // reused by the group's heads), a row padded short, 48-key tails of the two-tile q.k^T
  ['prefill after cache GQA, three query blocks', 2, 8, 2, 130, 134, 64, true, [4, 0], [134, 100]],
];
for (const dt of FLOATS) {
  for (const [nm, B, H, Hkv, Tq, Tk, D, causal, pastLen, kvLen] of ATT) {
    if (dt !== 'f32' && nm !== 'chunk after cache GQA') continue;
    add({ name: `attention ${dt} ${nm} B${B} H${H}/${Hkv} Tq${Tq} Tk${Tk} D${D}`, needs: 'attention', run: (b, rng) => {
      const q = rand(b, rng, dt, [B, H, Tq, D]);
      const k = rand(b, rng, dt, [B, Hkv, Tk, D]);
      const v = rand(b, rng, dt, [B, Hkv, Tk, D]);
      const o = outView(b, dt, [B, H, Tq, D]);
      b.attention!(o, q, k, v, { scale: 1 / Math.sqrt(D), causal, pastLen, kvLen });
      return [o];
    } });
  }
}

// --- sliding-window attention (Mistral): prefill over two 64-row query blocks, a chunk after the
// cache where the window cuts only some rows, decode; with the row logsumexp ---
const WIN_ATT: [string, number, number, number, number, number, number, number[], number[], number][] = [
  ['prefill', 1, 4, 2, 100, 100, 16, [0], [100], 7],
  ['chunk after cache', 2, 4, 2, 3, 33, 64, [30, 10], [33, 13], 32],
  ['decode', 2, 6, 1, 1, 65, 32, [64, 20], [65, 21], 5],
];
for (const [nm, B, H, Hkv, Tq, Tk, D, pastLen, kvLen, window] of WIN_ATT) {
  add({ name: `attention window ${window} ${nm} B${B} H${H}/${Hkv} Tq${Tq} Tk${Tk} D${D}`, needs: 'attention', run: (b, rng) => {
    const q = rand(b, rng, 'f32', [B, H, Tq, D]);
    const k = rand(b, rng, 'f32', [B, Hkv, Tk, D]);
    const v = rand(b, rng, 'f32', [B, Hkv, Tk, D]);
    const o = outView(b, 'f32', [B, H, Tq, D]);
    const lse = outView(b, 'f32', [B, H, Tq]);
    b.attention!(o, q, k, v, { scale: 1 / Math.sqrt(D), causal: true, pastLen, kvLen, window }, lse);
    return [o, lse];
  } });
}

// --- attention for training: row logsumexp, strided q/k/v (transposes of (B, T, H, D)), Dv != D,
// and the fused backward against ref's f64 loops ---
const TRAIN_ATT: [string, number, number, number, number, number, number, number, boolean, number[], number[]][] = [
  ['causal self GQA', 2, 4, 2, 37, 37, 24, 16, true, [0, 0], [37, 37]],
  ['chunk after cache', 2, 2, 2, 5, 21, 8, 8, true, [16, 3], [21, 8]],
  ['non-causal padded MQA', 1, 3, 1, 6, 19, 17, 33, false, [0], [11]],
  ['causal self, 16-multiple widths (register-tiled P.V and dS.K)', 1, 2, 2, 19, 19, 32, 48, true, [0], [19]],
  ['two-row decode chunk (native row path)', 2, 4, 2, 2, 9, 16, 16, true, [7, 3], [9, 5]],
];
const TRANSPOSED: Layout = { kind: 'permuted', perm: [0, 2, 1, 3] };
for (const [nm, B, H, Hkv, Tq, Tk, D, Dv, causal, pastLen, kvLen] of TRAIN_ATT) {
  const p = { scale: 1 / Math.sqrt(D), causal, pastLen, kvLen };
  const inputs = (b: Backend, rng: Rng, dt: DType): View[] => [
    rand(b, rng, dt, [B, H, Tq, D], TRANSPOSED), rand(b, rng, dt, [B, Hkv, Tk, D], TRANSPOSED), rand(b, rng, dt, [B, Hkv, Tk, Dv]),
  ];
  add({ name: `attention+lse f32 ${nm} strided B${B} H${H}/${Hkv} Tq${Tq} Tk${Tk} D${D} Dv${Dv}`, needs: 'attention', run: (b, rng) => {
    const [q, k, v] = inputs(b, rng, 'f32');
    const o = outView(b, 'f32', [B, H, Tq, Dv]);
    const lse = outView(b, 'f32', [B, H, Tq]);
    b.attention!(o, q, k, v, p, lse);
    return [o, lse];
  } });
  for (const dt of causal ? FLOATS : ['f32' as DType]) {
    add({ name: `attentionBackward ${dt} ${nm} B${B} H${H}/${Hkv} Tq${Tq} Tk${Tk} D${D} Dv${Dv}`, needs: 'attentionBackward', run: (b, rng) => {
      const [q, k, v] = inputs(b, rng, dt);
      const g = rand(b, rng, dt, [B, H, Tq, Dv], TRANSPOSED);
      const o = outView(b, dt, [B, H, Tq, Dv]);
      const lse = outView(b, 'f32', [B, H, Tq]);
      b.attention!(o, q, k, v, p, lse);
      const dq = outView(b, dt, [B, H, Tq, D]);
      const dk = outView(b, dt, [B, Hkv, Tk, D]);
      const dv = outView(b, dt, [B, Hkv, Tk, Dv]);
      b.attentionBackward!(dq, dk, dv, g, q, k, v, o, lse, p);
      return [dq, dk, dv];
    } });
  }
}

// --- bias-grad sums over leading axes (native: a row-accumulating fast path; >512 columns) ---
for (const [shape, axes, layout] of [
  [[3, 70, 600], [0, 1], { kind: 'contig' }], [[37, 1030], [0], { kind: 'padded', pad: 3, offset: 5 }],
  [[4, 1, 5, 9], [0, 2], { kind: 'contig' }],
] as [number[], number[], Layout][]) {
  add({ name: `reduce sum f32 leading axes ${axes} of [${shape}] ${layout.kind}`, run: (b, rng) => {
    const a = rand(b, rng, 'f32', shape, layout);
    const o = outView(b, 'f32', shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    b.reduce('sum', o, a, axes);
    return [o];
  } });
}

// --- cross-entropy ---
for (const dt of FLOATS) {
  for (const tt of ['i32', 'i64'] as DType[]) {
    for (const withGrad of [true, false]) {
      add({ name: `crossEntropy ${dt} targets ${tt} dlogits=${withGrad}`, needs: 'crossEntropy', run: (b, rng) => {
        const N = 7;
        const V = 129;
        const logits = rand(b, rng, dt, [N, V]);
        const t = rng.ints(N, 0, V);
        t[2] = -100;
        t[5] = -100;
        const targets = makeView(b, tt, [N], t);
        const loss = outView(b, 'f32', [N]);
        const dl = withGrad ? outView(b, dt, [N, V]) : null;
        b.crossEntropy!(loss, dl, logits, targets, -100, 1 / 5);
        return dl ? [loss, dl] : [loss];
      } });
    }
  }
}

// --- AdamW (state from a random earlier step) ---
for (const [n, step, wd] of [[65, 1, 0.1], [129, 7, 0], [1, 3, 0.01]] as [number, number, number][]) {
  add({ name: `adamw n${n} step ${step} wd ${wd}`, needs: 'adamw', run: (b, rng) => {
    const p = rand(b, rng, 'f32', [n]);
    const g = rand(b, rng, 'f32', [n]);
    const m = rand(b, rng, 'f32', [n]);
    const v = rand(b, rng, 'f32', [n], { kind: 'contig' }, 'positive');
    b.adamw!(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step });
    return [p, m, v];
  } });
}
