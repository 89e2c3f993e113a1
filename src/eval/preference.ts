/**
 * Checks for the alignment recipes on held-out prompts: sample replies to rendered MOSS contexts
 * (up to the final `<|MOSS|>:`; optionally with a quality tag in the meta instruction, for a
 * steer-trained model), count replies whose number is not the plugin's answer (the verifiable
 * preference of src/data/calc-pairs.ts), and the mean preference-model score of the replies per
 * decoding tag (which should rise with the tag).
 * Not here: the plugin loop (contexts already hold the plugin's result), LLM judges.
 */
import { withQuality } from '../chat/meta.js';
import { generateAll } from '../generate/index.js';
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface SampleOptions {
  temperature: number;
  seed: number;
  maxNewTokens?: number;
  /** Contexts sampled together. */
  batch?: number;
  /** Put this quality tag (k of K) in each context's meta instruction first. */
  quality?: { tag: number; of: number };
}

/** Adds the quality line to a plain-text context's meta instruction (the text before the first `<|Human|>:`). */
export function tagContext(context: string, tag: number, of: number): string {
  const i = context.indexOf('<|Human|>:');
  const [meta, rest] = i < 0 ? ['', context] : [context.slice(0, i), context.slice(i)];
  return withQuality(meta, tag, of) + rest;
}

/** One sampled reply per context (text after `<|MOSS|>:` up to and including `<eom>`), in order. */
export async function sampleReplies(model: CausalLM, tok: Tokenizer, contexts: readonly string[], o: SampleOptions): Promise<string[]> {
  const eom = tok.encode('<eom>', { special: 'allow' })[0];
  const out: string[] = [];
  const B = o.batch ?? 8;
  for (let i = 0; i < contexts.length; i += B) {
    const prompts = contexts.slice(i, i + B).map((c) => tok.encode(o.quality ? tagContext(c, o.quality.tag, o.quality.of) : c, { special: 'allow' }));
    const { ids } = await generateAll(model, prompts, { temperature: o.temperature, seed: o.seed + i, maxNewTokens: o.maxNewTokens ?? 48, stopIds: [eom] });
    out.push(...ids.map((r) => tok.decode(r)));
  }
  return out;
}

/** True when the reply's last number is `answer`'s first number (the result ends the reply; the question may repeat operands). */
export function statesAnswer(reply: string, answer: string): boolean {
  const num = /-?\d+(\.\d+)?/.exec(answer)?.[0];
  const last = (reply.match(/-?\d+(\.\d+)?/g) ?? []).at(-1);
  return num !== undefined && last === num;
}

/** Share of replies that do not state the answer. */
export function wrongRate(replies: readonly string[], answers: readonly string[]): number {
  return replies.filter((r, i) => !statesAnswer(r, answers[i])).length / Math.max(replies.length, 1);
}
