/**
 * One `moss chat` turn of a non-MOSS model: the session's turns become user/assistant messages for
 * the model's own chat template (src/chat/template-turn.ts; the plain fallback when it has none),
 * the reply streams to the printer like a MOSS reply, and the session keeps Human/MOSS fields so
 * `/save`, `/load` and `--json` work as for MOSS models. MOSS's plugins are not run: they need the
 * MOSS format. Deliberately no terminal handling here.
 */
import { fieldBody, fieldText, type TurnFields } from '../../chat/format.js';
import type { Session } from '../../chat/session.js';
import type { ChatTemplate, TemplateMessage } from '../../chat/template.js';
import { runTemplateTurn } from '../../chat/template-turn.js';
import type { TurnPrinter } from './render.js';
import { turnJson, type TurnJson, type TurnSetup } from './turn.js';

/** The texts of turns run here (fieldBody cannot tell a user's literal `<eoh>` from the field end). */
const raw = new WeakMap<TurnFields, { user: string; reply: string }>();

function messagesOf(turns: readonly TurnFields[], text: string): TemplateMessage[] {
  const out: TemplateMessage[] = [];
  for (const t of turns) {
    const r = raw.get(t);
    if (t.Human) out.push({ role: 'user', content: r?.user ?? fieldBody('Human', t.Human) });
    if (t.MOSS) out.push({ role: 'assistant', content: r?.reply ?? fieldBody('MOSS', t.MOSS) });
  }
  out.push({ role: 'user', content: text });
  return out;
}

/** Runs one turn; null when `signal` aborted it (nothing is added to the session). */
export async function runTemplateChatTurn(setup: TurnSetup & { readonly template: ChatTemplate }, session: Session, text: string, signal: AbortSignal, printer?: TurnPrinter): Promise<TurnJson | null> {
  const r = await runTemplateTurn(setup.template, messagesOf(session.state.turns, text), {
    model: setup.generator, tokenizer: setup.tokenizer, maxContext: setup.maxContext, maxNewTokens: setup.maxNewTokens, signal,
    onText: (t) => printer?.event({ type: 'field', field: 'MOSS', text: t, done: false }),
  });
  printer?.event({ type: 'field', field: 'MOSS', text: '', done: true });
  printer?.finish();
  if (signal.aborted) return null;
  const turn: TurnFields = { Human: fieldText('Human', ` ${text}`), MOSS: fieldText('MOSS', ` ${r.reply}`) };
  raw.set(turn, { user: text, reply: r.reply });
  session.push(turn);
  return turnJson(turn, [], r.reply);
}
