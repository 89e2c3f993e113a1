/**
 * One attempt at an OpenAI-compatible `POST {base}/chat/completions` (plain JSON or SSE streaming),
 * with a per-attempt timeout. Follows the OpenAI chat-completions wire format: SSE `data: {…}`
 * chunks with `choices[0].delta.{content, reasoning_content, tool_calls[index]}`, `finish_reason`,
 * optional `usage`, then `data: [DONE]`. Every failure becomes an `EndpointError` that says whether
 * a retry may help (429/5xx/408, network, timeout, truncated stream, malformed JSON) and carries the
 * server's `Retry-After` / `retry-after-ms`. A stream is complete only once a `finish_reason` came.
 * Deliberately no retries, caching or rate limits here (./call.ts composes those).
 */

/** A chat message as the OpenAI API takes it. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly tool_calls?: readonly ToolCall[];
  readonly tool_call_id?: string;
}

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

export interface ToolSpec {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: Record<string, unknown> };
}

/** What the pipeline asks of an endpoint (everything that decides the answer; the cache key). */
export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly model?: string;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly max_tokens?: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly tools?: readonly ToolSpec[];
}

export interface ChatResult {
  readonly content: string;
  /** `reasoning_content` when the server sends one (MOSS inner thoughts). */
  readonly reasoning?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason: string;
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number };
}

export type ErrorKind = 'http' | 'timeout' | 'network' | 'truncated' | 'malformed';

/** A failed attempt. `retryable` false means: do not try again (e.g. 400, 401, 404). */
export class EndpointError extends Error {
  constructor(readonly kind: ErrorKind, message: string, readonly retryable: boolean, readonly status?: number, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'EndpointError';
  }
}

export interface EndpointOptions {
  /** Base URL up to `/v1` (e.g. `http://127.0.0.1:8000/v1`); a bare host gets `/v1` added. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Default model name sent when a request names none. */
  readonly model?: string;
  /** Use SSE streaming (default false). */
  readonly stream?: boolean;
  /** Per-attempt timeout in ms (default 120 000). Covers a stalled stream too. */
  readonly timeoutMs?: number;
}

/** Normalises a base URL: trailing slashes dropped, `/v1` appended when no path is given. */
export function normalizeBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--endpoint: "${url}" is not a URL (e.g. http://127.0.0.1:8000/v1)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--endpoint: "${url}" is not http(s)`);
  const s = url.replace(/\/+$/, '');
  return u.pathname === '/' || u.pathname === '' ? `${s}/v1` : s;
}

