/**
 * A minimal OpenAI Responses API (`POST /v1/responses`), since current AI SDK and LangChain
 * versions default to it: `input` as a string or items (messages with input_text/output_text
 * parts, `function_call`, `function_call_output`), `instructions`, function `tools` +
 * `tool_choice`, `text.format` (json_object / json_schema), `max_output_tokens`, temperature,
 * top_p; the answer is a `response` object whose `output` holds a `message` (output_text) and/or
 * `function_call` items. `stream: true` sends the typed events (response.created, output_item.added,
 * output_text.delta, function_call_arguments.delta/done, ..., response.completed) as SSE with
 * `event:` lines. Everything runs through the one chat turn (./chat-run.ts).
 * Follows the OpenAI Responses API reference. Deliberately not here: stored responses
 * (`previous_response_id`, GET /v1/responses/{id}), built-in tools, reasoning items, images.
 */
import { startChat, type ChatEvent } from './chat-run.js';
import { ApiError, badField, json } from './errors.js';
import type { RouteDeps } from './openai.js';
import { streamResponse } from './sse.js';
import { isObj, parseChat, type Obj } from './validate.js';

let seq = 0;
const newId = (prefix: string): string => `${prefix}_${Date.now().toString(36)}${(seq++).toString(36)}`;

/** A message item's content: a string or input_text / output_text parts. */
function text(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badField(where, 'content must be a string or an array of text parts');
  return content.map((p, j) => {
    if (!isObj(p) || (p.type !== 'input_text' && p.type !== 'output_text' && p.type !== 'text') || typeof p.text !== 'string') throw badField(`${where}[${j}]`, 'only input_text / output_text parts are supported');
    return p.text;
  }).join('');
}

/** `instructions` + `input` -> chat messages (function calls become an assistant message's tool_calls). */
function toMessages(b: Obj): Obj[] {
  const out: Obj[] = [];
  if (b.instructions !== undefined && b.instructions !== null) {
    if (typeof b.instructions !== 'string') throw badField('instructions', 'instructions must be a string');
    out.push({ role: 'system', content: b.instructions });
  }
  if (typeof b.input === 'string') return [...out, { role: 'user', content: b.input }];
  if (!Array.isArray(b.input) || b.input.length === 0) throw badField('input', 'input must be a string or a non-empty array of items');
  b.input.forEach((it, i) => {
    if (!isObj(it)) throw badField(`input[${i}]`, 'each input item must be an object');
    const type = it.type ?? 'message';
    if (type === 'message') {
      out.push({ role: it.role, content: text(it.content, `input[${i}].content`) });
    } else if (type === 'function_call') {
      if (typeof it.call_id !== 'string' || typeof it.name !== 'string' || typeof it.arguments !== 'string') throw badField(`input[${i}]`, 'a function_call needs call_id, name and arguments');
      const call = { id: it.call_id, type: 'function', function: { name: it.name, arguments: it.arguments } };
      const last = out[out.length - 1];
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: '', tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof it.call_id !== 'string') throw badField(`input[${i}].call_id`, 'a function_call_output needs call_id');
      out.push({ role: 'tool', tool_call_id: it.call_id, content: typeof it.output === 'string' ? it.output : JSON.stringify(it.output ?? '') });
    } else if (type !== 'reasoning') {
      throw badField(`input[${i}].type`, `input items of type ${JSON.stringify(type)} are not supported`);
    }
  });
  return out;
}

