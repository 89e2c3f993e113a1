/**
 * A scripted OpenAI-compatible chat-completions server for the pipeline tests, with injected faults:
 * 429 with Retry-After (or retry-after-ms), 500s, a hang past the client's timeout, SSE streams cut
 * before the finish, malformed JSON bodies, slow answers. The answer depends only on the request
 * (so a faulty run must end identical to a clean one), and the faults only on how often the same
 * request was seen, so every request succeeds after at most `faultsPerRequest` failures whatever
 * the concurrency. Counts every request and every answered one per request key.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = '429' | '429s' | '500' | 'timeout' | 'truncated' | 'malformed' | 'slow';

export interface ReqBody {
  model?: string;
  messages: { role: string; content: string; tool_calls?: unknown[] }[];
  seed?: number;
  temperature?: number;
  max_tokens?: number;
  stream?: boolean;
  tools?: { function: { name: string } }[];
}

/** What the server answers: text, or a tool call. */
export type Answer = string | { toolCall: { name: string; arguments: Record<string, unknown> } };

export interface FaultServerOptions {
  /** The answer to a request (default: a deterministic sentence from a hash of the request). */
  answer?: (b: ReqBody) => Answer;
  /** Faults to draw from (default none). */
  faults?: readonly Fault[];
  /** How many times each distinct request fails before it is answered (default 0; with faults, 2). */
  faultsPerRequest?: number;
  /** Delay of every answer in ms (default 0). */
  delayMs?: number;
  /** Status for every request (an always-failing endpoint), e.g. 503. */
  alwaysStatus?: number;
}

export interface FaultServer {
  readonly url: string;
  /** Requests received (all attempts). */
  requests: number;
  /** Successful answers per request key. */
  readonly answered: Map<string, number>;
  /** Faults injected, by kind. */
  readonly injected: Record<string, number>;
  close(): Promise<void>;
}

const h = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The key of a request: everything but `stream` (a streamed and a plain call are the same call). */
export function keyOf(b: ReqBody): string {
  const { stream: _s, ...rest } = b as ReqBody & { stream_options?: unknown };
  delete (rest as { stream_options?: unknown }).stream_options;
  return h(JSON.stringify(rest));
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
export function defaultAnswer(b: ReqBody): string {
  const d = h(JSON.stringify([b.messages, b.seed]));
  const n = 4 + (parseInt(d.slice(0, 2), 16) % 8);
  return `Answer ${Array.from({ length: n }, (_, i) => WORDS[parseInt(d.slice(2 + 2 * i, 4 + 2 * i), 16) % WORDS.length]).join(' ')}.`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => res(s));
    req.on('error', rej);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFaultServer(o: FaultServerOptions = {}): Promise<FaultServer> {
  const seen = new Map<string, number>();
  const state: FaultServer = { url: '', requests: 0, answered: new Map(), injected: {}, close: async () => undefined };
  const faults = o.faults ?? [];
  const perReq = o.faultsPerRequest ?? (faults.length ? 2 : 0);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    state.requests++;
    const raw = await readBody(req);
    if (o.alwaysStatus) {
      res.writeHead(o.alwaysStatus, { 'content-type': 'application/json', 'retry-after-ms': '1' });
      res.end(JSON.stringify({ error: { message: 'scripted outage', type: 'server_error' } }));
      return;
    }
    const b = JSON.parse(raw) as ReqBody;
    const key = keyOf(b);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    let fault: Fault | null = null;
    if (n < perReq && faults.length) fault = faults[parseInt(h(`${key}:${n}`).slice(0, 8), 16) % faults.length];
    if (fault) state.injected[fault] = (state.injected[fault] ?? 0) + 1;
    if (fault === '429') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '20' });
      res.end(JSON.stringify({ error: { message: 'rate limited', type: 'rate_limit' } }));
      return;
    }
    if (fault === '429s') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ error: { message: 'rate limited', type: 'rate_limit' } }));
      return;
    }
    if (fault === '500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"internal"}}');
      return;
    }
    if (fault === 'timeout') {
      await sleep(2000); // past the tests' client timeout
      if (!res.destroyed) res.destroy();
      return;
    }
    if (fault === 'slow' || o.delayMs) await sleep(fault === 'slow' ? 150 : o.delayMs!);
    const ans = (o.answer ?? defaultAnswer)(b);
    const msg = typeof ans === 'string'
      ? { role: 'assistant', content: ans }
      : { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: ans.toolCall.name, arguments: JSON.stringify(ans.toolCall.arguments) } }] };
    const finish = typeof ans === 'string' ? 'stop' : 'tool_calls';
    const usage = { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: 8, total_tokens: Math.ceil(raw.length / 4) + 8 };
    if (fault === 'malformed') {
      res.writeHead(200, { 'content-type': b.stream ? 'text/event-stream' : 'application/json' });
      res.end(b.stream ? 'data: {"choices":[{"delta":{"content":"x"\n\n' : '{"choices":[{"message":');
      return;
    }
    if (!b.stream) {
      state.answered.set(key, (state.answered.get(key) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: msg, finish_reason: finish }], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (d: unknown) => res.write(`data: ${JSON.stringify(d)}\n\n`);
    const chunk = (delta: unknown, fr: string | null = null) => ev({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: fr }] });
    chunk({ role: 'assistant', content: '' });
    if (typeof ans === 'string') {
      const parts = ans.match(/.{1,7}/gs) ?? [''];
      const cut = fault === 'truncated' ? Math.max(1, parts.length >> 1) : parts.length;
      for (const p of parts.slice(0, cut)) chunk({ content: p });
      if (fault === 'truncated') {
        res.end(); // the connection closes mid-answer
        return;
      }
    } else {
      const args = JSON.stringify(ans.toolCall.arguments);
      chunk({ tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: ans.toolCall.name, arguments: '' } }] });
      if (fault === 'truncated') {
        res.end();
        return;
      }
      chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] });
    }
    chunk({}, finish);
    ev({ id: 'x', object: 'chat.completion.chunk', choices: [], usage });
    res.write('data: [DONE]\n\n');
    state.answered.set(key, (state.answered.get(key) ?? 0) + 1);
    res.end();
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: e.message } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  });
  return state;
}
