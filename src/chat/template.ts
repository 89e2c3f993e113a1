/**
 * Chat templates of non-MOSS models: the Jinja `chat_template` of tokenizer_config.json or GGUF
 * `tokenizer.chat_template`, rendered with @huggingface/jinja (the implementation transformers.js
 * uses) exactly as transformers' `apply_chat_template(messages, tools=…, add_generation_prompt=…)`
 * renders it (bos_token/eos_token and `tools` in the context; `raise_exception`, `strftime_now`
 * from the library), and turned into ids so that only control tokens written by the template itself
 * become control tokens (DESIGN.md §5): every string from the client (message contents, tool calls,
 * tool definitions, names) has its control-token text (`<|eot_id|>`, `<|im_end|>`, …) replaced by a
 * private-use marker before rendering; control tokens are matched in the rendered text (which then
 * holds only the template's), and the text between them — markers turned back into the user's
 * literal text — is encoded with control tokens off, as plain text. For ordinary conversations the
 * ids equal HF's `encode(rendered, add_special_tokens=False)`.
 * A model without a template gets PLAIN_TEMPLATE: a lone user message is the prompt as is (a base
 * model continues it), longer chats a `User:`/`Assistant:` transcript stopped at `\nUser:`.
 * Deliberately not here: where templates come from (./template-source.ts), the MOSS format
 * (./format.ts, ./messages.ts), parsing tool calls out of model output.
 */
import { Template } from '@huggingface/jinja';
import type { Tokenizer } from '../tokenizer/index.js';

/** A message as chat templates read it (the OpenAI / transformers shape). */
export interface TemplateMessage {
  readonly role: string;
  readonly content: string | null | readonly unknown[];
  readonly name?: string;
  readonly tool_calls?: readonly { readonly id?: string; readonly type: 'function'; readonly function: { readonly name: string; readonly arguments: unknown } }[];
  readonly tool_call_id?: string;
}

/** A message as the rest of MOSS.ts passes it (src/chat/messages.ts's ChatMessage). */
export interface PlainMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly toolCalls?: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly toolCallId?: string;
  /** The tool's name on a tool message (some templates print it). */
  readonly name?: string;
}

/** Where a model's template and stop tokens come from (./template-source.ts fills it). */
export interface ChatTemplateInfo {
  /** Jinja source; undefined: the model has none (PLAIN_TEMPLATE). */
  readonly template?: string;
  /** A second template used when tools are given (HF's named `tool_use` template), if any. */
  readonly toolTemplate?: string;
  /** Text of BOS / EOS as the template prints them (`bos_token`, `eos_token`). */
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** Prepend BOS when the rendered prompt does not start with it (SentencePiece models, add_bos_token). */
  readonly addBos?: boolean;
  /** Token ids that end the assistant's turn (EOS, EOT, generation_config eos ids). */
  readonly stopIds?: readonly number[];
  /** For errors: the file and field the template came from. */
  readonly source: string;
}

export interface RenderOptions {
  /** End with the assistant header so the model writes the reply (default true). */
  readonly addGenerationPrompt?: boolean;
  /** OpenAI-style tool definitions ({type: 'function', function: {name, description, parameters}}). */
  readonly tools?: readonly unknown[];
}

/** A template that failed to parse or render; the message names the source and Jinja's error. */
export class TemplateError extends Error {}

/** The fallback for models without a chat template (see the header). */
export const PLAIN_TEMPLATE =
  "{%- if messages | length == 1 and messages[0].role == 'user' %}{{ messages[0].content }}" +
  "{%- else %}{% for m in messages %}{% if m.role == 'system' %}{{ m.content + '\\n\\n' }}" +
  "{%- elif m.role == 'user' %}{{ 'User: ' + m.content + '\\n' }}{% elif m.role == 'assistant' %}{{ 'Assistant: ' + m.content + '\\n' }}" +
  "{%- else %}{{ m.role + ': ' + m.content + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}{% endif %}";

const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKER = /\uE000(\d+)\uE001/g;

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Control-token strings of a tokenizer and a leftmost-longest regex over them (cached per tokenizer). */
interface Specials {
  readonly find: RegExp | null;
  /** Specials plus the marker characters: what is escaped in client strings. */
  readonly escape: RegExp;
}
const specialsCache = new WeakMap<Tokenizer, Specials>();

function specialsOf(tok: Tokenizer): Specials {
  let s = specialsCache.get(tok);
  if (s !== undefined) return s;
  const texts = new Set<string>();
  for (let id = 0; id < tok.vocabSize; id++) {
    if (!tok.isSpecial(id)) continue;
    const t = tok.idToToken(id);
    if (t !== undefined && t.length > 0 && tok.tokenToId(t) === id) texts.add(t);
  }
  const sorted = [...texts].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map(escapeRegex);
  s = {
    find: sorted.length ? new RegExp(sorted.join('|'), 'gu') : null,
    escape: new RegExp([...sorted, OPEN, CLOSE].join('|'), 'gu'),
  };
  specialsCache.set(tok, s);
  return s;
}

