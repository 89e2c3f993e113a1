/**
 * Token generation: batched prefill of right-padded prompts into a preallocated KV cache, then
 * one-token decode steps for every row in lockstep, sampling each row on the host (sampler.ts).
 * Streams as an async iterator of token ids (it knows nothing of text, except stop strings, which
 * it checks through a caller-given stream decoder). Follows HF generate()'s semantics for
 * max_new_tokens, eos and repetition penalty; mlx-lm's generate_step for the loop shape.
 * Not here: continuous batching across requests (serve), beam search, speculative decoding.
 * Legend: B batch (rows), T prompt length, V vocab.
 */
import type { StreamDecoder } from '../tokenizer/index.js';
import { Generator, tensor, tidy } from '../tensor/index.js';
import type { CausalLM } from '../models/types.js';
import type { TokenConstraint } from './constrain/mask.js';
import type { SamplingOptions } from './sampler.js';
import { Sequence, step } from './sequence.js';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most per row (default 256; also capped by the model's positions). */
  maxNewTokens?: number;
  /** Ids that end a row (the stop id itself is returned as the row's last token). */
  stopIds?: readonly number[];
  /** Texts that end a row once the decoded output contains them (needs `decoder`). */
  stopStrings?: readonly string[];
  /** Makes a fresh stream decoder per row (e.g. `() => tokenizer.streamDecoder()`). */
  decoder?: () => StreamDecoder;
  /** Seed for sampling (default: random). */
  seed?: number;
  /** Reuse the KV cache (default). `false` recomputes the whole sequence each step (for tests). */
  useCache?: boolean;
  /** Makes a fresh logits mask per row (./constrain, e.g. `() => cache.constraint(jsonGrammar(schema, [eos]))`). */
  constraint?: () => TokenConstraint;
  /** Stops generation between steps. */
  signal?: AbortSignal;
  /** Filled in as generation runs (timings, finish reasons, seed). */
  stats?: GenerationStats;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationStats {
  promptTokens: number;
  completionTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Decode steps after the prefill. */
  decodeSteps: number;
  finishReasons: FinishReason[];
  seed: number;
}

export interface Step {
  /** Batch row. */
  row: number;
  id: number;
}

function emptyStats(): GenerationStats {
  return { promptTokens: 0, completionTokens: 0, prefillMs: 0, decodeMs: 0, decodeSteps: 0, finishReasons: [], seed: 0 };
}

/**
 * Generates for several prompts at once, yielding `{ row, id }` as each token is chosen (rows in
 * order within a step). Stats (if given) are complete when the iterator finishes.
 */
export async function* generateBatch(model: CausalLM, prompts: readonly (readonly number[])[], o: GenerateOptions = {}): AsyncGenerator<Step, GenerationStats> {
  const B = prompts.length;
  if (B === 0) throw new Error('generate: no prompts');
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: a prompt is empty (give at least one token, e.g. BOS)');
  const V = model.info.vocabSize;
  for (const p of prompts) for (const id of p) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generate: prompt id ${id} is outside the vocabulary [0, ${V})`);
  const Tmax = Math.max(...prompts.map((p) => p.length));
  const room = model.info.maxPositions - Tmax;
  if (room < 1) throw new Error(`generate: the prompt (${Tmax} tokens) fills the model's ${model.info.maxPositions} positions`);
  const maxNew = Math.min(o.maxNewTokens ?? 256, room);
  if (o.stopStrings?.length && !o.decoder) throw new Error('generate: stop strings need a decoder (a tokenizer)');
  const stats = o.stats ?? emptyStats();
  Object.assign(stats, emptyStats(), { seed: o.seed ?? Math.floor(Math.random() * 2 ** 32) });
  stats.promptTokens = prompts.reduce((s, p) => s + p.length, 0);
  const useCache = o.useCache ?? true;
  const rng = new Generator(stats.seed); // one stream, drawn row by row
  const rows = prompts.map((p) => new Sequence(p, { ...o, maxNewTokens: maxNew, seed: stats.seed, rng, decoder: o.decoder?.(), constraint: o.constraint?.() }));
  const backend = model.backend;
  const cache = useCache ? model.newCache(B, Tmax + maxNew) : null;
  const lengths = prompts.map((p) => p.length);
  /** Right-padded (B, T) ids of each row's sequence so far (uncached path and prefill). */
  const padded = (seqs: readonly (readonly number[])[]): { ids: number[]; T: number } => {
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = new Array<number>(B * T).fill(0);
    seqs.forEach((s, b) => s.forEach((id, t) => (ids[b * T + t] = id)));
    return { ids, T };
  };
  const logitsOf = (ids: number[], T: number, lens: number[]): Float32Array => {
    const t = tidy(() => model.forward(tensor(ids, [B, T], { dtype: 'i32', backend }), { cache: cache ?? undefined, lengths: lens, logits: 'last' }));
    const v = t.toFloat32Array(); // (B, V)
    t.dispose();
    return v;
  };
  let aborted = false;
  try {
    let t0 = performance.now();
    const first = padded(prompts);
    let logits = logitsOf(first.ids, first.T, lengths);
    stats.prefillMs = performance.now() - t0;
    t0 = performance.now();
    for (let k = 0; k < maxNew; k++) {
      const ids = step(rows, logits, V);
      for (let b = 0; b < B; b++) {
        if (ids[b] === null) continue;
        stats.completionTokens++;
        yield { row: b, id: ids[b]! };
      }
      if (rows.every((r) => r.done)) break;
      if (o.signal?.aborted) {
        aborted = true;
        break;
      }
      await new Promise((res) => setImmediate(res)); // let I/O (Ctrl-C, HTTP) run between steps
      if (cache) {
        // finished rows keep decoding their last token (ignored) so the batch stays rectangular
        logits = logitsOf(rows.map((r) => r.out[r.out.length - 1]), 1, new Array<number>(B).fill(1));
      } else {
        const seqs = rows.map((r, b) => [...prompts[b], ...r.out]);
        const p = padded(seqs);
        logits = logitsOf(p.ids, p.T, seqs.map((s) => s.length));
      }
      stats.decodeSteps++;
    }
    stats.decodeMs = performance.now() - t0;
  } finally {
    cache?.dispose();
  }
  stats.finishReasons = rows.map((r) => r.done ?? (aborted ? 'abort' : 'length'));
  return stats;
}

/**
 * Generates for one prompt, yielding token ids as they are chosen.
 * @example for await (const id of generate(model, [1], { maxNewTokens: 20 })) process.stdout.write(dec.push(id))
 */
export async function* generate(model: CausalLM, prompt: readonly number[], o: GenerateOptions = {}): AsyncGenerator<number, GenerationStats> {
  const it = generateBatch(model, [prompt], o);
  while (true) {
    const r = await it.next();
    if (r.done) return r.value;
    yield r.value.id;
  }
}

/** Runs generation to the end; returns each row's generated ids and the stats. */
export async function generateAll(model: CausalLM, prompts: readonly (readonly number[])[], o: GenerateOptions = {}): Promise<{ ids: number[][]; stats: GenerationStats }> {
  const ids: number[][] = prompts.map(() => []);
  const it = generateBatch(model, prompts, o);
  while (true) {
    const r = await it.next();
    if (r.done) return { ids, stats: r.value };
    ids[r.value.row].push(r.value.id);
  }
}
