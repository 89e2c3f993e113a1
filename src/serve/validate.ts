/**
 * Request validation for the OpenAI-style endpoints: every field is checked by hand and a bad one
 * is answered with a 400 that names it (`param`). Follows the OpenAI chat/completions and
 * completions request schemas plus the common extensions (top_k, repetition_penalty) and one of
 * ours (`moss_plugins`: let the server run MOSS's plugins). Deliberately not here: rendering
 * prompts (./prompt.ts) and defaults that depend on the model (context length).
 */
import type { ChatMessage } from '../chat/messages.js';
import type { SamplingParams } from './engine.js';
import { badField } from './errors.js';
import { PLUGIN_SWITCH } from '../chat/meta.js';

export type Obj = Record<string, unknown>;

export interface ToolDef {
  readonly name: string;
  readonly description?: string;
  readonly parameters?: Obj;
}
export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

export type { ChatMessage };

export interface CommonParams {
  /** Choices to generate (OpenAI `n`), 1..16; absent: 1. */
  readonly n?: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly maxTokens?: number;
  readonly stop: string[];
  readonly sampling: SamplingParams;
  /** Log-probabilities asked for, with this many alternatives per token (chat `logprobs: true` +
   *  `top_logprobs`, completions `logprobs: n`); absent: none. */
  readonly logprobs?: number;
}

export interface ChatParams extends CommonParams {
  readonly messages: ChatMessage[];
  readonly tools: ToolDef[];
  readonly toolChoice: ToolChoice;
  /** Server-side plugin mode: names of MOSS plugins to enable (empty: off). */
  readonly plugins: string[];
  /** `parallel_tool_calls` (default true): false allows one tool call per turn. */
  readonly parallelToolCalls?: boolean;
  /** `response_format` json_object / json_schema (absent: text): the reply is constrained to it. */
  readonly responseFormat?: { readonly type: 'json_object' } | { readonly type: 'json_schema'; readonly schema: unknown };
}

export interface CompletionParams extends CommonParams {
  /** One or more prompts, each text or token ids. */
  readonly prompts: (string | number[])[];
  readonly echo: boolean;
}

