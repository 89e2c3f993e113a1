/**
 * One `moss chat` turn: runs the chat loop (src/chat `runTurn`, plugins run locally) on the
 * session's history and switches, streams the fields to a TurnPrinter (if any), records the plugin
 * calls, and returns the turn as the JSON shape `--json` prints. A cancelled turn (Ctrl-C) returns
 * null and is not kept. Deliberately no terminal handling (./repl.ts) and no argument parsing (./setup.ts).
 */
import { fieldBody, type TurnFields } from '../../chat/format.js';
import { conversation, pluginRunner, runTurn as runChatTurn, type LoopEvent, type TokenGenerator } from '../../chat/loop.js';
import type { Session } from '../../chat/session.js';
import type { TurnPrinter } from './render.js';
import type { ChatSetup } from './setup.js';
import { runTemplateChatTurn } from './template-turn.js';

/** A plugin call as `--json` reports it. */
export interface CallJson {
  name: string;
  arg: string;
  ok: boolean;
  message?: string;
}

/** A turn as `--json` prints it (bodies without headers and end tokens; `None` fields are null). */
export interface TurnJson {
  human: string;
  inner_thoughts: string | null;
  commands: string | null;
  results: string | null;
  moss: string;
  calls: CallJson[];
}

export function turnJson(t: TurnFields, calls: CallJson[], reply?: string): TurnJson {
  const body = (k: keyof TurnFields): string | null => {
    const v = t[k];
    if (v === undefined) return null;
    const b = fieldBody(k, v).trim();
    return b === 'None' ? null : b;
  };
  return {
    human: t.Human ? fieldBody('Human', t.Human) : '',
    inner_thoughts: body('Inner Thoughts'),
    commands: body('Commands'),
    results: body('Tool Responses'),
    moss: reply ?? (t.MOSS ? fieldBody('MOSS', t.MOSS) : ''),
    calls,
  };
}

/** What a turn needs from the set-up (the model may be any TokenGenerator, e.g. a scripted one in tests). */
export type TurnSetup = Pick<ChatSetup, 'tokenizer' | 'plugins' | 'maxContext' | 'maxNewTokens' | 'template' | 'quality'> & { readonly generator: TokenGenerator };

/** Runs one turn; returns null when `signal` aborted it (nothing is added to the session). */
export async function runTurn(setup: TurnSetup, session: Session, text: string, signal: AbortSignal, printer?: TurnPrinter): Promise<TurnJson | null> {
  if (setup.template) return runTemplateChatTurn({ ...setup, template: setup.template }, session, text, signal, printer);
  const calls: CallJson[] = [];
  const switches = session.state.switches;
  const onEvent = (e: LoopEvent): void => {
    if (e.type === 'field') printer?.event(e);
    else {
      calls.push({ name: e.name, arg: e.arg, ok: e.ok, ...(e.message !== undefined ? { message: e.message } : {}) });
      if (!e.ok) printer?.note(`${e.name}("${e.arg}"): ${e.message ?? 'failed'}`);
    }
  };
  const r = await runChatTurn(conversation(switches, session.state.turns, text, setup.quality), {
    model: setup.generator, tokenizer: setup.tokenizer, maxContext: setup.maxContext, maxNewTokens: setup.maxNewTokens, signal, onEvent,
    run: pluginRunner({ plugins: setup.plugins, switches, signal, onEvent }),
  });
  printer?.finish();
  if (signal.aborted) return null;
  session.push(r.turn);
  return turnJson(r.turn, calls, r.reply);
}
