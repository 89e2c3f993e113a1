/**
 * One `moss chat` turn: runs the plugin loop (`chatTurn`) on the session's history and switches,
 * streams the output to a TurnPrinter (if any), records the plugin calls, and returns the turn as
 * the JSON shape `--json` prints. A cancelled turn (Ctrl-C) returns null and is not kept.
 * Deliberately no terminal handling (./repl.ts) and no argument parsing (./setup.ts).
 */
import { fieldBody, type TurnFields } from '../../chat/format.js';
import { chatTurn, type TokenGenerator } from '../../chat/loop.js';
import type { Session } from '../../chat/session.js';
import type { TurnPrinter } from './render.js';
import type { ChatSetup } from './setup.js';

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

export function turnJson(t: TurnFields, calls: CallJson[]): TurnJson {
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
    moss: t.MOSS ? fieldBody('MOSS', t.MOSS) : '',
    calls,
  };
}

/** What a turn needs from the set-up (the model may be any TokenGenerator, e.g. a scripted one in tests). */
export type TurnSetup = Pick<ChatSetup, 'tokenizer' | 'plugins' | 'maxContext' | 'maxNewTokens'> & { readonly generator: TokenGenerator };

/** Wraps the model so the printer learns where each generation starts and ends. */
function watched(setup: TurnSetup, printer: TurnPrinter | undefined): TokenGenerator {
  const inner = setup.generator;
  if (!printer) return inner;
  return {
    async *generate(promptIds, opts) {
      printer.begin(setup.tokenizer.decode(promptIds));
      try {
        yield* inner.generate(promptIds, opts);
      } finally {
        printer.end();
      }
    },
  };
}

/** Runs one turn; returns null when `signal` aborted it (nothing is added to the session). */
export async function runTurn(setup: TurnSetup, session: Session, text: string, signal: AbortSignal, printer?: TurnPrinter): Promise<TurnJson | null> {
  const calls: CallJson[] = [];
  const turn = await chatTurn(session.state.turns, text, {
    model: watched(setup, printer),
    tokenizer: setup.tokenizer,
    plugins: setup.plugins,
    switches: session.state.switches,
    maxContext: setup.maxContext,
    maxNewTokens: setup.maxNewTokens,
    signal,
    onEvent: (e) => {
      if (e.type === 'text') printer?.text(e.text);
      else {
        calls.push({ name: e.name, arg: e.arg, ok: e.ok, ...(e.message !== undefined ? { message: e.message } : {}) });
        if (!e.ok) printer?.note(`${e.name}("${e.arg}"): ${e.message ?? 'failed'}`);
      }
    },
  });
  printer?.finish();
  if (signal.aborted) return null;
  session.push(turn);
  return turnJson(turn, calls);
}
