/**
 * Samplers as plain functions over one row of logits (a Float32Array of V values, modified in
 * place): repetition penalty exactly as HF's RepetitionPenaltyLogitsProcessor and MOSS apply it
 * (over every token seen in prompt + output: positive logits divided by the penalty, negative ones
 * multiplied), OpenAI-style presence/frequency penalties (over output tokens, as vLLM), then the
 * warpers in HF's order: temperature, top-k, top-p, min-p; then a draw from a seeded Generator.
 * Filtering sets logits to -Infinity. Not here: beam search, grammar constraints, logit bias maps.
 */
import type { Generator } from '../tensor/index.js';

export interface SamplingOptions {
  /** 0 (or undefined with doSample false) means greedy argmax. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below minP times the top probability (0 = off). */
  minP?: number;
  /** HF/MOSS repetition penalty (1 = off). */
  repetitionPenalty?: number;
  /** Subtracted once from every token already generated (0 = off). */
  presencePenalty?: number;
  /** Subtracted per occurrence in the output (0 = off). */
  frequencyPenalty?: number;
  /**
   * The tokenizer's vocabulary size when the model has more rows (MOSS: 107,008 embedding rows for
   * 106,072 tokens): ids at or past it are never picked, by any sampler (io, issue 13).
   */
  vocabSize?: number;
}

/** The logits a sampler may pick from: the first `vocabSize` entries when that is smaller. */
export function withinVocab(logits: Float32Array, vocabSize: number | undefined): Float32Array {
  return vocabSize !== undefined && vocabSize > 0 && vocabSize < logits.length ? logits.subarray(0, vocabSize) : logits;
}

/** HF RepetitionPenaltyLogitsProcessor: each distinct seen id once, divide if > 0 else multiply. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  if (!(penalty > 0)) throw new Error(`repetition penalty must be positive, got ${penalty}`);
  for (const id of new Set(seen)) {
    const l = logits[id];
    logits[id] = l < 0 ? l * penalty : l / penalty;
  }
}

/** OpenAI presence/frequency penalties from counts of generated ids. */
export function applyPresenceFrequency(logits: Float32Array, counts: ReadonlyMap<number, number>, presence: number, frequency: number): void {
  if (presence === 0 && frequency === 0) return;
  for (const [id, n] of counts) logits[id] -= presence + frequency * n;
}

export function applyTemperature(logits: Float32Array, t: number): void {
  if (!(t > 0)) throw new Error(`temperature must be positive for sampling, got ${t}`);
  if (t === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] /= t;
}

/** Keeps the k largest logits (ties with the k-th value kept, as torch.topk + `<` in HF). */
export function applyTopK(logits: Float32Array, k: number): void {
  if (!(k > 0) || k >= logits.length) return;
  const kth = Float32Array.from(logits).sort().reverse()[k - 1];
  for (let i = 0; i < logits.length; i++) if (logits[i] < kth) logits[i] = -Infinity;
}

/** Softmax of a row into a new Float64Array. */
export function softmaxRow(logits: Float32Array): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  const p = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += p[i] = logits[i] === -Infinity ? 0 : Math.exp(logits[i] - m);
  for (let i = 0; i < p.length; i++) p[i] /= s;
  return p;
}

/**
 * HF TopPLogitsWarper: drop the tokens whose ascending cumulative probability is <= 1 - p
 * (the most likely token always stays).
 */
export function applyTopP(logits: Float32Array, p: number): void {
  if (!(p < 1)) return;
  if (!(p > 0)) throw new Error(`top_p must be in (0, 1], got ${p}`);
  const probs = softmaxRow(logits);
  const order = Array.from(probs.keys()).sort((a, b) => probs[a] - probs[b] || b - a); // ascending
  let cum = 0;
  for (let r = 0; r < order.length - 1; r++) {
    cum += probs[order[r]];
    if (cum > 1 - p) break;
    logits[order[r]] = -Infinity;
  }
}

/** Min-p: drop tokens with probability < minP * max probability. */
export function applyMinP(logits: Float32Array, minP: number): void {
  if (!(minP > 0)) return;
  const probs = softmaxRow(logits);
  let top = 0;
  for (const q of probs) top = Math.max(top, q);
  for (let i = 0; i < logits.length; i++) if (probs[i] < minP * top) logits[i] = -Infinity;
}

/** Index of the largest logit (first on ties, as torch.argmax). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Draws an id from softmax(logits) with one uniform number from `gen`. */
export function drawFrom(logits: Float32Array, gen: Generator): number {
  const probs = softmaxRow(logits);
  const u = gen.uniform();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding: u beyond the summed mass
}

/** True when the options ask for greedy decoding. */
export function isGreedy(o: SamplingOptions): boolean {
  return o.temperature === undefined || o.temperature === 0;
}

/**
 * Picks the next id of one row. `seen`: prompt + output ids (repetition penalty); `counts`: output
 * id counts (presence/frequency). Penalties apply in greedy mode too, as in HF.
 */
export function sampleNext(logits: Float32Array, o: SamplingOptions, gen: Generator, seen: Iterable<number>, counts: ReadonlyMap<number, number>): number {
  logits = withinVocab(logits, o.vocabSize);
  applyRepetitionPenalty(logits, seen, o.repetitionPenalty ?? 1);
  applyPresenceFrequency(logits, counts, o.presencePenalty ?? 0, o.frequencyPenalty ?? 0);
  if (isGreedy(o)) return argmax(logits);
  applyTemperature(logits, o.temperature!);
  applyTopK(logits, o.topK ?? 0);
  applyTopP(logits, o.topP ?? 1);
  applyMinP(logits, o.minP ?? 0);
  return drawFrom(logits, gen);
}
