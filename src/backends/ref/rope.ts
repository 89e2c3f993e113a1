/**
 * Rotary position embedding for the reference backend, x/out (B, T, H, D), positions i32 (B, T).
 * Frequencies follow the HF implementations in float32: inv_freq[i] = 1 / base^(2i/rotaryDim),
 * angle = f32(pos * inv_freq[i]). Pairs: interleaved (2i, 2i+1) = GPT-J/MOSS `rotate_every_two`;
 * half-split (i, i + rotaryDim/2) = LLaMA/NeoX `rotate_half`. Features >= rotaryDim pass through.
 * `inverse` rotates by -angle (the vjp). `freqFactors` divide the frequencies (f32, as HF's scaled
 * inv_freq). Not here: position-dependent variants (dynamic NTK, YaRN).
 */
import type { RopeParams, View } from '../backend.js';
import { readF32, readNum, write } from './strided.js';

const fr = Math.fround;

/** inv_freq as torch computes it in float32: 1.0 / (base ** (arange(0, rd, 2).float() / rd)). */
export function ropeInvFreq(rotaryDim: number, base: number): Float64Array {
  const half = rotaryDim >> 1;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = fr(1 / fr(Math.pow(base, fr((2 * i) / rotaryDim))));
  return inv;
}

export function rope(out: View, x: View, positions: View, p: RopeParams): void {
  const [B, T, H, D] = x.shape;
  const xs = readF32(x);
  const pos = readNum(positions);
  const rd = p.rotaryDim;
  const half = rd >> 1;
  const inv = ropeInvFreq(rd, p.base);
  if (p.freqFactors) for (let i = 0; i < half; i++) inv[i] = fr(inv[i] / p.freqFactors[i]);
  const sign = p.inverse ? -1 : 1;
  const y = Float64Array.from(xs);
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const ps = pos[b * T + t];
      for (let i = 0; i < half; i++) {
        const ang = fr(ps * inv[i]);
        cos[i] = fr(Math.cos(ang));
        sin[i] = sign * fr(Math.sin(ang));
      }
      for (let h = 0; h < H; h++) {
        const o = ((b * T + t) * H + h) * D;
        for (let i = 0; i < half; i++) {
          const i0 = p.interleaved ? o + 2 * i : o + i;
          const i1 = p.interleaved ? i0 + 1 : i0 + half;
          const x0 = xs[i0];
          const x1 = xs[i1];
          y[i0] = x0 * cos[i] - x1 * sin[i];
          y[i1] = x1 * cos[i] + x0 * sin[i];
        }
      }
    }
  }
  write(out, y);
}
