/**
 * The one file that binds the web-standard core (./app.ts) to node:http: request -> `Request`
 * (body streamed, AbortSignal fired when the client disconnects), `Response` -> response (streamed
 * with backpressure; a streaming body is cancelled when the socket closes, which cancels the
 * generation). Follows @hono/node-server's adapter. Deliberately no HTTP/2 and no TLS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { App } from './app.js';

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost';
  const url = new URL(req.url ?? '/', `http://${host.replace(/[^A-Za-z0-9.:[\]-]/g, '') || 'localhost'}`);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) headers.append(k, x);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(url, {
    method: req.method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
}

async function send(res: Response, out: ServerResponse, closed: AbortSignal): Promise<void> {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  out.writeHead(res.status, headers);
  if (!res.body) return void out.end();
  const reader = res.body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  closed.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!out.write(value)) await new Promise<void>((r) => { out.once('drain', r); out.once('close', r); });
      if (closed.aborted) break;
    }
  } catch {
    // client gone mid-stream
  } finally {
    closed.removeEventListener('abort', cancel);
    out.end();
  }
}

/** An http.Server serving `app`. */
export function nodeServer(app: App): Server {
  return createServer((req, out) => {
    const ac = new AbortController();
    // 'close' on the response fires when the socket closes; before the end it means the client left
    out.on('close', () => { if (!out.writableFinished) ac.abort(); });
    req.on('error', () => ac.abort());
    void app.fetch(toRequest(req, ac.signal)).then((r) => send(r, out, ac.signal)).catch(() => {
      if (!out.headersSent) out.writeHead(500);
      out.end();
    });
  });
}

/** Listens and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}
