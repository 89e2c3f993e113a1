/**
 * The OpenAI-compatible routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
 * Non-streaming answers aggregate the event stream of ./chat-run.ts; streaming answers send
 * `chat.completion.chunk` events (tool calls as deltas keyed by `index`, usage in a last chunk
 * when `stream_options.include_usage`, `usage: null` on the others), then `data: [DONE]`. `n > 1`
 * runs n sequences (seed + i each) merged by choice index; /v1/completions also takes token-id
 * prompts and a batch of prompts (choice index = prompt * n + j). `logprobs` (./logprobs.ts): chat
 * entries per reply token, completions entries per generated token (a stop id included) and, with
 * `echo`, per prompt token; streamed with the text they belong to. Tool calls stream as OpenAI's do:
 * a first delta with id and name, then argument fragments. Follows the OpenAI API reference and
 * llama.cpp server's / vLLM's behaviour.
 */
import type { Engine, TokenStream } from './engine.js';
import { QueueFullError } from './engine.js';
import { ApiError, errorResponse, json } from './errors.js';
import { busy, startChat, type ChatDeps, type ChatEvent } from './chat-run.js';
import type { Metrics } from './metrics.js';
import { sseResponse } from './sse.js';
import { StopStrings } from '../generate/stop.js';
import { parseChat, parseCompletion } from './validate.js';
import { addCompletionLogprob, type ChatLogprob, appendCompletionLogprobs, emptyCompletionLogprobs, type CompletionLogprobs } from './logprobs.js';

export interface RouteDeps extends ChatDeps {
  readonly metrics: Metrics;
  /** `system_fingerprint` of every answer (./models.ts). */
  readonly fingerprint?: string;
}

/** Values of several async generators as they come, tagged with the generator's index. */
export async function* mergeTagged<T>(gens: readonly AsyncGenerator<T>[]): AsyncGenerator<[number, T]> {
  const next = gens.map((g, i) => g.next().then((r) => [i, r] as const));
  const live = new Set(gens.keys());
  try {
    while (live.size) {
      const [i, r] = await Promise.race([...live].map((k) => next[k]));
      if (r.done) { live.delete(i); continue; }
      next[i] = gens[i].next().then((x) => [i, x] as const);
      yield [i, r.value];
    }
  } finally {
    await Promise.all(gens.map((g) => g.return(undefined as never).catch(() => undefined)));
  }
}

/** A tool call's JSON arguments in the pieces a stream sends: cut after each `,` or `:` outside strings
 *  and at most every 16 characters (the call is complete when it is sent: MOSS writes it as one command). */
