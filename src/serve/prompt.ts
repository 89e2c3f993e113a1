/**
 * OpenAI chat messages -> a MOSS-format prompt (ids), and MOSS commands <-> OpenAI tool calls.
 * The layout is the one of MOSS's SFT data (src/chat/format.ts, commands.ts): `<|Human|>: …<eoh>`,
 * `<|Inner Thoughts|>: …<eot>`, `<|Commands|>: Name("arg")<eoc>`, `<|Results|>: …<eor>`,
 * `<|MOSS|>: …<eom>`. Tools named like MOSS's plugins (Search, Calculate, Solve, Text2Image, or
 * search / calculator / solver / text2image) switch those lines of the meta instruction on; other
 * functions get an extra `- name: enabled. API: name(param)` line. User, system and tool text is
 * neutralised and encoded without control tokens. Deliberately no generation here.
 */
import { formatResults, parseCommands, type Command, type Outcome } from '../chat/commands.js';
import { neutralize } from '../chat/format.js';
import { ALL_OFF, anyPlugin, metaInstruction, type PluginSwitches } from '../chat/meta.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ChatMessage, ToolChoice, ToolDef } from './validate.js';

/** OpenAI function name (lower-cased) -> MOSS command name. */
const ALIASES: Record<string, string> = {
  search: 'Search', web_search: 'Search', calculate: 'Calculate', calculator: 'Calculate',
  solve: 'Solve', solver: 'Solve', equation_solver: 'Solve', text2image: 'Text2Image', text_to_image: 'Text2Image',
};
const SWITCH: Record<string, keyof PluginSwitches> = { Search: 'search', Calculate: 'calculator', Solve: 'solver', Text2Image: 'text2image' };

/** How the request's tools appear to the model. */
export interface ToolMap {
  readonly switches: PluginSwitches;
  /** MOSS command name -> the client's tool. */
  readonly byCommand: Map<string, ToolDef>;
  /** Extra meta-instruction lines for non-MOSS tools. */
  readonly extraLines: string;
}

/** The command name the model writes for a tool. */
export function commandName(t: ToolDef): string {
  return ALIASES[t.name.toLowerCase()] ?? t.name;
}

/** The JSON argument name a tool's single string argument goes to (first required, else first property, else "input"). */
export function argName(t: ToolDef): string {
  const req = t.parameters?.required;
  if (Array.isArray(req) && typeof req[0] === 'string') return req[0];
  const props = t.parameters?.properties;
  if (props && typeof props === 'object') {
    const k = Object.keys(props)[0];
    if (k) return k;
  }
  return 'input';
}

export function toolMap(tools: readonly ToolDef[], choice: ToolChoice, innerThoughts = false): ToolMap {
  const on = choice === 'none' ? [] : tools;
  const switches: Record<keyof PluginSwitches, boolean> = { ...ALL_OFF, innerThoughts };
  const byCommand = new Map<string, ToolDef>();
  let extraLines = '';
  for (const t of on) {
    const cmd = commandName(t);
    byCommand.set(cmd, t);
    if (SWITCH[cmd]) switches[SWITCH[cmd]] = true;
    else extraLines += `- ${neutralize(t.name)}: enabled. API: ${cmd}(${neutralize(argName(t))})${t.description ? ` — ${neutralize(t.description).replace(/\n/g, ' ')}` : ''}\n`;
  }
  return { switches, byCommand, extraLines };
}

/** True when the model is told about any tool (then it writes thoughts and commands first). */
export function toolsOn(m: ToolMap): boolean {
  return anyPlugin(m.switches) || m.byCommand.size > 0 || m.switches.innerThoughts;
}

interface Piece { readonly text: string; readonly trusted: boolean }

/** A tool call turned back into a MOSS command (arguments JSON -> the single string argument). */
function callToCommand(c: { name: string; arguments: string }, tools: ToolMap): Command {
  const def = [...tools.byCommand.values()].find((d) => d.name === c.name);
  let arg = c.arguments;
  try {
    const parsed = JSON.parse(c.arguments) as unknown;
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      const v = def ? o[argName(def)] : Object.values(o)[0];
      arg = typeof v === 'string' ? v : JSON.stringify(v ?? '');
    } else if (typeof parsed === 'string') arg = parsed;
  } catch {
    // not JSON: the raw string is the argument
  }
  return { name: def ? commandName(def) : c.name, arg };
}

function quoteArg(s: string): string {
  return JSON.stringify(neutralize(s));
}

/** A tool message's text as the outcome formatResults expects for that command. */
function toolOutcome(cmd: Command, text: string): Outcome {
  const t = text.trim();
  if (!t) return { ok: false, message: 'empty' };
  if (cmd.name === 'Search') return { ok: true, result: { kind: 'hits', hits: t.split('\n').filter(Boolean).map((snippet) => ({ snippet })) } };
  if (cmd.name === 'Solve') return { ok: true, result: { kind: 'lines', lines: t.split('\n') } };
  if (cmd.name === 'Text2Image') return { ok: true, result: { kind: 'image', files: [t] } };
  return { ok: true, result: { kind: 'value', text: t } };
}

/** Where the prompt leaves the model. */
export type PromptEnd = 'turn' | 'reply';

