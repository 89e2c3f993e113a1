/**
 * A learnable, verifiable preference for the alignment recipes: calculator (and equation-solver)
 * conversations from the synthetic generator (./synth-plugins.ts, real plugin results), turned into
 * plain-text preference pairs `{context, chosen, rejected}` (../../docs/alignment.md): the context
 * is the rendered conversation up to the final `<|MOSS|>:` (meta instruction, the question, the
 * model's inner thoughts and command, the plugin's result), the chosen reply states the plugin's
 * number, the rejected one the same sentence with a wrong number (one digit changed, a digit
 * dropped or doubled, or the integer off by a little) — the mistake small models make when copying.
 * Deterministic per seed; the ids say which seed and index made a pair.
 * Not here: judging model samples (moss annotate's rule judge does that on real samples).
 */
import { formatResults } from '../chat/commands.js';
import { fieldText, renderText, type SftRecord } from '../chat/format.js';
import { Generator } from '../tensor/index.js';
import { reservedForEval } from './heldout.js';
import { synthConversations, type Expectation, type Kind, type Split } from './synth-plugins.js';

export interface PrefPair {
  id: string;
  context: string;
  chosen: string;
  rejected: string;
  /** The plugin's answer (for evaluation). */
  answer: string;
}

/** A wrong version of a number string that a careless copy could produce (never equal to it). */
export function wrongNumber(num: string, g: Generator): string {
  const digits = [...num].map((c, i) => (/[0-9]/.test(c) ? i : -1)).filter((i) => i >= 0);
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = g.uniform();
    let out: string;
    const at = digits[g.int(digits.length)];
    if (r < 0.5) out = num.slice(0, at) + String((Number(num[at]) + 1 + g.int(9)) % 10) + num.slice(at + 1); // one digit changed
    else if (r < 0.65 && digits.length > 1) out = num.slice(0, at) + num.slice(at + 1); // a digit dropped
    else if (r < 0.8) out = num.slice(0, at) + num[at] + num.slice(at); // a digit doubled
    else out = /^-?\d+$/.test(num) ? String(Number(num) + (g.uniform() < 0.5 ? -1 : 1) * (1 + g.int(9))) : num.slice(0, at) + String((Number(num[at]) + 5) % 10) + num.slice(at + 1);
    if (out !== num && /[0-9]/.test(out) && !/^-?0\d/.test(out)) return out;
  }
  return `${num}1`;
}

/** A number of the same shape as `num` with every digit drawn anew (a leading digit never 0; never equal to it). */
export function randomNumber(num: string, g: Generator): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const out = [...num].map((c, i) => (/[0-9]/.test(c) ? String(i === 0 || !/[0-9]/.test(num[i - 1]) ? 1 + g.int(9) : g.int(10)) : c)).join('');
    if (out !== num) return out;
  }
  return `${num}1`;
}

/** The record's text up to and including the final `<|MOSS|>:` and the reply after it. */
export function splitFinalReply(r: SftRecord): { context: string; reply: string } {
  const text = renderText(r);
  const at = text.lastIndexOf('<|MOSS|>:');
  return { context: text.slice(0, at + '<|MOSS|>:'.length), reply: text.slice(at + '<|MOSS|>:'.length).replace(/\n$/, '') };
}

/**
 * `n` pairs from calculator / solver conversations of generator seed `seed`. `withMeta: false`
 * leaves the meta instruction out of the context (shorter sequences, as the dense SFT stages).
 * `far` (0–1): that share of pairs rejects a random number of the same shape instead (an easier
 * contrast, for a PM curriculum); 0 keeps the output of earlier versions. `split: 'eval'` draws the
 * conversations from what ./heldout.ts reserves for evaluation (phrasings and number ranges the
 * training split never draws): held-out pairs by construction, not only by seed.
 */