export function argumentFragments(args: string): string[] {
  const out: string[] = [];
  let cur = '';
  let n = 0;
  let str = false;
  let esc = false;
  for (const c of args) { // code points: a fragment never splits a surrogate pair
    cur += c;
    n++;
    if (esc) esc = false;
    else if (str) {
      if (c === '\\') esc = true;
      else if (c === '"') str = false;
    } else if (c === '"') str = true;
    if (!esc && ((!str && (c === ',' || c === ':')) || n >= 16)) {
      out.push(cur);
      cur = '';
      n = 0;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** The request's sampling for choice i of n: a given seed becomes seed + i, so the choices differ reproducibly. */
const choiceSampling = <S extends { seed?: number }>(s: S, i: number): S => (s.seed === undefined || i === 0 ? s : { ...s, seed: s.seed + i });

const errorBody = (e: unknown): unknown => {
  if (e instanceof ApiError) return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
  return { error: { message: 'internal server error', type: 'server_error', param: null, code: null } };
};

let seq = 0;
const newId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Records time to first text and token counts as events pass. */
async function* measured(events: AsyncGenerator<ChatEvent>, m: Metrics, t0: number): AsyncGenerator<ChatEvent> {
  let first = true;
  try {
    for await (const e of events) {
      if (first && (e.type === 'content' || e.type === 'reasoning' || e.type === 'tool_call')) {
        m.firstToken((performance.now() - t0) / 1000);
        first = false;
      }
      if (e.type === 'finish') {
        m.promptTokens += e.promptTokens;
        m.completionTokens += e.completionTokens;
      }
      yield e;
    }
  } finally {
    await events.return(undefined);
  }
}

export async function chatCompletions(req: Request, body: unknown, d: RouteDeps): Promise<Response> {
  const p = parseChat(body);
  const t0 = performance.now();
  const gens: AsyncGenerator<ChatEvent>[] = [];
  try {
    for (let i = 0; i < (p.n ?? 1); i++) gens.push(measured(startChat(i === 0 ? p : { ...p, sampling: choiceSampling(p.sampling, i) }, d, req.signal), d.metrics, t0));
  } catch (e) {
    await Promise.all(gens.map((g) => g.return(undefined)));
    throw e;
  }
  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const model = d.engine.modelId;
  const fp = d.fingerprint ?? null;
  const usage = (u: { promptTokens: number; completionTokens: number }) => ({ prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens });
  const total = { promptTokens: 0, completionTokens: 0 };
  const add = (e: { promptTokens: number; completionTokens: number }, i: number) => {
    if (i === 0) total.promptTokens = e.promptTokens; // one prompt, counted once
    total.completionTokens += e.completionTokens;
  };
  if (!p.stream) {
    const collect = async (events: AsyncGenerator<ChatEvent>, index: number) => {
      let content = '';
      const lps: ChatLogprob[] = [];
      let reasoning = '';
      const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
      const plugins: unknown[] = [];
      for await (const e of events) {
        if (e.type === 'content') {
          content += e.text;
          if (e.logprobs) lps.push(...e.logprobs);
        } else if (e.type === 'reasoning') reasoning += e.text;
        else if (e.type === 'tool_call') calls.push({ id: e.id, type: 'function', function: { name: e.name, arguments: e.arguments } });
        else if (e.type === 'plugin') plugins.push({ name: e.name, arguments: e.arguments, ok: e.ok, ...(e.error ? { error: e.error } : {}) });
        else {
          add(e, index);
          const message = { role: 'assistant', content: calls.length && !content ? null : content, ...(calls.length ? { tool_calls: calls } : {}), ...(reasoning ? { reasoning_content: reasoning } : {}), ...(plugins.length ? { moss_plugins: plugins } : {}), ...(e.fields ? { moss_fields: e.fields } : {}) };
          return { index, message, finish_reason: e.reason, logprobs: p.logprobs === undefined ? null : { content: lps, refusal: null } };
        }
      }
      throw new ApiError(499, 'client closed the request', 'cancelled');
    };
    const choices = await Promise.all(gens.map(collect));
    return json({ id, object: 'chat.completion', created, model, system_fingerprint: fp, choices, usage: usage(total) });
  }
  const chunk = (index: number, delta: unknown, finish: string | null = null, lp?: ChatLogprob[]) => ({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: fp, choices: [{ index, delta, finish_reason: finish, logprobs: lp ? { content: lp, refusal: null } : null }], ...(p.includeUsage ? { usage: null } : {}) });
  async function* sse(): AsyncGenerator<unknown> {
    for (let i = 0; i < gens.length; i++) yield chunk(i, { role: 'assistant', content: '' });
    for await (const [i, e] of mergeTagged(gens)) {
      if (e.type === 'content') yield chunk(i, { content: e.text }, null, e.logprobs);
      else if (e.type === 'reasoning') yield chunk(i, { reasoning_content: e.text, moss_field: e.field });
      else if (e.type === 'tool_call') {
        // as OpenAI streams a call: id, type and name with empty arguments, then the arguments in fragments
        yield chunk(i, { tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] });
        for (const piece of argumentFragments(e.arguments)) yield chunk(i, { tool_calls: [{ index: e.index, function: { arguments: piece } }] });
      }
      else if (e.type === 'plugin') yield chunk(i, { moss_plugin: { name: e.name, arguments: e.arguments, ok: e.ok, ...(e.error ? { error: e.error } : {}) } });
      else {
        add(e, i);
        yield chunk(i, e.fields ? { moss_fields: e.fields } : {}, e.reason);
      }
    }
    if (p.includeUsage) yield { id, object: 'chat.completion.chunk', created, model, system_fingerprint: fp, choices: [], usage: usage(total) };
  }
  return sseResponse(sse(), errorBody);
}

/** One prompt of /v1/completions as ids: text encoded with control tokens allowed, or token ids checked against the vocabulary. */
function promptIds(engine: Engine, prompt: string | readonly number[], i: number): number[] {
  const tok = engine.tokenizer;
  if (typeof prompt !== 'string') {
    const bad = prompt.findIndex((t) => t >= tok.vocabSize);
    if (bad >= 0) throw new ApiError(400, `prompt token id ${prompt[bad]} is outside the vocabulary of ${tok.vocabSize}`, 'invalid_request_error', `prompt[${i}]`, 'invalid_value');
    return [...prompt];
  }
  return tok.encode(prompt, { special: 'allow', addBos: engine.addBos });
}

/** Raw completion: the prompt is encoded with control tokens allowed, so the MOSS format can be driven directly. */
export async function completions(req: Request, body: unknown, d: RouteDeps): Promise<Response> {
  const p = parseCompletion(body);
  const { engine } = d;
  const tok = engine.tokenizer;
  const prompts = p.prompts.map((pr, i) => {
    const ids = promptIds(engine, pr, i);
    if (!ids.length) throw new ApiError(400, 'prompt is empty', 'invalid_request_error', 'prompt', 'invalid_value');
    const room = engine.contextLength - ids.length;
    if (room < 1) throw new ApiError(400, `the prompt has ${ids.length} tokens, which does not fit the context of ${engine.contextLength} tokens`, 'invalid_request_error', 'prompt', 'context_length_exceeded');
    return { ids, room, text: typeof pr === 'string' ? pr : tok.decode(pr) };
  });
  const ac = new AbortController();
  const signal = AbortSignal.any([req.signal, ac.signal]);
  const stopIds = tok.eosId === null ? [] : [tok.eosId];
  const runs: { stream: TokenStream; prompt: (typeof prompts)[number]; n: number; done: AbortController }[] = [];
  try {
    for (const pr of prompts) {
      for (let j = 0; j < (p.n ?? 1); j++) {
        const done = new AbortController();
        const lp = p.logprobs === undefined ? {} : { logprobs: p.logprobs, promptLogprobs: p.echo };
        const stream = engine.submit({ promptIds: pr.ids, maxNewTokens: Math.min(p.maxTokens ?? 16, pr.room), stopIds, sampling: choiceSampling(p.sampling, j), signal: AbortSignal.any([signal, done.signal]), ...lp });
        runs.push({ stream, prompt: pr, n: 0, done });
      }
    }
  } catch (e) {
    ac.abort();
    if (e instanceof QueueFullError) throw busy(e);
    throw e;
  }
  const id = newId('cmpl');
  const created = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  let first = true;
  /** The text of one run as it comes, each piece with the log-probabilities of the tokens read since the last
   *  (every generated token, a stop id included, as OpenAI's `<|endoftext|>` entries; `echo`: the prompt's first). */
  async function* pieces(r: (typeof runs)[number]): AsyncGenerator<{ text: string; lp?: CompletionLogprobs }> {
    const dec = tok.streamDecoder({ skipSpecial: false });
    const stops = new StopStrings(p.stop);
    let lp = p.logprobs === undefined ? undefined : emptyCompletionLogprobs();
    const piece = (text: string) => {
      const x = { text, ...(lp ? { lp } : {}) };
      if (lp) lp = emptyCompletionLogprobs();
      return x;
    };
    let at = 0; // characters decoded so far: the next token's text_offset
    const it = r.stream[Symbol.asyncIterator]();
    try {
      // the prompt's log-probabilities are there once the first new id is
      let next = p.echo && lp ? await it.next() : undefined;
      if (p.echo) {
        if (lp && r.stream.promptLogprobs) {
          const pd = tok.streamDecoder({ skipSpecial: false });
          for (const [i, id] of r.prompt.ids.entries()) {
            addCompletionLogprob(lp, tok, id, r.stream.promptLogprobs[i], Math.min(at, r.prompt.text.length));
            at += pd.push(id).length;
          }
        }
        at = r.prompt.text.length;
        yield piece(r.prompt.text);
      }
      for (next ??= await it.next(); !next.done; next = await it.next()) {
        const t = next.value;
        if (lp) addCompletionLogprob(lp, tok, t, r.stream.logprobs?.[r.n], at);
        r.n++;
        if (stopIds.includes(t)) break;
        const text = dec.push(t);
        at += text.length;
        const s = stops.push(text);
        if (s || (lp && stops.stopped)) {
          if (first) d.metrics.firstToken((performance.now() - t0) / 1000);
          first = false;
          yield piece(s);
        }
        if (stops.stopped) return;
      }
      const rest = stops.push(dec.flush()) + stops.flush();
      if (rest || lp?.tokens.length) yield piece(rest);
    } finally {
      await it.return?.();
      r.done.abort();
    }
  }
  const finishReason = async (r: (typeof runs)[number]): Promise<string> => ((await r.stream.finish) === 'length' ? 'length' : 'stop');
  const count = () => {
    const completionTokens = runs.reduce((a, r) => a + r.n, 0);
    const promptTokens = prompts.reduce((a, x) => a + x.ids.length, 0);
    return { promptTokens, completionTokens };
  };
  const usage = () => { const c = count(); return { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens }; };
  const account = () => d.metrics.tokens(count());
  const choice = (index: number, text: string, finish: string | null, lp: CompletionLogprobs | null = null) => ({ index, text, logprobs: lp, finish_reason: finish });
  const head = { id, object: 'text_completion', created, model: engine.modelId, system_fingerprint: d.fingerprint ?? null };
  if (!p.stream) {
    try {
      const choices = await Promise.all(runs.map(async (r, i) => {
        let text = '';
        const lp = p.logprobs === undefined ? null : emptyCompletionLogprobs();
        for await (const s of pieces(r)) {
          text += s.text;
          if (lp && s.lp) appendCompletionLogprobs(lp, s.lp);
        }
        return choice(i, text, await finishReason(r), lp);
      }));
      account();
      return json({ ...head, choices, usage: usage() });
    } finally {
      ac.abort();
    }
  }
  const nullUsage = p.includeUsage ? { usage: null } : {};
  async function* sse(): AsyncGenerator<unknown> {
    try {
      for await (const [i, s] of mergeTagged(runs.map((r) => pieces(r)))) yield { ...head, choices: [choice(i, s.text, null, s.lp ?? null)], ...nullUsage };
      account();
      for (const [i, r] of runs.entries()) yield { ...head, choices: [choice(i, '', await finishReason(r))], ...nullUsage };
      if (p.includeUsage) yield { ...head, choices: [], usage: usage() };
    } finally {
      ac.abort();
    }
  }
  return sseResponse(sse(), errorBody);
}

export { errorResponse };