/** A Responses request as a chat-completions body. */
function toChatBody(b: Obj): Obj {
  if (b.previous_response_id !== undefined && b.previous_response_id !== null) throw badField('previous_response_id', 'stored responses are not supported: send the whole input');
  const body: Obj = { messages: toMessages(b) };
  for (const k of ['temperature', 'top_p', 'seed']) if (b[k] !== undefined) body[k] = b[k];
  if (b.max_output_tokens !== undefined && b.max_output_tokens !== null) body.max_tokens = b.max_output_tokens;
  if (b.tools !== undefined && b.tools !== null) {
    if (!Array.isArray(b.tools)) throw badField('tools', 'tools must be an array');
    body.tools = b.tools.map((t, i) => {
      if (!isObj(t) || t.type !== 'function') throw badField(`tools[${i}]`, 'only function tools are supported');
      return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
    });
  }
  const tc = b.tool_choice;
  if (tc !== undefined && tc !== null) body.tool_choice = isObj(tc) && tc.type === 'function' ? { type: 'function', function: { name: tc.name } } : tc;
  const fmt = isObj(b.text) ? b.text.format : undefined;
  if (isObj(fmt) && fmt.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (isObj(fmt) && fmt.type === 'json_schema') body.response_format = { type: 'json_schema', json_schema: { name: fmt.name ?? 'format', schema: fmt.schema } };
  return body;
}

/** POST /v1/responses */
export async function responses(req: Request, body: unknown, d: RouteDeps): Promise<Response> {
  if (!isObj(body)) throw badField('body', 'request body must be a JSON object');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw badField('stream', 'stream must be a boolean');
  const p = parseChat(toChatBody(body));
  const events = startChat(p, d, req.signal);
  const id = newId('resp');
  const createdAt = Math.floor(Date.now() / 1000);
  const base = {
    id, object: 'response', created_at: createdAt, model: d.engine.modelId, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, parallel_tool_calls: false,
    previous_response_id: null, reasoning: null, store: false, temperature: body.temperature ?? 1, top_p: body.top_p ?? 1,
    text: isObj(body.text) ? body.text : { format: { type: 'text' } }, tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], metadata: {},
  };
  const msgId = newId('msg');
  const message = (t: string, status = 'completed') => ({ type: 'message', id: msgId, status, role: 'assistant', content: [{ type: 'output_text', text: t, annotations: [] }] });
  const call = (e: Extract<ChatEvent, { type: 'tool_call' }>) => ({ type: 'function_call', id: `fc_${e.id}`, call_id: e.id, name: e.name, arguments: e.arguments, status: 'completed' });
  const final = (output: unknown[], e: Extract<ChatEvent, { type: 'finish' }>) => ({
    ...base, status: e.reason === 'length' ? 'incomplete' : 'completed', ...(e.reason === 'length' ? { incomplete_details: { reason: 'max_output_tokens' } } : {}), output,
    usage: { input_tokens: e.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: e.completionTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: e.promptTokens + e.completionTokens },
  });
  if (body.stream !== true) {
    let content = '';
    const calls: unknown[] = [];
    for await (const e of events) {
      if (e.type === 'content') content += e.text;
      else if (e.type === 'tool_call') calls.push(call(e));
      else if (e.type === 'finish') {
        d.metrics.tokens(e);
        return json(final([...(content || !calls.length ? [message(content)] : []), ...calls], e));
      }
    }
    throw new ApiError(499, 'client closed the request', 'cancelled');
  }
  let n = 0;
  const ev = (type: string, x: Obj) => ({ type, sequence_number: n++, ...x });
  async function* stream(): AsyncGenerator<Obj> {
    const output: unknown[] = [];
    let content: string | undefined; // open message text
    yield ev('response.created', { response: { ...base, status: 'in_progress', output: [] } });
    yield ev('response.in_progress', { response: { ...base, status: 'in_progress', output: [] } });
    const where = () => ({ item_id: msgId, output_index: output.length, content_index: 0 });
    function* closeMessage(): Generator<Obj> {
      if (content === undefined) return;
      yield ev('response.output_text.done', { ...where(), text: content });
      yield ev('response.content_part.done', { ...where(), part: { type: 'output_text', text: content, annotations: [] } });
      yield ev('response.output_item.done', { output_index: output.length, item: message(content) });
      output.push(message(content));
      content = undefined;
    }
    try {
      for await (const e of events) {
        if (e.type === 'content') {
          if (content === undefined) {
            content = '';
            yield ev('response.output_item.added', { output_index: output.length, item: { ...message('', 'in_progress'), content: [] } });
            yield ev('response.content_part.added', { ...where(), part: { type: 'output_text', text: '', annotations: [] } });
          }
          content += e.text;
          yield ev('response.output_text.delta', { ...where(), delta: e.text });
        } else if (e.type === 'tool_call') {
          yield* closeMessage();
          const item = call(e);
          yield ev('response.output_item.added', { output_index: output.length, item: { ...item, arguments: '', status: 'in_progress' } });
          yield ev('response.function_call_arguments.delta', { item_id: item.id, output_index: output.length, delta: e.arguments });
          yield ev('response.function_call_arguments.done', { item_id: item.id, output_index: output.length, arguments: e.arguments });
          yield ev('response.output_item.done', { output_index: output.length, item });
          output.push(item);
        } else if (e.type === 'finish') {
          yield* closeMessage();
          d.metrics.tokens(e);
          const r = final(output, e);
          yield ev(r.status === 'completed' ? 'response.completed' : 'response.incomplete', { response: r });
        }
      }
    } finally {
      await events.return(undefined);
    }
  }
  return typedSse(stream());
}

/** SSE with `event: <type>` lines and no `[DONE]` (the Responses stream's framing). */
function typedSse(source: AsyncGenerator<Obj>): Response {
  return streamResponse(source, {
    value: (v) => `event: ${String(v.type)}\ndata: ${JSON.stringify(v)}\n\n`,
    error: (e) => {
      const error = { type: 'error', code: e instanceof ApiError ? e.code : 'server_error', message: e instanceof ApiError ? e.message : 'internal server error', param: e instanceof ApiError ? e.param : null };
      return `event: error\ndata: ${JSON.stringify(error)}\n\n`;
    },
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  });
}
