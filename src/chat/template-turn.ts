/**
 * One assistant turn of a non-MOSS model through its chat template (./template.ts): the prompt ids
 * of the messages (the oldest non-system messages dropped until it fits, unless `keepHistory`), the
 * model's tokens until one of its stop ids, a stop string or the budget, decoded as a stream with
 * control tokens left out. When tools were offered, the reply is read for tool calls in the forms
 * chat templates teach (Hermes/Qwen `<tool_call>{…}</tool_call>`, Llama 3.1's bare
 * `{"name": …, "parameters": …}`, Mistral's `[TOOL_CALLS] [...]`).
 * The MOSS family has its own turn (./loop.ts); a `TokenGenerator` is the seam to src/generate.
 * Deliberately no sampling, no HTTP, no terminal I/O here.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import type { TokenGenerator } from './loop.js';
import { StopStrings } from '../generate/stop.js';
import type { ChatTemplate, TemplateMessage } from './template.js';

export interface TemplateTurnOptions {
  readonly model: TokenGenerator;
  readonly tokenizer: Tokenizer;
  readonly maxContext: number;
  readonly maxNewTokens: number;
  /** OpenAI-style tool definitions, rendered by the template and read back from the reply. */
  readonly tools?: readonly unknown[];
  /** Extra stop strings (a client's `stop`); the template's own are added. */
  readonly stop?: readonly string[];
  /** Never drop old messages (the server's way: a prompt that does not fit is the client's 400). */
  readonly keepHistory?: boolean;
  readonly signal?: AbortSignal;
  /** Reply text as it arrives (not called when tools were offered: the reply may be a call). */
  readonly onText?: (text: string) => void;
  /** Every generated id, in order, before its text is read, and whether it is a stop id (log-probabilities of the reply). */
  readonly onToken?: (id: number, stop: boolean) => void;
}

export interface TemplateToolCall {
  readonly name: string;
  /** JSON text of the arguments. */
  readonly arguments: string;
}

export interface TemplateTurnResult {
  readonly reply: string;
  readonly toolCalls: readonly TemplateToolCall[];
  readonly finish: 'stop' | 'length' | 'abort' | 'tool_calls';
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Prompt ids of `messages`, dropping the oldest non-system ones (never the last) until `reserve` tokens are left. */
export function fitTemplatePrompt(tpl: ChatTemplate, tok: Tokenizer, messages: readonly TemplateMessage[], ctx: number, reserve: number, tools?: readonly unknown[]): number[] {
  let msgs = [...messages];
  for (;;) {
    const { ids } = tpl.encode(tok, msgs, { tools });
    const firstDroppable = msgs.findIndex((m) => m.role !== 'system');
    if (ids.length + reserve <= ctx || firstDroppable < 0 || firstDroppable >= msgs.length - 1) {
      if (ids.length + Math.min(reserve, 16) > ctx) throw new Error(`the prompt has ${ids.length} tokens, which does not fit the context of ${ctx} tokens`);
      return ids;
    }
    msgs = msgs.filter((_, i) => i !== firstDroppable);
  }
}

function callOf(o: unknown): TemplateToolCall | null {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const r = o as { name?: unknown; arguments?: unknown; parameters?: unknown };
  if (typeof r.name !== 'string') return null;
  const a = r.arguments ?? r.parameters ?? {};
  return { name: r.name, arguments: typeof a === 'string' ? a : JSON.stringify(a) };
}

function json(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Tool calls written in a reply, or [] when it is plain text. */
export function parseToolCalls(reply: string): TemplateToolCall[] {
  const tagged = [...reply.matchAll(/<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g)].map((m) => callOf(json(m[1])));
  if (tagged.length && tagged.every((c) => c !== null)) return tagged as TemplateToolCall[];
  const t = reply.trim().replace(/^<\|python_tag\|>/, '').replace(/^\[TOOL_CALLS\]\s*/, '');
  const v = json(t);
  if (Array.isArray(v)) {
    const calls = v.map(callOf);
    return calls.length && calls.every((c) => c !== null) ? (calls as TemplateToolCall[]) : [];
  }
  const one = callOf(v);
  return one ? [one] : [];
}

/** Runs one assistant turn (see the header). `promptIds` may be given when already encoded (and checked). */
export async function runTemplateTurn(tpl: ChatTemplate, messages: readonly TemplateMessage[], o: TemplateTurnOptions, promptIds?: readonly number[]): Promise<TemplateTurnResult> {
  const tok = o.tokenizer;
  const tools = o.tools?.length ? o.tools : undefined;
  const p = promptIds ?? fitTemplatePrompt(tpl, tok, messages, o.maxContext, o.keepHistory ? 1 : o.maxNewTokens, tools);
  const stopIds = new Set(tpl.stopIds(tok));
  const cut = new StopStrings([...tpl.stopStrings, ...(o.stop ?? [])]);
  const ac = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
  const dec = tok.streamDecoder({ skipSpecial: true });
  let reply = '';
  let n = 0;
  let sawStop = false;
  const out = (s: string): void => {
    if (!s) return;
    reply += s;
    if (!tools) o.onText?.(s);
  };
  for await (const id of o.model.generate(p, { stopIds: [...stopIds], maxNewTokens: Math.min(o.maxNewTokens, o.maxContext - p.length), signal })) {
    n++;
    o.onToken?.(id, stopIds.has(id));
    if (stopIds.has(id)) {
      sawStop = true;
      break;
    }
    out(cut.push(dec.push(id)));
    if (cut.stopped) {
      ac.abort();
      break;
    }
  }
  if (!cut.stopped) out(cut.push(dec.flush()) + cut.flush());
  const calls = tools ? parseToolCalls(reply) : [];
  const finish: TemplateTurnResult['finish'] = calls.length ? 'tool_calls' : sawStop || cut.stopped ? 'stop' : o.signal?.aborted ? 'abort' : n >= Math.min(o.maxNewTokens, o.maxContext - p.length) ? 'length' : 'stop';
  return { reply: calls.length ? '' : reply, toolCalls: calls, finish, promptTokens: p.length, completionTokens: n };
}
