/**
 * The HTTP core: a `fetch(Request) -> Response` function (web-standard, testable without sockets)
 * that routes, checks the API key, limits and parses bodies, and turns every thrown error into the
 * OpenAI error shape. Follows hono's core/adapter split; ./node-adapter.ts binds it to node:http.
 * Public without a key: GET / (web chat), /web/*, /health. Foreign origins and (on loopback) foreign
 * Host names are refused first (./guard.ts). Deliberately no CORS and no TLS.
 */
import { timingSafeEqual } from 'node:crypto';
import { ALL_OFF, type PluginSwitches, type QualityTag } from '../chat/meta.js';
import type { Plugin } from '../plugins/types.js';
import type { Engine } from './engine.js';
import { ApiError, errorResponse, json } from './errors.js';
import { checkBrowserSafety } from './guard.js';
import { HistoryStore } from './history-store.js';
import { Metrics } from './metrics.js';
import { mossApi } from './moss-api.js';
import { chatCompletions, completions } from './openai.js';
import { ModelNames } from './models.js';
import { staticAsset } from './static.js';
import type { ChatTemplate } from '../chat/template.js';

export interface AppOptions {
  readonly engine: Engine;
  /** When set, every API route needs `Authorization: Bearer <key>`. */
  readonly apiKey?: string;
  /** MOSS plugins by command name (Search, Calculate, Solve, Text2Image). */
  readonly plugins?: ReadonlyMap<string, Plugin>;
  /** Plugin switches for /moss and the web chat's default. */
  readonly switches?: PluginSwitches;
  /** Folder for /moss histories. */
  readonly historyDir: string;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** max_tokens when a request gives none. Default 512. */
  readonly defaultMaxTokens?: number;
  readonly pluginTimeoutMs?: number;
  /** A non-MOSS model's chat template (src/chat/template-source.ts modelChatTemplate); absent: the MOSS format. */
  readonly template?: ChatTemplate;
  /** Quality tag of a steer-trained model (`moss serve --quality`), ending the MOSS meta instruction. */
  readonly quality?: QualityTag;
  /** Refuse a Host that is not a loopback name (DNS rebinding; ./guard.ts). Set when listening on loopback. */
  readonly loopbackHostOnly?: boolean;
  /** A request body must arrive within this many ms (408 after). Default 30 000. */
  readonly bodyTimeoutMs?: number;
  /** More names the model answers to (./models.ts; `moss` and `default` always do). */
  readonly modelAliases?: readonly string[];
}

export interface App {
  fetch(req: Request): Promise<Response>;
  readonly metrics: Metrics;
}

type Handler = (req: Request) => Promise<Response> | Response;

/** Reads the body as JSON within the size limit (413 beyond it, 400 when not JSON) and the time limit (408). */
async function readJson(req: Request, limit: number, timeoutMs: number): Promise<unknown> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) throw new ApiError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`, 'invalid_request_error', null, 'body_too_large');
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { value, done } = await readBefore(reader, end, timeoutMs);
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw new ApiError(413, `request body exceeds the limit of ${limit} bytes`, 'invalid_request_error', null, 'body_too_large');
      }
      chunks.push(value);
    }
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  if (!text.trim()) throw new ApiError(400, 'request body is empty (expected JSON)', 'invalid_request_error', 'body', 'invalid_json');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`, 'invalid_request_error', 'body', 'invalid_json');
  }
}

/** One read of the body, or 408 (connection closed) when the body's deadline passes first. */
async function readBefore(reader: ReadableStreamDefaultReader<Uint8Array>, end: number, timeoutMs: number): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ApiError(408, `request body not received within ${timeoutMs} ms`, 'invalid_request_error', 'body', 'body_timeout', { connection: 'close' }));
      void reader.cancel().catch(() => {}); // after the rejection: a cancelled read resolves as "done"
    }, Math.max(0, end - Date.now()));
  });
  try {
    return await Promise.race([reader.read(), late]);
  } finally {
    clearTimeout(timer);
  }
}

const modelOf = (b: unknown): unknown => (typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as { model?: unknown }).model : undefined);