/** Deep copy of a client value with every string (and key) escaped. */
function escapeDeep(v: unknown, esc: (s: string) => string): unknown {
  if (typeof v === 'string') return esc(v);
  if (Array.isArray(v)) return v.map((x) => escapeDeep(x, esc));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[esc(k)] = escapeDeep(x, esc);
    return o;
  }
  return v;
}

/** MOSS.ts messages in the shape templates read (tool-call arguments as objects, as transformers passes them). */
export function templateMessages(messages: readonly PlainMessage[]): TemplateMessage[] {
  return messages.map((m) => {
    const out: { -readonly [K in keyof TemplateMessage]: TemplateMessage[K] } = { role: m.role, content: m.content };
    if (m.toolCalls?.length) {
      out.tool_calls = m.toolCalls.map((c) => {
        let args: unknown = c.arguments;
        try {
          args = JSON.parse(c.arguments);
        } catch {
          // not JSON: the raw string
        }
        return { id: c.id, type: 'function' as const, function: { name: c.name, arguments: args } };
      });
    }
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    if (m.name !== undefined) out.name = m.name;
    return out;
  });
}

/** A compiled chat template for one model. */
export class ChatTemplate {
  readonly info: ChatTemplateInfo;
  /** Whether the model has no template of its own (PLAIN_TEMPLATE is used). */
  readonly isPlain: boolean;
  /** Text that ends the assistant's turn besides the stop ids (PLAIN_TEMPLATE: `\nUser:`). */
  readonly stopStrings: readonly string[];
  private readonly main: Template;
  private readonly tool: Template | undefined;

  constructor(info: ChatTemplateInfo) {
    this.info = info;
    this.isPlain = info.template === undefined;
    this.stopStrings = this.isPlain ? ['\nUser:'] : [];
    this.main = this.compile(info.template ?? PLAIN_TEMPLATE);
    this.tool = info.toolTemplate === undefined ? undefined : this.compile(info.toolTemplate);
  }

  private compile(src: string): Template {
    try {
      return new Template(src);
    } catch (e) {
      throw new TemplateError(`chat template (${this.info.source}) does not parse: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Whether the template reads `tools` (else tool definitions have nowhere to go). */
  get supportsTools(): boolean {
    return this.tool !== undefined || /\btools\b/.test(this.info.template ?? '');
  }

  /** Renders messages to text, as transformers' apply_chat_template(tokenize=False) does. */
  render(messages: readonly TemplateMessage[], opts: RenderOptions = {}): string {
    return this.renderRaw(messages, opts);
  }

  private renderRaw(messages: readonly unknown[], opts: RenderOptions, tools?: readonly unknown[]): string {
    const t = (opts.tools?.length ? this.tool : undefined) ?? this.main;
    const ctx: Record<string, unknown> = {
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.info.bosToken ?? '',
      eos_token: this.info.eosToken ?? '',
    };
    const tl = tools ?? opts.tools;
    if (tl?.length) ctx.tools = tl;
    try {
      return t.render(ctx);
    } catch (e) {
      throw new TemplateError(`chat template (${this.info.source}) failed to render: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * The prompt ids for `messages`: control tokens only where the template wrote them; client text
   * that spells a control token stays plain text. Also returns the rendered text (client text as sent).
   */
  encode(tok: Tokenizer, messages: readonly TemplateMessage[], opts: RenderOptions = {}): { ids: number[]; text: string } {
    const sp = specialsOf(tok);
    const originals: string[] = [];
    const esc = (s: string): string => s.replace(sp.escape, (m) => `${OPEN}${originals.push(m) - 1}${CLOSE}`);
    const rendered = this.renderRaw(escapeDeep(messages, esc) as unknown[], opts, opts.tools ? (escapeDeep(opts.tools, esc) as unknown[]) : undefined);
    const unescape = (s: string): string => (originals.length ? s.replace(MARKER, (_, k: string) => originals[Number(k)] ?? '') : s);
    const ids: number[] = [];
    let last = 0;
    const plain = (a: number, b: number): void => {
      if (b > a) for (const id of tok.encode(unescape(rendered.slice(a, b)))) ids.push(id);
    };
    if (sp.find !== null) {
      sp.find.lastIndex = 0;
      for (let m = sp.find.exec(rendered); m !== null; m = sp.find.exec(rendered)) {
        plain(last, m.index);
        ids.push(tok.tokenToId(m[0])!);
        last = m.index + m[0].length;
      }
    }
    plain(last, rendered.length);
    const bos = tok.bosId;
    if (this.info.addBos && bos !== null && ids[0] !== bos) ids.unshift(bos);
    return { ids, text: unescape(rendered) };
  }

  /** Stop ids: the info's plus the tokenizer's EOS. */
  stopIds(tok: Tokenizer): number[] {
    const s = new Set(this.info.stopIds ?? []);
    if (tok.eosId !== null) s.add(tok.eosId);
    return [...s];
  }
}
