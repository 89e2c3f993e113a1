/**
 * `moss synth`'s heart: one seed prompt → one MOSS SFT conversation. The seed is the first Human
 * turn (as in MOSS-003); an assistant model answers; a simulated user (any endpoint, may be the
 * same) writes each later Human turn from the transcript, with its category's instruction
 * (./synth-prompts.ts), for a number of turns drawn from `turns` by the conversation's seed. In
 * plugin conversations the assistant gets OpenAI `tools` (Calculate, Solve, Search); its tool calls
 * are run by our real plugins (src/plugins; Search over a local folder) and the results written in
 * MOSS's `<|Results|>:` layout by src/chat, then the assistant answers from them. Every request
 * carries a seed derived from the conversation id, turn and role, so runs are reproducible and the
 * call cache applies. Model text is untrusted: control tokens are neutralised.
 * Deliberately no file handling or dedup here (./runner.ts, the CLI).
 */
import type { Plugin, PluginResult } from '../../plugins/types.js';
import { sha256 } from './cache.js';
import type { ChatFn } from './call.js';
import type { ChatMessage, ChatResult, ToolSpec } from './client.js';
import { dropReason, type FilterOptions, type TurnText } from './filters.js';
import type { Seed } from './inputs.js';
import { anyPlugin, defang, formatResults, metaInstruction, type Command, type Outcome, type PluginSwitches, type SftRecord, type TurnFields } from './moss-format.js';
import { cleanUserTurn, PLUGIN_CATEGORIES, SIM_VERSION, simSystem, simTranscript } from './synth-prompts.js';

export interface SynthOptions {
  readonly assistant: ChatFn;
  /** The simulated user's endpoint (default: the assistant's). */
  readonly user?: ChatFn;
  readonly model?: string;
  readonly userModel?: string;
  readonly turns: readonly [number, number];
  readonly seed: number;
  /** Sampling temperature of both roles (default 0.7). */
  readonly temperature?: number;
  /** max_tokens per answer (default 512). */
  readonly maxTokens?: number;
  /** Share of non-plugin seeds that become plugin conversations too (default 0). */
  readonly pluginShare?: number;
  /** Plugins by command name (Calculate, Solve, Search, …); the ones present are offered as tools. */
  readonly plugins: ReadonlyMap<string, Plugin>;
  readonly pluginTimeoutMs?: number;
  readonly filters?: FilterOptions;
  readonly signal?: AbortSignal;
}

/** The id of a conversation: a hash of the seed prompt and the run seed (re-runs are comparable). */
export function conversationId(prompt: string, seed: number): string {
  return `synth-${sha256(`${seed}\u0000${prompt}`).slice(0, 16)}`;
}

/** A 32-bit number from a conversation id and a purpose (turn counts, request seeds). */
export function derive(id: string, what: string): number {
  return parseInt(sha256(`${id}\u0000${what}`).slice(0, 8), 16);
}

const TOOLS: Record<string, { param: string; description: string; switch: keyof PluginSwitches }> = {
  Calculate: { param: 'expression', description: 'Evaluate an arithmetic expression exactly, e.g. (3+4)*2/7', switch: 'calculator' },
  Solve: { param: 'equation', description: 'Solve an equation or a system separated by ";", e.g. 2x+3=11', switch: 'solver' },
  Search: { param: 'query', description: 'Search the document collection and return the best passages', switch: 'search' },
};

function toolSpecs(plugins: ReadonlyMap<string, Plugin>): ToolSpec[] {
  return Object.entries(TOOLS).filter(([n]) => plugins.has(n)).map(([name, t]) => ({
    type: 'function', function: { name, description: t.description, parameters: { type: 'object', properties: { [t.param]: { type: 'string' } }, required: [t.param] } },
  }));
}

/** A tool call's single string argument (first string value of its JSON arguments, else the raw text). */
function callArg(args: string): string {
  try {
    const v = JSON.parse(args) as unknown;
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const s = Object.values(v as Record<string, unknown>).find((x) => typeof x === 'string');
      if (typeof s === 'string') return s;
    }
  } catch { /* not JSON */ }
  return args;
}

/** Plain text of a plugin result for the `tool` message the assistant reads. */
function resultText(r: PluginResult): string {
  if (r.kind === 'value') return r.text;
  if (r.kind === 'lines') return r.lines.join('\n');
  if (r.kind === 'hits') return r.hits.map((h, i) => `[${i + 1}] ${h.snippet}`).join('\n');
  return 'Image generated successfully.';
}