function keyOk(req: Request, key: string): boolean {
  const h = req.headers.get('authorization') ?? '';
  const given = h.toLowerCase().startsWith('bearer ') ? h.slice(7).trim() : req.headers.get('x-api-key') ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Builds the app. */
export function createApp(o: AppOptions): App {
  const metrics = new Metrics();
  const limit = o.maxBodyBytes ?? 1 << 20;
  const plugins = o.plugins ?? new Map<string, Plugin>();
  const names = new ModelNames(o.engine.modelId, o.engine.contextLength, o.modelAliases);
  const deps = { engine: o.engine, plugins, defaultMaxTokens: o.defaultMaxTokens ?? 512, metrics, pluginTimeoutMs: o.pluginTimeoutMs, template: o.template, quality: o.quality, fingerprint: names.fingerprint };
  let store: HistoryStore | undefined;
  const mossDeps = () => ({ ...deps, store: (store ??= new HistoryStore(o.historyDir)), switches: o.switches ?? ALL_OFF });
  const bodyMs = o.bodyTimeoutMs ?? 30_000;
  const post = (fn: (req: Request, body: unknown) => Promise<Response>): Handler => async (req) => fn(req, await readJson(req, limit, bodyMs));

  /** path -> method -> [handler, public?] */
  const routes: Record<string, Record<string, [Handler, boolean]>> = {
    '/health': { GET: [() => json({ status: 'ok', model: o.engine.modelId, ...o.engine.stats() }), true] },
    '/metrics': { GET: [() => new Response(metrics.render(o.engine.stats()), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }), false] },
    '/v1/models': { GET: [() => names.list(), false] },
    '/v1/chat/completions': { POST: [post((r, b) => (names.check(modelOf(b)), chatCompletions(r, b, deps))), false] },
    '/v1/completions': { POST: [post((r, b) => (names.check(modelOf(b)), completions(r, b, deps))), false] },
    '/moss': { POST: [post((r, b) => mossApi(r, b, mossDeps())), false] },
    '/': { GET: [() => staticAsset('index.html', { plugins: [...plugins.keys()], model: o.engine.modelId, auth: Boolean(o.apiKey) }), true] },
  };

  async function handle(req: Request): Promise<[Response, string]> {
    checkBrowserSafety(req, { loopbackHostOnly: o.loopbackHostOnly ?? false });
    const url = new URL(req.url);
    let path = url.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith('/web/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, `method ${req.method} not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed', { allow: 'GET' });
      return [staticAsset(path.slice(5)), '/web'];
    }
    if (path === '/chat/completions' || path === '/completions' || path === '/models' || path.startsWith('/models/')) path = `/v1${path}`;
    if (path.startsWith('/v1/models/')) {
      const name = decodeURIComponent(path.slice('/v1/models/'.length));
      const byName: Record<string, [Handler, boolean]> = { GET: [() => names.one(name), false] };
      return dispatch(req, byName, '/v1/models/{id}');
    }
    return dispatch(req, routes[path], path);
  }

  async function dispatch(req: Request, byMethod: Record<string, [Handler, boolean]> | undefined, path: string): Promise<[Response, string]> {
    const url = new URL(req.url);
    if (!byMethod) throw new ApiError(404, `no route for ${req.method} ${url.pathname}`, 'not_found_error', null, 'not_found');
    const entry = byMethod[req.method] ?? (req.method === 'HEAD' ? byMethod.GET : undefined);
    if (!entry) throw new ApiError(405, `method ${req.method} not allowed on ${path} (allowed: ${Object.keys(byMethod).join(', ')})`, 'invalid_request_error', null, 'method_not_allowed', { allow: Object.keys(byMethod).join(', ') });
    const [h, isPublic] = entry;
    if (o.apiKey && !isPublic && !keyOk(req, o.apiKey)) {
      throw new ApiError(401, 'missing or wrong API key (send Authorization: Bearer <key>)', 'authentication_error', null, 'invalid_api_key', { 'www-authenticate': 'Bearer' });
    }
    return [await h(req), path];
  }

  return {
    metrics,
    async fetch(req) {
      let res: Response;
      let route = 'other';
      try {
        [res, route] = await handle(req);
      } catch (e) {
        if (!(e instanceof ApiError)) process.stderr.write(`moss serve: ${(e as Error)?.stack ?? String(e)}\n`);
        res = errorResponse(e);
        const path = new URL(req.url).pathname;
        if (routes[path]) route = path; // known routes only: labels stay bounded
      }
      metrics.request(route, res.status);
      return res;
    },
  };
}