export interface RenderedChat {
  readonly ids: number[];
  /** 'turn': the model writes thoughts/commands next (tools on); 'reply': it writes the `<|MOSS|>:` body. */
  readonly end: PromptEnd;
  /** Text forced after the prompt for a named tool_choice (the model continues `Name("`). */
  readonly forcedPrefix: string;
}

/**
 * Renders the conversation. The last message must be from the user or a tool.
 * @example renderChat([{ role: 'user', content: 'hi' }], tok, toolMap([], 'none')).ids
 */
export function renderChat(messages: readonly ChatMessage[], tok: Tokenizer, tools: ToolMap, choice: ToolChoice = 'auto'): RenderedChat {
  const on = toolsOn(tools);
  const sys = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  const meta = sys ? `${neutralize(sys)}${sys.endsWith('\n') ? '' : '\n'}` : metaInstruction(tools.switches);
  const pieces: Piece[] = [{ text: meta, trusted: !sys }, { text: tools.extraLines, trusted: false }];
  const noTools = `<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n${formatResults([], [], anyPlugin(tools.switches) || tools.byCommand.size > 0)}`;
  const human = (text: string): Piece[] => [{ text: '<|Human|>:', trusted: true }, { text: ` ${neutralize(text)}`, trusted: false }, { text: '<eoh>\n', trusted: true }];
  let pending: Command[] = [];
  let results: Outcome[] = [];
  let state: 'start' | 'human' | 'commands' | 'results' | 'reply' = 'start';
  const flushResults = (): void => {
    if (state !== 'commands') return;
    const text = formatResults(pending, pending.map((c, i) => results[i] ?? { ok: false, message: 'no result' }), true);
    pieces.push({ text: text.slice(0, text.indexOf(':') + 1), trusted: true }, { text: text.slice(text.indexOf(':') + 1, -'<eor>\n'.length), trusted: false }, { text: '<eor>\n', trusted: true });
    state = 'results';
  };
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (m.role === 'user') {
      flushResults();
      if (state === 'results') pieces.push({ text: '<|MOSS|>: <eom>\n', trusted: true });
      pieces.push(...human(m.content));
      state = 'human';
    } else if (m.role === 'assistant') {
      flushResults();
      if (m.toolCalls?.length) {
        pending = m.toolCalls.map((c) => callToCommand(c, tools));
        results = [];
        const thoughts = neutralize(m.reasoning || m.content || 'None');
        pieces.push({ text: '<|Inner Thoughts|>:', trusted: true }, { text: ` ${thoughts}`, trusted: false }, { text: '<eot>\n<|Commands|>:', trusted: true },
          { text: ` ${pending.map((c) => `${c.name}(${quoteArg(c.arg)})`).join(', ')}`, trusted: false }, { text: '<eoc>\n', trusted: true });
        state = 'commands';
      } else {
        if (state !== 'results') pieces.push({ text: noTools, trusted: true });
        pieces.push({ text: '<|MOSS|>:', trusted: true }, { text: ` ${neutralize(m.content)}`, trusted: false }, { text: '<eom>\n', trusted: true });
        state = 'reply';
      }
    } else {
      if (state !== 'commands') throw new Error(`messages[${i}]: a tool message must follow an assistant message with tool_calls`);
      const callIdx = messages.slice(0, i).reverse().find((x) => x.role === 'assistant')?.toolCalls?.findIndex((c) => c.id === m.toolCallId) ?? -1;
      const idx = callIdx >= 0 ? callIdx : results.length;
      if (idx < pending.length) results[idx] = toolOutcome(pending[idx], m.content);
    }
  });
  const last = messages[messages.length - 1];
  if (last.role === 'assistant' || last.role === 'system') throw new Error(`messages[${messages.length - 1}]: the last message must be from the user or a tool`);
  let end: PromptEnd = 'turn';
  let forcedPrefix = '';
  if ((state as string) === 'commands') {
    flushResults();
    pieces.push({ text: '<|MOSS|>:', trusted: true });
    end = 'reply';
  } else if (!on) {
    pieces.push({ text: `${noTools}<|MOSS|>:`, trusted: true });
    end = 'reply';
  } else if (typeof choice === 'object') {
    const def = [...tools.byCommand.values()].find((d) => d.name === choice.name)!;
    forcedPrefix = `<|Inner Thoughts|>: None<eot>\n<|Commands|>: ${commandName(def)}("`;
    pieces.push({ text: forcedPrefix, trusted: true });
  }
  const ids = pieces.flatMap((p) => (p.text ? tok.encode(p.text, { special: p.trusted ? 'allow' : 'none' }) : []));
  return { ids, end, forcedPrefix };
}

/** The model's commands as OpenAI tool calls (unknown commands are dropped). */
export function commandsToCalls(cmds: readonly Command[], tools: ToolMap): { name: string; arguments: string }[] {
  const out: { name: string; arguments: string }[] = [];
  for (const c of cmds) {
    const def = tools.byCommand.get(c.name);
    if (def) out.push({ name: def.name, arguments: JSON.stringify({ [argName(def)]: c.arg }) });
  }
  return out;
}

export { parseCommands };
