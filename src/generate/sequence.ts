/**
 * The one generation step (STYLE.md "one step"; mlx-lm's generate_step / BatchGenerator): a
 * `Sequence` holds everything one generation needs between forwards — the ids seen (prompt +
 * output, for the repetition penalty), output counts (presence / frequency), its seeded RNG, stop
 * ids and stop strings, the streaming UTF-8 decoder and the token budget — and `step` picks the next
 * token of every live sequence from one batch of logits. `moss generate` (./generate.ts), the chat
 * loop's cached generator (./prefix-cache.ts) and the server's continuous-batching scheduler
 * (./scheduler.ts) only run forwards and feed this step.
 * Deliberately no model, cache or tensors here. Legend: B rows, V vocab.
 */
import { Generator } from '../tensor/index.js';
import type { StreamDecoder } from '../tokenizer/types.js';
import type { TokenConstraint } from './constrain/mask.js';
import { tokenLogprob, type TokenLogprob } from './logprobs.js';
import { sampleNext, withinVocab, type SamplingOptions } from './sampler.js';
import { StopStrings } from './stop.js';

export interface SequenceOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  readonly maxNewTokens: number;
  /** Ids that end the sequence (the stop id itself is kept as its last token). */
  readonly stopIds?: readonly number[];
  /** Texts that end the sequence once the output contains one (needs `decoder`); the text before it is kept. */
  readonly stopStrings?: readonly string[];
  /** Streaming decoder (e.g. `tokenizer.streamDecoder()`): text as it completes, incomplete UTF-8 held back. */
  readonly decoder?: StreamDecoder;
  /** Sampling seed (default: random). */
  readonly seed?: number;
  /** A random stream shared with other sequences (a lockstep batch draws row by row from one seed). */
  readonly rng?: Generator;
  /** A grammar (./constrain, e.g. a JSON schema's): ids it forbids are never picked; where it allows none, the first stop id ends the sequence. */
  readonly constraint?: TokenConstraint;
  /** Record each picked id's log-probability (./logprobs.ts: the model's raw distribution) with this many alternatives (0..20); absent: off. */
  readonly logprobs?: number;
}

export type StopReason = 'stop' | 'length';

export class Sequence {
  readonly out: number[] = [];
  /** Prompt + output (repetition penalty). */
  readonly seen: number[];
  /** Output id counts (presence / frequency penalties). */
  readonly counts = new Map<number, number>();
  readonly seed: number;
  done: StopReason | null = null;
  /** The log-probability of the id picked last (when `logprobs` is on). */
  lastLogprob: TokenLogprob | null = null;
  private readonly rng: Generator;
  private readonly stopIds: ReadonlySet<number>;
  private readonly stops: StopStrings | null;
  private pending = '';

  constructor(prompt: readonly number[], readonly options: SequenceOptions) {
    if (options.stopStrings?.length && !options.decoder) throw new Error('generate: stop strings need a decoder (a tokenizer)');
    this.seen = [...prompt];
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.rng = options.rng ?? new Generator(this.seed);
    this.stopIds = new Set(options.stopIds ?? []);
    this.stops = options.decoder ? new StopStrings(options.stopStrings ?? []) : null;
    if (options.maxNewTokens < 1) this.done = 'length';
  }

  /** The id picked last (-1 before the first). */
  get last(): number {
    return this.out.length ? this.out[this.out.length - 1] : -1;
  }

  /** Picks the next id from this row's logits (modified in place) and takes it. */
  pick(logits: Float32Array): number {
    const c = this.options.constraint;
    const raw = this.options.logprobs === undefined ? null : Float32Array.from(withinVocab(logits, this.options.vocabSize)); // before the samplers change it
    // constrained: sample as usual; only a token the grammar refuses costs a mask and a second draw
    // (rejection sampling, as llama.cpp's common sampler: exact for the masked distribution unless top-k/top-p/min-p cut it)
    const orig = c ? Float32Array.from(logits) : null;
    let id = sampleNext(logits, this.options, this.rng, this.seen, this.counts);
    if (c && !c.allows(id)) {
      logits.set(orig!);
      if (!c.mask(withinVocab(logits, this.options.vocabSize)) && this.stopIds.size) id = this.stopIds.values().next().value!; // nothing allowed: end here
      else id = sampleNext(logits, this.options, this.rng, this.seen, this.counts);
    }
    if (raw) this.lastLogprob = tokenLogprob(raw, id, this.options.logprobs!);
    this.take(id);
    return id;
  }

  /** Takes `id` as the next token: bookkeeping, text, and whether the sequence is done. */
  take(id: number): void {
    this.options.constraint?.accept(id);
    this.out.push(id);
    this.seen.push(id);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    if (this.stopIds.has(id)) this.done = 'stop';
    else if (this.stops) {
      this.pending += this.stops.push(this.options.decoder!.push(id));
      if (this.stops.stopped) this.done = 'stop';
    }
    if (!this.done && this.out.length >= this.options.maxNewTokens) this.done = 'length';
  }

  /** Text completed since the last call (stop strings and incomplete UTF-8 held back; all of it once done). */
  text(): string {
    if (this.done && this.stops && !this.stops.stopped) this.pending += this.stops.push(this.options.decoder!.flush()) + this.stops.flush();
    const t = this.pending;
    this.pending = '';
    return t;
  }
}

/**
 * One step over a batch: row b of `logits` (B, V) picks the next id of `seqs[b]`; finished rows are
 * skipped (null).
 */
export function step(seqs: readonly Sequence[], logits: Float32Array, V: number): (number | null)[] {
  return seqs.map((s, b) => (s.done ? null : s.pick(logits.subarray(b * V, (b + 1) * V))));
}