export const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function num(b: Obj, key: string, min: number, max: number, def: number, int = false): number {
  const v = b[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badField(key, `${key} must be a number`);
  if (int && !Number.isInteger(v)) throw badField(key, `${key} must be an integer`);
  if (v < min || v > max) throw badField(key, `${key} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(b: Obj, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badField(key, `${key} must be a boolean`);
  return v;
}

/** The body must be a JSON object. */
export function asObject(body: unknown): Obj {
  if (!isObj(body)) throw badField('body', 'request body must be a JSON object');
  return body;
}

function common(b: Obj): CommonParams {
  if (b.model !== undefined && typeof b.model !== 'string') throw badField('model', 'model must be a string');
  const n = num(b, 'n', 1, 16, 1, true);
  const streamOpts = b.stream_options;
  if (streamOpts !== undefined && streamOpts !== null && !isObj(streamOpts)) throw badField('stream_options', 'stream_options must be an object');
  const stream = bool(b, 'stream');
  const includeUsage = isObj(streamOpts) ? bool(streamOpts, 'include_usage') : false;
  if (isObj(streamOpts) && !stream) throw badField('stream_options', 'stream_options is only allowed with stream: true');
  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) stop = b.stop as string[];
  else if (b.stop !== undefined && b.stop !== null) throw badField('stop', 'stop must be a string or an array of strings');
  if (stop.length > 4 || stop.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 256)) throw badField('stop', 'stop must hold at most 4 non-empty strings of up to 256 characters');
  const mt = b.max_completion_tokens ?? b.max_tokens;
  const maxTokens = mt === undefined || mt === null ? undefined : num({ max_tokens: mt }, 'max_tokens', 1, 1e9, 1, true);
  const seed = b.seed === undefined || b.seed === null ? undefined : num(b, 'seed', -(2 ** 53), 2 ** 53, 0, true);
  const sampling: SamplingParams = {
    temperature: num(b, 'temperature', 0, 2, 1),
    topP: num(b, 'top_p', 0, 1, 1),
    topK: num(b, 'top_k', 0, 1e6, 0, true),
    presencePenalty: num(b, 'presence_penalty', -2, 2, 0),
    frequencyPenalty: num(b, 'frequency_penalty', -2, 2, 0),
    repetitionPenalty: num(b, 'repetition_penalty', 0.01, 10, 1),
    ...(seed === undefined ? {} : { seed }),
  };
  if (sampling.topP === 0) throw badField('top_p', 'top_p must be greater than 0');
  return { n, stream, includeUsage, maxTokens, stop, sampling };
}

const count20 = (key: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 20) throw badField(key, `${key} must be an integer between 0 and 20, got ${JSON.stringify(v)}`);
  return v;
};

/** Chat: `logprobs` (boolean) and `top_logprobs` (0..20, needs logprobs: true, as OpenAI). */
function chatLogprobs(b: Obj): number | undefined {
  const tl = b.top_logprobs;
  const top = tl === undefined || tl === null ? undefined : count20('top_logprobs', tl);
  const on = bool(b, 'logprobs');
  if (top !== undefined && !on) throw badField('top_logprobs', 'top_logprobs needs logprobs: true');
  return on ? (top ?? 0) : undefined;
}

/** Completions: `logprobs` is the number of alternatives per token (0..20; OpenAI allows 5, vLLM 20). */
function completionLogprobs(b: Obj): number | undefined {
  if (b.top_logprobs !== undefined && b.top_logprobs !== null) throw badField('top_logprobs', 'top_logprobs is a chat parameter; /v1/completions takes logprobs: <number of alternatives>');
  return b.logprobs === undefined || b.logprobs === null ? undefined : count20('logprobs', b.logprobs);
}

function content(m: Obj, i: number): string {
  const c = m.content;
  if (c === undefined || c === null) return '';
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c.map((p, j) => {
      if (!isObj(p) || p.type !== 'text' || typeof p.text !== 'string') throw badField(`messages[${i}].content[${j}]`, 'only text content parts are supported');
      return p.text;
    }).join('');
  }
  throw badField(`messages[${i}].content`, 'content must be a string or an array of text parts');
}

function message(m: unknown, i: number): ChatMessage {
  if (!isObj(m)) throw badField(`messages[${i}]`, 'each message must be an object');
  const role = m.role;
  if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool' && role !== 'developer') {
    throw badField(`messages[${i}].role`, `role must be system, user, assistant or tool, got ${JSON.stringify(role)}`);
  }
  const text = content(m, i);
  if (role === 'tool') {
    if (typeof m.tool_call_id !== 'string') throw badField(`messages[${i}].tool_call_id`, 'a tool message needs tool_call_id');
    return { role, content: text, toolCallId: m.tool_call_id };
  }
  if (role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw badField(`messages[${i}].tool_calls`, 'tool_calls must be an array');
    const toolCalls = m.tool_calls.map((c, j) => {
      const f = isObj(c) ? c.function : undefined;
      if (!isObj(c) || typeof c.id !== 'string' || !isObj(f) || typeof f.name !== 'string' || typeof f.arguments !== 'string') {
        throw badField(`messages[${i}].tool_calls[${j}]`, 'a tool call needs id, function.name and function.arguments (a JSON string)');
      }
      return { id: c.id, name: f.name, arguments: f.arguments };
    });
    return { role, content: text, toolCalls, ...assistantExtras(m, i) };
  }
  if (role !== 'assistant' && (m.content === undefined || m.content === null)) throw badField(`messages[${i}].content`, `a ${role} message needs content`);
  if (role === 'assistant') return { role, content: text, ...assistantExtras(m, i) };
  return { role: role === 'developer' ? 'system' : role, content: text };
}

const MOSS_FIELDS: Record<string, 'Inner Thoughts' | 'Commands' | 'Tool Responses'> = { 'Inner Thoughts': 'Inner Thoughts', Commands: 'Commands', Results: 'Tool Responses' };

/** An assistant message's `reasoning_content` and `moss_fields` (`{"Inner Thoughts"|"Commands"|"Results": raw body}`). */
function assistantExtras(m: Obj, i: number): Pick<ChatMessage, 'reasoning' | 'fields'> {
  const f = m.moss_fields;
  if (f !== undefined && f !== null && (!isObj(f) || Object.entries(f).some(([k, v]) => !Object.hasOwn(MOSS_FIELDS, k) || typeof v !== 'string'))) {
    throw badField(`messages[${i}].moss_fields`, 'moss_fields maps "Inner Thoughts", "Commands" and "Results" to strings');
  }
  const fields = isObj(f) ? Object.fromEntries(Object.entries(f).map(([k, v]) => [MOSS_FIELDS[k], v as string])) : undefined;
  return { ...(typeof m.reasoning_content === 'string' ? { reasoning: m.reasoning_content } : {}), ...(fields ? { fields } : {}) };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

function tools(b: Obj): ToolDef[] {
  if (b.tools === undefined || b.tools === null) return [];
  if (!Array.isArray(b.tools)) throw badField('tools', 'tools must be an array');
  return b.tools.map((t, i) => {
    const f = isObj(t) ? t.function : undefined;
    if (!isObj(t) || t.type !== 'function' || !isObj(f)) throw badField(`tools[${i}]`, 'each tool must be {"type":"function","function":{...}}');
    if (typeof f.name !== 'string' || !NAME.test(f.name)) throw badField(`tools[${i}].function.name`, 'function.name must match [A-Za-z_][A-Za-z0-9_-]{0,63}');
    if (f.parameters !== undefined && !isObj(f.parameters)) throw badField(`tools[${i}].function.parameters`, 'parameters must be a JSON schema object');
    return { name: f.name, description: typeof f.description === 'string' ? f.description : undefined, parameters: f.parameters as Obj | undefined };
  });
}

function toolChoice(b: Obj, defs: ToolDef[]): ToolChoice {
  const c = b.tool_choice;
  if (c === undefined || c === null) return defs.length ? 'auto' : 'none';
  if (c === 'none' || c === 'auto' || c === 'required') {
    if (c !== 'none' && !defs.length) throw badField('tool_choice', `tool_choice "${c}" needs tools`);
    return c;
  }
  const f = isObj(c) ? c.function : undefined;
  if (isObj(c) && c.type === 'function' && isObj(f) && typeof f.name === 'string') {
    if (!defs.some((d) => d.name === f.name)) throw badField('tool_choice', `tool_choice names ${f.name}, which is not in tools`);
    return { name: f.name };
  }
  throw badField('tool_choice', 'tool_choice must be none, auto, required or {"type":"function","function":{"name":...}}');
}

function responseFormat(b: Obj): ChatParams['responseFormat'] {
  const f = b.response_format;
  if (f === undefined || f === null) return undefined;
  if (!isObj(f) || typeof f.type !== 'string') throw badField('response_format', 'response_format must be {"type": "text" | "json_object" | "json_schema", ...}');
  if (f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type !== 'json_schema') throw badField('response_format.type', `response_format.type must be text, json_object or json_schema, got ${JSON.stringify(f.type)}`);
  const js = f.json_schema;
  if (!isObj(js) || typeof js.name !== 'string') throw badField('response_format.json_schema', 'json_schema needs a name and a schema');
  if (js.schema !== undefined && !isObj(js.schema) && typeof js.schema !== 'boolean') throw badField('response_format.json_schema.schema', 'schema must be a JSON schema object');
  return { type: 'json_schema', schema: js.schema ?? {} };
}

const PLUGINS = Object.keys(PLUGIN_SWITCH);

/** Validates a /v1/chat/completions body. */
export function parseChat(body: unknown): ChatParams {
  const b = asObject(body);
  const c = common(b);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw badField('messages', 'messages must be a non-empty array');
  if (b.messages.length > 1000) throw badField('messages', 'too many messages (at most 1000)');
  const messages = b.messages.map(message);
  const defs = tools(b);
  let plugins: string[] = [];
  if (b.moss_plugins === true) plugins = PLUGINS.slice(0, 4);
  else if (Array.isArray(b.moss_plugins)) plugins = b.moss_plugins as string[];
  else if (b.moss_plugins !== undefined && b.moss_plugins !== false && b.moss_plugins !== null) throw badField('moss_plugins', 'moss_plugins must be a boolean or a list of plugin names');
  const bad = plugins.find((p) => !PLUGINS.includes(p));
  if (bad !== undefined) throw badField('moss_plugins', `unknown plugin ${JSON.stringify(bad)} (known: ${PLUGINS.join(', ')})`);
  if (plugins.length && defs.length) throw badField('moss_plugins', 'moss_plugins and tools cannot be used together');
  const logprobs = chatLogprobs(b);
  return { ...c, ...(logprobs === undefined ? {} : { logprobs }), messages, tools: defs, toolChoice: toolChoice(b, defs), plugins, responseFormat: responseFormat(b), parallelToolCalls: b.parallel_tool_calls === undefined || b.parallel_tool_calls === null ? true : bool(b, 'parallel_tool_calls') };
}

/** Validates a /v1/completions body (one prompt string). */
export function parseCompletion(body: unknown): CompletionParams {
  const b = asObject(body);
  const c = common(b);
  const ids = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && (t as number) >= 0);
  const pr = b.prompt;
  const prompts = typeof pr === 'string' ? [pr] : ids(pr) ? [pr] : Array.isArray(pr) && pr.length > 0 && pr.every((x) => typeof x === 'string' || ids(x)) ? (pr as (string | number[])[]) : undefined;
  if (!prompts) throw badField('prompt', 'prompt must be a string, an array of token ids, or a non-empty array of those');
  if (prompts.length * (c.n ?? 1) > 64) throw badField('prompt', `at most 64 choices per request (prompts x n = ${prompts.length * (c.n ?? 1)})`);
  if (b.suffix !== undefined && b.suffix !== null) throw badField('suffix', 'suffix is not supported');
  const logprobs = completionLogprobs(b);
  return { ...c, ...(logprobs === undefined ? {} : { logprobs }), prompts, echo: bool(b, 'echo') };
}