/** Milliseconds the server asked us to wait (`retry-after-ms`, or `Retry-After` seconds / HTTP date). */
export function retryAfterMs(h: Headers, now = Date.now()): number | undefined {
  const ms = Number(h.get('retry-after-ms'));
  if (h.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const ra = h.get('retry-after');
  if (ra === null) return undefined;
  const s = Number(ra);
  if (ra.trim() !== '' && Number.isFinite(s) && s >= 0) return s * 1000;
  const d = Date.parse(ra);
  return Number.isNaN(d) ? undefined : Math.max(0, d - now);
}

const RETRY_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

function body(req: ChatRequest, o: EndpointOptions): Record<string, unknown> {
  const b: Record<string, unknown> = { model: req.model ?? o.model ?? 'default', messages: req.messages };
  for (const k of ['temperature', 'top_p', 'max_tokens', 'seed', 'stop', 'tools'] as const) if (req[k] !== undefined) b[k] = req[k];
  if (o.stream) Object.assign(b, { stream: true, stream_options: { include_usage: true } });
  return b;
}

/** One attempt. Throws EndpointError on any failure. */
export async function chatOnce(req: ChatRequest, o: EndpointOptions, signal?: AbortSignal): Promise<ChatResult> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const t = AbortSignal.timeout(timeoutMs);
  const sig = signal ? AbortSignal.any([signal, t]) : t;
  const wrap = (e: unknown): EndpointError => {
    if (e instanceof EndpointError) return e;
    if (t.aborted) return new EndpointError('timeout', `no complete answer within ${timeoutMs} ms`, true);
    if (signal?.aborted) return new EndpointError('network', 'cancelled', false);
    return new EndpointError('network', (e as Error)?.message ?? String(e), true);
  };
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
    const res = await fetch(`${normalizeBase(o.baseUrl)}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body(req, o)), signal: sig });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let msg = text.slice(0, 200);
      try {
        msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? msg;
      } catch { /* not JSON */ }
      throw new EndpointError('http', `HTTP ${res.status}${msg ? `: ${msg.replace(/\s+/g, ' ')}` : ''}`, RETRY_STATUS.has(res.status), res.status, retryAfterMs(res.headers));
    }
    return o.stream ? await readStream(res) : readJson(await res.text());
  } catch (e) {
    throw wrap(e);
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function parse(text: string, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new EndpointError('malformed', `${what} is not JSON: ${text.slice(0, 80)}`, true);
  }
  if (!isObj(v)) throw new EndpointError('malformed', `${what} is not a JSON object`, true);
  return v;
}

function usageOf(v: unknown): ChatResult['usage'] {
  if (!isObj(v) || typeof v.prompt_tokens !== 'number' || typeof v.completion_tokens !== 'number') return undefined;
  return { prompt_tokens: v.prompt_tokens, completion_tokens: v.completion_tokens };
}

function toolCallsOf(v: unknown): ToolCall[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return v.filter(isObj).map((c, i) => {
    const f = isObj(c.function) ? c.function : {};
    return { id: typeof c.id === 'string' ? c.id : `call_${i}`, type: 'function', function: { name: String(f.name ?? ''), arguments: String(f.arguments ?? '') } };
  });
}

function readJson(text: string): ChatResult {
  const v = parse(text, 'response');
  const ch = Array.isArray(v.choices) ? v.choices[0] : undefined;
  if (!isObj(ch) || !isObj(ch.message)) throw new EndpointError('malformed', 'response has no choices[0].message', true);
  const m = ch.message;
  if (m.content !== null && m.content !== undefined && typeof m.content !== 'string') throw new EndpointError('malformed', 'choices[0].message.content is not a string', true);
  const r: ChatResult = {
    content: (m.content as string | null) ?? '',
    finishReason: typeof ch.finish_reason === 'string' ? ch.finish_reason : 'stop',
    ...(typeof m.reasoning_content === 'string' && m.reasoning_content ? { reasoning: m.reasoning_content } : {}),
    ...(toolCallsOf(m.tool_calls) ? { toolCalls: toolCallsOf(m.tool_calls) } : {}),
    ...(usageOf(v.usage) ? { usage: usageOf(v.usage) } : {}),
  };
  return r;
}

async function readStream(res: Response): Promise<ChatResult> {
  if (!res.body) throw new EndpointError('truncated', 'stream has no body', true);
  const dec = new TextDecoder();
  let buf = '';
  let content = '';
  let reasoning = '';
  let finish: string | null = null;
  let usage: ChatResult['usage'];
  const calls: { id: string; name: string; args: string }[] = [];
  const onEvent = (data: string): void => {
    if (data === '[DONE]') return;
    const v = parse(data, 'stream chunk');
    if (isObj(v.error)) throw new EndpointError('http', `stream error: ${String(v.error.message ?? '')}`, true);
    usage = usageOf(v.usage) ?? usage;
    const ch = Array.isArray(v.choices) ? v.choices[0] : undefined;
    if (!isObj(ch)) return;
    const d = isObj(ch.delta) ? ch.delta : {};
    if (typeof d.content === 'string') content += d.content;
    if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
    if (Array.isArray(d.tool_calls)) {
      for (const tc of d.tool_calls.filter(isObj)) {
        const i = typeof tc.index === 'number' ? tc.index : 0;
        calls[i] ??= { id: '', name: '', args: '' };
        const f = isObj(tc.function) ? tc.function : {};
        if (typeof tc.id === 'string') calls[i].id = tc.id;
        if (typeof f.name === 'string') calls[i].name += f.name;
        if (typeof f.arguments === 'string') calls[i].args += f.arguments;
      }
    }
    if (typeof ch.finish_reason === 'string') finish = ch.finish_reason;
  };
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    buf += done ? dec.decode() : dec.decode(value, { stream: true });
    // events are separated by a blank line; lines inside start with `data:`
    let i: number;
    while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) onEvent(data);
    }
    if (done) break;
  }
  if (finish === null) throw new EndpointError('truncated', 'stream ended before a finish_reason', true);
  const toolCalls = calls.filter(Boolean).map((c, i) => ({ id: c.id || `call_${i}`, type: 'function' as const, function: { name: c.name, arguments: c.args } }));
  return { content, finishReason: finish, ...(reasoning ? { reasoning } : {}), ...(toolCalls.length ? { toolCalls } : {}), ...(usage ? { usage } : {}) };
}
