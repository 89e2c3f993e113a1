/**
 * OpenAI tools <-> MOSS commands. Tools named like MOSS's plugins (Search, Calculate, Solve,
 * Text2Image, or search / calculator / solver / text2image) switch those lines of the meta
 * instruction on; other functions get an extra `- name: enabled. API: name(param)` line. A tool
 * whose schema is one string parameter keeps MOSS's `Name("arg")` (the JSON arguments become the
 * one string and back); any other schema is written `Name({...JSON arguments...})` (`jsonArgs`),
 * which constrained decoding (./tool-grammar.ts) keeps valid. The conversation
 * itself is rendered by src/chat (messagesConversation + the one renderer).
 * Deliberately no generation and no prompt text here.
 */
import type { Command } from '../chat/commands.js';
import type { ToolCall } from '../chat/messages.js';
import { ALL_OFF, anyPlugin, COMMAND_SWITCH, type PluginSwitches } from '../chat/meta.js';
import { isObj, type Obj, type ToolChoice, type ToolDef } from './validate.js';

/** OpenAI function name (lower-cased) -> MOSS command name. */
const ALIASES: Record<string, string> = {
  search: 'Search', web_search: 'Search', calculate: 'Calculate', calculator: 'Calculate',
  solve: 'Solve', solver: 'Solve', equation_solver: 'Solve', text2image: 'Text2Image', text_to_image: 'Text2Image',
};

/** How the request's tools appear to the model. */
export interface ToolMap {
  readonly switches: PluginSwitches;
  /** MOSS command name -> the client's tool. */
  readonly byCommand: Map<string, ToolDef>;
  /** Extra meta-instruction lines for non-MOSS tools (untrusted text). */
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

const PLAIN = new Set(['type', 'description', 'title']);

/** The one string parameter of a MOSS-style tool (`Name("arg")`), or null when its arguments are a JSON object. */
export function stringParam(t: ToolDef): { name: string; schema: Obj } | null {
  const p = t.parameters;
  if (!p) return { name: argName(t), schema: { type: 'string' } };
  const props = isObj(p.properties) ? Object.keys(p.properties) : [];
  const s = props.length === 1 ? (p.properties as Obj)[props[0]] : undefined;
  if (!isObj(s) || s.type !== 'string' || Object.keys(s).some((k) => !PLAIN.has(k))) return null;
  if (Object.keys(p).some((k) => !['type', 'properties', 'required', 'additionalProperties', 'description', 'title', '$schema'].includes(k))) return null;
  return { name: props[0], schema: s };
}

/** Whether a tool's command carries its arguments as a JSON object. */
export function jsonArgs(t: ToolDef): boolean {
  return stringParam(t) === null;
}

/** What the meta instruction shows as a tool's API: `name(param)` or `Name({"a": number, "b": string})`. */
function apiText(t: ToolDef, cmd: string): string {
  if (!jsonArgs(t)) return `${cmd}(${argName(t)})`;
  const props = isObj(t.parameters?.properties) ? t.parameters.properties : {};
  const fields = Object.entries(props).map(([k, v]) => `"${k}": ${isObj(v) && Array.isArray(v.enum) ? v.enum.map((e) => JSON.stringify(e)).join('|') : isObj(v) && typeof v.type === 'string' ? v.type : 'value'}`);
  return `${cmd}({${fields.join(', ')}})`;
}

/** The tools offered (none with tool_choice "none"); inner thoughts go with any tool, as in the MOSS data. */
export function toolMap(tools: readonly ToolDef[], choice: ToolChoice): ToolMap {
  const on = choice === 'none' ? [] : tools;
  const switches: Record<keyof PluginSwitches, boolean> = { ...ALL_OFF };
  const byCommand = new Map<string, ToolDef>();
  let extraLines = '';
  for (const t of on) {
    const cmd = commandName(t);
    byCommand.set(cmd, t);
    if (COMMAND_SWITCH[cmd]) switches[COMMAND_SWITCH[cmd]] = true;
    else extraLines += `- ${t.name}: enabled. API: ${apiText(t, cmd)}${t.description ? ` — ${t.description.replace(/\n/g, ' ')}` : ''}\n`;
  }
  switches.innerThoughts = anyPlugin(switches) || byCommand.size > 0;
  return { switches, byCommand, extraLines };
}

/** A tool call turned back into a MOSS command (arguments JSON -> the single string argument). */
export function callToCommand(c: ToolCall, tools: ToolMap): Command {
  const def = [...tools.byCommand.values()].find((d) => d.name === c.name);
  let arg = c.arguments;
  if (def && jsonArgs(def)) {
    try {
      return { name: commandName(def), arg: JSON.stringify(JSON.parse(c.arguments)), json: true };
    } catch {
      return { name: commandName(def), arg: '{}', json: true };
    }
  }
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
  return { name: def ? commandName(def) : (ALIASES[c.name.toLowerCase()] ?? c.name), arg };
}

/** The model's commands as OpenAI tool calls (unknown commands are dropped). */
export function commandsToCalls(cmds: readonly Command[], tools: ToolMap): { name: string; arguments: string }[] {
  const out: { name: string; arguments: string }[] = [];
  for (const c of cmds) {
    const def = tools.byCommand.get(c.name);
    if (!def) continue;
    if (!jsonArgs(def)) out.push({ name: def.name, arguments: JSON.stringify({ [argName(def)]: c.arg }) });
    else if (c.json) out.push({ name: def.name, arguments: compactJson(c.arg) });
  }
  return out;
}

/** A JSON text in its compact form (the text itself when it does not parse). */
function compactJson(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s));
  } catch {
    return s;
  }
}
