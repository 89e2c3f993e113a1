/**
 * Chat messages (the OpenAI shape: system / user / assistant with tool calls / tool) as a MOSS
 * conversation for ./loop.ts — the MOSS family's "messages -> prompt" function; other families
 * (Jinja chat templates) plug in beside it. Every turn gets the fields the SFT data has: an
 * assistant reply without tool calls gets the `None` thoughts, commands and results; tool calls
 * become `<|Commands|>: Name("arg")`, tool messages the `<|Results|>:` body in the data's layout
 * (./commands.ts). An assistant message may instead give a field's body verbatim (`fields`, the
 * server's `moss_fields`, as the model and the plugins wrote it), so a turn comes back exactly as it
 * was seen. Every text from the client is untrusted (defanged, encoded without control tokens by
 * ./format.ts). Deliberately no generation and no OpenAI tool schemas here.
 */
import { formatResults, type Command, type Outcome } from './commands.js';
import { defang, fieldText, noneFields, type FieldName, type TurnFields } from './format.js';
import type { Conversation } from './loop.js';
import { anyPlugin, metaInstruction, qualityLine, type PluginSwitches, type QualityTag } from './meta.js';

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly toolCallId?: string;
  /** An assistant's `reasoning_content` (MOSS inner thoughts), sent back by clients that keep it. */
  readonly reasoning?: string;
  /** An assistant's thoughts, commands and results as raw field bodies (between header and end token); they replace
   *  what its reasoning, tool calls and (on the reply) tool messages would give. */
  readonly fields?: Partial<Record<'Inner Thoughts' | 'Commands' | 'Tool Responses', string>>;
}

export interface MessageOptions {
  /** Switch lines of the meta instruction (unless a system message replaces it). */
  readonly switches: PluginSwitches;
  /** More tool lines after the switch lines (client tools that are not MOSS plugins). */
  readonly extraLines?: string;
  /** A client's tool call as the MOSS command the model would have written (default: name and the raw arguments). */
  readonly toCommand?: (c: ToolCall) => Command;
  /** Quality tag for a steer-trained model: its line ends the meta instruction (after any system text and tool lines). */
  readonly quality?: QualityTag;
}

/** A tool message's text as the outcome formatResults expects for that command. */
export function toolOutcome(cmd: Command, text: string): Outcome {
  const t = text.trim();
  if (!t) return { ok: false, message: 'empty' };
  if (cmd.name === 'Search') return { ok: true, result: { kind: 'hits', hits: t.split('\n').filter(Boolean).map((snippet) => ({ snippet })) } };
  if (cmd.name === 'Solve') return { ok: true, result: { kind: 'lines', lines: t.split('\n') } };
  if (cmd.name === 'Text2Image') return { ok: true, result: { kind: 'image', files: [t] } };
  return { ok: true, result: { kind: 'value', text: t } };
}

/** Writes a command as the model does: `Name("arg")`. */
export function commandText(c: Command): string {
  return `${c.name}(${c.json ? defang(c.arg) : JSON.stringify(defang(c.arg))})`;
}

/**
 * The conversation of `messages`; the last one must be from the user or a tool.
 * @example messagesConversation([{ role: 'user', content: 'hi' }], { switches: ALL_OFF })
 */
export function messagesConversation(messages: readonly ChatMessage[], o: MessageOptions): Conversation {
  const pluginsOn = anyPlugin(o.switches) || !!o.extraLines;
  const sys = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  const meta = [
    sys ? { text: sys.endsWith('\n') ? sys : `${sys}\n`, trusted: false, loss: false } : { text: metaInstruction(o.switches), trusted: true, loss: false },
    { text: o.extraLines ?? '', trusted: false, loss: false },
    { text: o.quality ? qualityLine(o.quality) : '', trusted: true, loss: false },
  ];
  const toCommand = o.toCommand ?? ((c: ToolCall) => ({ name: c.name, arg: c.arguments }));
  const turns: TurnFields[] = [];
  let pending: { calls: readonly ToolCall[]; cmds: Command[]; results: (Outcome | undefined)[] } | null = null;
  const cur = (): TurnFields => turns[turns.length - 1];
  const verbatim = (m: ChatMessage): void => {
    for (const [k, v] of Object.entries(m.fields ?? {})) cur()[k as FieldName] = fieldText(k as FieldName, defang(v));
  };
  const flush = (): void => {
    if (!pending) return;
    const { cmds, results } = pending;
    cur()['Tool Responses'] = formatResults(cmds, cmds.map((_, i) => results[i] ?? { ok: false, message: 'no result' }), true);
    pending = null;
  };
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (m.role === 'user') {
      flush();
      const t = turns.length ? cur() : undefined;
      if (t?.['Tool Responses'] && !t.MOSS) t.MOSS = fieldText('MOSS', ' ');
      turns.push({ Human: fieldText('Human', ` ${defang(m.content)}`) });
      return;
    }
    if (!turns.length) throw new Error(`messages[${i}]: the conversation must start with a user message`);
    const t = cur();
    if (m.role === 'tool') {
      if (!pending) throw new Error(`messages[${i}]: a tool message must follow an assistant message with tool_calls`);
      const at = pending.calls.findIndex((c) => c.id === m.toolCallId);
      const idx = at >= 0 ? at : pending.results.findIndex((r) => r === undefined);
      if (idx >= 0 && idx < pending.cmds.length) pending.results[idx] = toolOutcome(pending.cmds[idx], m.content);
      return;
    }
    if (m.toolCalls?.length) {
      flush();
      const cmds = m.toolCalls.map(toCommand);
      t['Inner Thoughts'] = fieldText('Inner Thoughts', ` ${defang(m.reasoning || m.content || 'None')}`);
      t.Commands = fieldText('Commands', ` ${cmds.map(commandText).join(', ')}`);
      pending = { calls: m.toolCalls, cmds, results: cmds.map(() => undefined) };
      verbatim(m);
      return;
    }
    flush();
    if (!t['Tool Responses']) {
      Object.assign(t, noneFields(pluginsOn));
      if (m.reasoning) t['Inner Thoughts'] = fieldText('Inner Thoughts', ` ${defang(m.reasoning)}`);
    }
    verbatim(m);
    t.MOSS = fieldText('MOSS', ` ${defang(m.content)}`);
  });
  const last = messages[messages.length - 1];
  if (!last || (last.role !== 'user' && last.role !== 'tool')) throw new Error(`messages[${messages.length - 1}]: the last message must be from the user or a tool`);
  flush();
  return { meta, history: turns.slice(0, -1), current: cur(), tools: pluginsOn || o.switches.innerThoughts, pluginsOn };
}