async function runPlugin(p: Plugin | undefined, c: Command, ms: number): Promise<Outcome> {
  if (!p) return { ok: false, message: `unknown tool ${c.name}` };
  try {
    return { ok: true, result: await p.run(c.arg, { timeoutMs: ms, signal: AbortSignal.timeout(ms) }) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

const field = (head: string, body: string, end: string): string => `${head} ${body}${end}\n`;
const clean = (s: string): string => defang(s).trim();

export type SynthResult = { readonly record: SftRecord; readonly turns: readonly TurnText[] } | { readonly drop: string };

/** One conversation from one seed. Endpoint failures throw (the runner retries the item next run). */
export async function synthConversation(seed: Seed, o: SynthOptions): Promise<SynthResult> {
  const id = conversationId(seed.prompt, o.seed);
  const [a, b] = o.turns;
  const nTurns = a + (derive(id, 'turns') % (b - a + 1));
  const category = seed.category ?? 'general';
  const pluginMode = PLUGIN_CATEGORIES.has(category) || derive(id, 'plugin') / 2 ** 32 < (o.pluginShare ?? 0);
  const switches: PluginSwitches = pluginMode
    ? { innerThoughts: true, calculator: o.plugins.has('Calculate'), solver: o.plugins.has('Solve'), search: o.plugins.has('Search'), text2image: false }
    : { innerThoughts: false, calculator: false, solver: false, search: false, text2image: false };
  const meta = metaInstruction(switches);
  const tools = pluginMode ? toolSpecs(o.plugins) : [];
  const common = { model: o.model, temperature: o.temperature ?? 0.7, max_tokens: o.maxTokens ?? 512 };
  const history: ChatMessage[] = [{ role: 'system', content: meta }];
  const texts: TurnText[] = [];
  const chat: Record<string, TurnFields> = {};
  let human = clean(seed.prompt);
  for (let t = 1; t <= nTurns; t++) {
    if (t > 1) {
      const r = await (o.user ?? o.assistant)({
        model: o.userModel ?? o.model, temperature: common.temperature, max_tokens: Math.min(common.max_tokens, 256), seed: derive(id, `user:${t}`),
        messages: [{ role: 'system', content: `${simSystem(category)}\n(${SIM_VERSION})` }, { role: 'user', content: simTranscript(texts) }],
      }, o.signal);
      const next = cleanUserTurn(clean(r.content));
      if (!next) break; // the simulated user gave nothing usable: the conversation ends here
      human = next;
    }
    const ask: ChatMessage[] = [...history, { role: 'user', content: human }];
    const first: ChatResult = await o.assistant({ ...common, messages: ask, seed: derive(id, `assistant:${t}`), ...(tools.length ? { tools } : {}) }, o.signal);
    let reply = first.content;
    let thoughts = first.reasoning ?? '';
    const cmds: Command[] = [];
    const outcomes: Outcome[] = [];
    if (pluginMode && first.toolCalls?.length) {
      const calls = first.toolCalls.slice(0, 4);
      for (const c of calls) {
        const cmd = { name: c.function.name, arg: clean(callArg(c.function.arguments)) };
        cmds.push(cmd);
        outcomes.push(await runPlugin(TOOLS[cmd.name] ? o.plugins.get(cmd.name) : undefined, cmd, o.pluginTimeoutMs ?? 10_000));
      }
      if (!thoughts && first.content.trim()) thoughts = first.content;
      const toolMsgs: ChatMessage[] = calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: outcomes[i].ok ? resultText((outcomes[i] as { result: PluginResult }).result) : 'No result.' }));
      const second = await o.assistant({ ...common, messages: [...ask, { role: 'assistant', content: first.content, tool_calls: calls }, ...toolMsgs], seed: derive(id, `reply:${t}`), tools }, o.signal);
      reply = second.content;
    }
    reply = clean(reply);
    if (!reply) {
      if (t === 1) return { drop: 'malformed' };
      break;
    }
    chat[`turn_${t}`] = {
      Human: field('<|Human|>:', human, '<eoh>'),
      'Inner Thoughts': field('<|Inner Thoughts|>:', pluginMode && clean(thoughts) ? clean(thoughts) : 'None', '<eot>'),
      Commands: field('<|Commands|>:', cmds.length ? cmds.map((c) => `${c.name}(${JSON.stringify(c.arg)})`).join(', ') : 'None', '<eoc>'),
      'Tool Responses': formatResults(cmds, outcomes, anyPlugin(switches)),
      MOSS: field('<|MOSS|>:', reply, '<eom>'),
    };
    texts.push({ human, reply });
    history.push({ role: 'user', content: human }, { role: 'assistant', content: reply });
  }
  const why = dropReason(texts, category, o.filters);
  if (why) return { drop: why };
  const record: SftRecord = { conversation_id: id, meta_instruction: meta, num_turns: texts.length, chat, category: pluginMode && !PLUGIN_CATEGORIES.has(category) ? 'tool' : category };
  return { record, turns: texts };
}