export function calcPairs(n: number, seed: number, docsDir: string, o: { withMeta?: boolean; mix?: Partial<Record<Kind, number>>; far?: number; split?: Split } = {}): PrefPair[] {
  const mix = o.mix ?? { calc: 1, solve: 0, search: 0, image: 0, chat: 0 };
  const g = new Generator(seed * 104729 + 7);
  const out: PrefPair[] = [];
  for (const [i, c] of synthConversations(n, seed, docsDir, mix, 0.5, o.split ?? 'train').entries()) {
    const e: Expectation = c.expect;
    if (!e.answer) continue;
    const rec = o.withMeta === false ? { ...c.record, meta_instruction: '' } : c.record;
    const { context, reply } = splitFinalReply(rec);
    // the number in the reply (solver answers are lists: perturb the first number in it)
    const num = /-?\d+(\.\d+)?/.exec(e.answer)?.[0];
    if (!num || !reply.includes(num)) continue;
    const wrong = o.far && g.uniform() < o.far ? randomNumber(num, g) : wrongNumber(num, g);
    const at = reply.lastIndexOf(num); // the result ends the reply; the question may hold the same digits earlier
    out.push({ id: `calc-${o.split === 'eval' ? 'eval-' : ''}${seed}-${i}`, context, chosen: reply, rejected: reply.slice(0, at) + wrong + reply.slice(at + num.length), answer: e.answer });
  }
  return out;
}

/**
 * Human phrasings for tool-use pairs that neither the training split nor the evaluation split of
 * the synthetic generator uses (./synth-plugins.ts, ./heldout.ts), so a model aligned on them and
 * evaluated by `moss eval tools` meets the evaluation phrasings for the first time.
 */
export const PAIR_PHRASES: Record<'calc' | 'solve', Record<'en' | 'zh', (x: string) => string[]>> = {
  calc: {
    en: (a) => [`Compute ${a}`, `Tell me the answer to ${a}`, `${a} comes to how much?`, `Find ${a}`],
    zh: (a) => [`计算一下${a}`, `${a}等于几？`, `告诉我${a}的答案`, `求${a}的结果`],
  },
  solve: {
    en: (e) => [`Give me the roots of ${e}`, `Which values make ${e} true?`, `Help me with the equation ${e}`],
    zh: (e) => [`${e}的解是什么？`, `求方程${e}的解`, `帮我解一下${e}`],
  },
};

/**
 * Tool-use preference pairs in the MOSS conversation form (docs/alignment.md): the record holds the
 * meta instruction and the question (rephrased with PAIR_PHRASES), the chosen completion is the
 * generator's turn (inner thoughts, the plugin command, the plugin's result, the reply stating its
 * number), the rejected one answers without the plugin (no thoughts, `None` command) and states a
 * wrong number — the mistake moss-tiny makes on unseen phrasings (it skips the tool). Training
 * number ranges only; a pair whose phrasing or numbers are reserved for evaluation is refused.
 */
export function toolPairs(n: number, seed: number, o: { mix?: Partial<Record<Kind, number>> } = {}): (SftRecord & { chosen: Record<string, string>; rejected: Record<string, string>; answer: string })[] {
  const mix = o.mix ?? { calc: 1, solve: 1, search: 0, image: 0, chat: 0 };
  const g = new Generator(seed * 7919 + 3);
  const out: (SftRecord & { chosen: Record<string, string>; rejected: Record<string, string>; answer: string })[] = [];
  for (const c of synthConversations(n, seed, '', mix)) {
    const e: Expectation = c.expect;
    if (!e.answer || !e.arg || (e.kind !== 'calc' && e.kind !== 'solve')) continue;
    const phrases = PAIR_PHRASES[e.kind][e.lang as 'en' | 'zh'](e.arg);
    const human = phrases[g.int(phrases.length)];
    const leak = reservedForEval(human, e.kind, e.arg);
    if (leak) throw new Error(`tool pairs: ${leak}`);
    const { Human: _h, ...turn } = c.record.chat.turn_1 as Record<string, string>;
    const num = /-?\d+(\.\d+)?/.exec(e.answer)?.[0];
    const reply = turn.MOSS;
    if (!num || !reply.includes(num)) continue;
    const at = reply.lastIndexOf(num);
    const wrong = reply.slice(0, at) + wrongNumber(num, g) + reply.slice(at + num.length);
    out.push({
      conversation_id: `${c.record.conversation_id}-pair`,
      meta_instruction: c.record.meta_instruction,
      num_turns: 1,
      chat: { turn_1: { Human: fieldText('Human', ` ${human}`) } },
      chosen: turn,
      rejected: {
        'Inner Thoughts': fieldText('Inner Thoughts', ' None'),
        Commands: fieldText('Commands', ' None'),
        'Tool Responses': formatResults([], [], true),
        MOSS: wrong,
      },
      answer: e.answer,
    });
  }
  return out;
}
