/**
 * The seam between the HTTP layer and the model: an `Engine` takes prompt ids plus sampling
 * parameters and streams new token ids back, with admission control (slots + a bounded queue) and
 * cancellation by AbortSignal. Implementations: `WorkerEngine` (the real model in a worker thread,
 * continuous batching) and `ScriptedEngine` (a deterministic stand-in for tests).
 * Follows the shape of vLLM's AsyncLLMEngine.generate(), reduced to ids. Deliberately no text,
 * no chat format and no HTTP here: those live above, in the serve routes.
 */
import type { Grammar } from '../generate/constrain/grammar.js';
import type { SamplingOptions } from '../generate/sampler.js';
import type { FinishReason } from '../generate/scheduler.js';
import type { TokenLogprob } from '../generate/logprobs.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** Sampling knobs, already validated (OpenAI names mapped to ours): src/generate's options, all given. */
export type SamplingParams = Readonly<Required<Pick<SamplingOptions, 'temperature' | 'topP' | 'topK' | 'presencePenalty' | 'frequencyPenalty' | 'repetitionPenalty'>>> & { readonly seed?: number };

export const GREEDY: SamplingParams = { temperature: 0, topP: 1, topK: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1 };

export interface GenRequest {
  readonly promptIds: readonly number[];
  /** Generation stops after this many new tokens. */
  readonly maxNewTokens: number;
  /** Generation stops after yielding one of these ids. */
  readonly stopIds: readonly number[];
  readonly sampling: SamplingParams;
  /** Aborting ends the stream early and frees the slot. */
  readonly signal?: AbortSignal;
  /** Constrained decoding: only sentences of this grammar are generated (src/generate/constrain). */
  readonly grammar?: Grammar;
  /** false: skip the queue limit (a later step of an already admitted request). Default true. */
  readonly admit?: boolean;
  /** Log-probability of each new token with this many alternatives (0..20, src/generate/logprobs.ts); absent: off. */
  readonly logprobs?: number;
  /** With `logprobs`: also those of the prompt tokens (`echo`), in `TokenStream.promptLogprobs`. */
  readonly promptLogprobs?: boolean;
}

/** Why a stream ended. */
export type { FinishReason };

/** A running generation: new ids in order; `finish` resolves when it ends. */
export interface TokenStream extends AsyncIterable<number> {
  readonly finish: Promise<FinishReason>;
  /** With `logprobs` asked: entry i belongs to the i-th id, present by the time that id is yielded. */
  readonly logprobs?: readonly TokenLogprob[];
  /** With `promptLogprobs` asked: one per prompt id (null for the first), present before the first id is yielded. */
  readonly promptLogprobs?: readonly (TokenLogprob | null)[];
}

export interface EngineStats {
  /** Sequences decoding now. */
  readonly active: number;
  /** Admitted, waiting for a slot. */
  readonly queued: number;
  readonly slots: number;
  readonly maxQueue: number;
  /** Tokens generated since start. */
  readonly tokensGenerated: number;
  /** Prompt tokens processed since start. */
  readonly promptTokens: number;
  /** Decode steps run (a batched step counts once). */
  readonly steps: number;
}

/** Thrown synchronously by `submit` when every slot is busy and the queue is full. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super('server busy: all generation slots and the queue are full');
    this.name = 'QueueFullError';
  }
}

export interface Engine {
  /** Name reported by /v1/models. */
  readonly modelId: string;
  /** Longest prompt + generation in tokens. */
  readonly contextLength: number;
  readonly tokenizer: Tokenizer;
  /** Whether a text prompt starts with BOS (the model family's one policy, ModelInfo.addsBos). */
  readonly addBos: boolean;
  /** Starts a generation or throws QueueFullError. The stream ends at a stop id (yielded), the budget or the signal. */
  submit(req: GenRequest): TokenStream;
  stats(): EngineStats;
  close(): Promise<void>;
}

/**
 * A push-fed async queue of ids: the engine side calls push/end, the consumer iterates.
 * One consumer only.
 */
export class IdChannel implements TokenStream {
  private buf: number[] = [];
  private done = false;
  private wake: (() => void) | undefined;
  private resolveFinish!: (r: FinishReason) => void;
  readonly finish = new Promise<FinishReason>((r) => (this.resolveFinish = r));
  readonly logprobs: TokenLogprob[] = [];
  promptLogprobs?: (TokenLogprob | null)[];

  /** Takes new ids (and their log-probabilities, one each, when logprobs were asked). */
  push(ids: readonly number[], logprobs?: readonly TokenLogprob[]): void {
    if (this.done) return;
    this.buf.push(...ids);
    if (logprobs) this.logprobs.push(...logprobs);
    this.wake?.();
  }
  end(reason: FinishReason): void {
    if (this.done) return;
    this.done = true;
    this.resolveFinish(reason);
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<number> {
    for (;;) {
      if (this.buf.length) {
        const b = this.buf;
        this.buf = [];
        for (const t of b) yield t;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
