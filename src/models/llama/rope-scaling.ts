/**
 * Rope scaling as per-pair frequency factors: pair i of a head rotates with frequency
 * theta^(-2i/headDim) / factors[i] (RopeParams.freqFactors; llama.cpp's rope_freqs tensor is
 * exactly such a list). Reads HF `rope_scaling` objects: 'linear' (every factor = `factor`) and
 * 'llama3' (Llama 3.1+: long wavelengths slowed by `factor`, short ones kept, a smooth ramp in
 * between; transformers' _compute_llama3_parameters). 'default' means none.
 * Deliberately does not: position-dependent schemes (dynamic NTK, YaRN, LongRoPE change with the
 * sequence length or scale attention): those are refused with the file named.
 */
import type { Json } from '../config.js';

/** Llama 3.1 factors for headDim / 2 pairs. */
export function llama3Factors(headDim: number, theta: number, factor: number, lowFreqFactor: number, highFreqFactor: number, oldContext: number): number[] {
  const lowWavelen = oldContext / lowFreqFactor;
  const highWavelen = oldContext / highFreqFactor;
  const out: number[] = [];
  for (let i = 0; i < headDim / 2; i++) {
    const freq = 1 / Math.pow(theta, (2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out.push(1);
    else if (wavelen > lowWavelen) out.push(factor);
    else {
      const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out.push(1 / ((1 - smooth) / factor + smooth));
    }
  }
  return out;
}

function positive(o: Json, key: string, file: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${file}: rope_scaling.${key} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/** Factors for an HF config's `rope_scaling` (null when there is none). */
export function hfRopeFactors(scaling: unknown, headDim: number, theta: number, file: string): number[] | null {
  if (scaling === undefined || scaling === null) return null;
  if (typeof scaling !== 'object' || Array.isArray(scaling)) throw new Error(`${file}: rope_scaling must be an object, got ${JSON.stringify(scaling)}`);
  const o = scaling as Json;
  const type = o.rope_type ?? o.type;
  if (type === 'default') return null;
  if (type === 'linear') return new Array<number>(headDim / 2).fill(positive(o, 'factor', file));
  if (type === 'llama3') {
    const low = positive(o, 'low_freq_factor', file), high = positive(o, 'high_freq_factor', file);
    if (high <= low) throw new Error(`${file}: rope_scaling.high_freq_factor ${high} must exceed low_freq_factor ${low}`);
    return llama3Factors(headDim, theta, positive(o, 'factor', file), low, high, positive(o, 'original_max_position_embeddings', file));
  }
  throw new Error(`${file}: rope_scaling type '${String(type)}' is not supported (supported: linear, llama3)`);
}
