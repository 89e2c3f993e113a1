/**
 * Filters of synthetic conversations, each with a name for the drop counts of the summary:
 * `length` (a reply shorter than minChars, or the whole text longer than maxChars), `language`
 * (share of CJK characters among letters: zh ≥ 0.3, en ≤ 0.05), `refusal` (a reply that refuses,
 * except in the harmless category, where refusing is the point), `malformed` (an empty turn, a
 * user turn that answers as the assistant, a reply that talks as the user). Patterns are ours.
 * Deliberately cheap string rules; no model-based filtering.
 */

export interface FilterOptions {
  /** Shortest MOSS reply in characters (default 2). */
  readonly minChars?: number;
  /** Longest conversation text in characters (default 24 000). */
  readonly maxChars?: number;
  /** Keep only this language. */
  readonly lang?: 'zh' | 'en';
  /** Keep refusals in every category (default: only in harmless). */
  readonly keepRefusals?: boolean;
}

export interface TurnText {
  readonly human: string;
  readonly reply: string;
}

const REFUSAL = [
  /\bI(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:no|')t|am (?:not able|unable)|won't)\b/i,
  /\bas an AI(?: language model)?,? I (?:can(?:no|')t|do not|don't|am not able)\b/i,
  /\bI (?:can(?:no|')t|won't) (?:help|assist|provide|comply) with (?:that|this)\b/i,
  /(?:抱歉|对不起)[，,]?\s*(?:我)?(?:无法|不能)/,
  /作为(?:一个)?(?:AI|人工智能)(?:语言模型)?[，,]?\s*我(?:无法|不能)/,
];

/** True when the text looks like a refusal. */
export function isRefusal(text: string): boolean {
  return REFUSAL.some((re) => re.test(text));
}

/** Share of CJK ideographs among letters and ideographs. */
export function cjkShare(text: string): number {
  const cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) ?? []).length;
  const latin = (text.match(/[A-Za-z]/g) ?? []).length;
  return cjk + latin ? cjk / (cjk + latin / 4) : 0; // ~4 Latin letters weigh like one ideograph
}

/** The name of the first filter that drops this conversation, or null to keep it. */
export function dropReason(turns: readonly TurnText[], category: string | null, o: FilterOptions = {}): string | null {
  if (!turns.length) return 'malformed';
  for (const t of turns) {
    if (!t.human.trim() || !t.reply.trim()) return 'malformed';
    if (/^\s*\[?(MOSS|assistant|AI助手)\]?\s*[:：]/i.test(t.human)) return 'malformed';
    if (/^\s*\[?(user|human|用户)\]?\s*[:：]/i.test(t.reply)) return 'malformed';
  }
  const all = turns.map((t) => `${t.human}\n${t.reply}`).join('\n');
  if (turns.some((t) => t.reply.trim().length < (o.minChars ?? 2)) || all.length > (o.maxChars ?? 24_000)) return 'length';
  if (o.lang) {
    const s = cjkShare(all);
    if (o.lang === 'zh' ? s < 0.3 : s > 0.05) return 'language';
  }
  if (!o.keepRefusals && category !== 'harmless' && turns.some((t) => isRefusal(t.reply))) return 'refusal';
  return null;
}
