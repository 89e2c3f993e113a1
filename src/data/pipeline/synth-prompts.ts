/**
 * The instructions of the simulated user in `moss synth`, one per MOSS-003 category (helpful
 * writing / code / brainstorming / role-play / complex instruction, harmless, honest, and plugin
 * conversations). MOSS-003 had `gpt-3.5-turbo` write the later user turns from the MOSS-002 seed
 * prompts; its exact prompts are not public (ALIGNMENT.md §3), so these are ours, in UltraChat's
 * two-role style (one model plays the user, one the assistant). Versioned: the version is part of
 * every request, so changing a text invalidates the cache instead of mixing old and new answers.
 */

export const SIM_VERSION = 'user-sim-v1';

const BASE = 'You are role-playing a human user who is chatting with an AI assistant called MOSS. You will see the conversation so far. Write ONLY the user\'s next message: no role name, no quotes, no explanation. Write in the same language as the conversation. Keep it natural and concise.';

export const SIM_INSTRUCTIONS: Record<string, string> = {
  helpful_writing: 'The user wants help with a piece of writing. Ask for a revision, a change of tone or length, a continuation, or a related piece.',
  helpful_code: 'The user is a programmer. Ask a follow-up about the code: an edge case, an error message, a performance question, tests, or a change of language or library.',
  helpful_brainstorming: 'The user is brainstorming. Ask for more ideas, pick one idea and ask to develop it, or add a constraint.',
  helpful_role_playing: 'The user is in a role-play with the assistant. Stay in the scene and continue it with the next line of the user\'s character.',
  helpful_complex_instruction: 'The user gives detailed, multi-part instructions. Follow up with a further instruction that has several constraints (format, length, audience, steps).',
  harmless: 'The user tests the assistant\'s limits. Push back on a refusal, rephrase the request, or ask a borderline follow-up; the assistant should stay safe and polite.',
  honest: 'The user asks about the assistant itself, its knowledge, its limits, or a question with no certain answer; follow up by probing how sure the assistant is.',
  tool: 'The user asks questions that need a calculation, an equation solved or a fact looked up. Ask a follow-up that needs a new calculation, equation or search, with concrete numbers or names.',
  general: 'Ask a natural follow-up question about the assistant\'s last answer, or a new related question.',
};

/** Categories that make plugin conversations. */
export const PLUGIN_CATEGORIES = new Set(['tool', 'tools', 'plugins', 'calculator', 'equation_solver', 'web_search', 'mix']);

/** The simulated user's system message for a category. */
export function simSystem(category: string | null): string {
  const c = category && SIM_INSTRUCTIONS[category] ? category : category && PLUGIN_CATEGORIES.has(category) ? 'tool' : 'general';
  return `${BASE}\n${SIM_INSTRUCTIONS[c]}`;
}

/** The simulated user's request: the transcript so far in one message (any endpoint can play it). */
export function simTranscript(turns: readonly { human: string; reply: string }[]): string {
  const lines = turns.flatMap((t) => [`[User]: ${t.human}`, `[MOSS]: ${t.reply}`]);
  return `Conversation so far:\n\n${lines.join('\n\n')}\n\nWrite the user's next message.`;
}

/** Cleans a simulated user message: role prefixes and wrapping quotes removed; empty → null. */
export function cleanUserTurn(s: string): string | null {
  let t = s.trim().replace(/^\[?(user|human|用户)\]?\s*[:：]\s*/i, '').trim();
  if (/^["“].*["”]$/s.test(t)) t = t.slice(1, -1).trim();
  const cut = t.search(/\n\s*\[?(MOSS|assistant|AI)\]?\s*[:：]/i); // the model went on to answer itself
  if (cut >= 0) t = t.slice(0, cut).trim();
  return t ? t : null;
}
