/**
 * A fake Hugging Face Hub on loopback for the hub tests: the API's
 * `/api/models/{repo}/revision/{rev}` (sha + siblings), `HEAD|GET /{repo}/resolve/{rev}/{path}`
 * (small files inline with a git-sha1 ETag; LFS files as a 302 to a second "CDN" server, with
 * X-Linked-Etag = sha256 and X-Linked-Size, as the Hub sends them), Range requests, X-Error-Code
 * errors (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo as 401 without a token and
 * 403 with a wrong one), a renamed repo (relative redirect), and faults: a connection dropped
 * after N bytes of a file, or a file served with one byte changed. Every request is logged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  id: string;
  commit: string;
  /** Branch/tag -> commit; `main` -> commit by default. */
  refs?: Record<string, string>;
  files: Record<string, Buffer>;
  /** Files of at least this many bytes are LFS files (default 4096). */
  lfsMin?: number;
  /** Gated: only `Bearer <token>` may read files. */
  token?: string;
}

export interface Faults {
  /** path -> bytes: the next GET of the file (from byte 0) drops the connection after that many bytes. */
  dropAfter?: Map<string, number>;
  /** Files served with their first byte changed (headers still announce the true hash). */
  corrupt?: Set<string>;
  /** CDN answers wait this long (to see downloads overlap). */
  cdnDelayMs?: number;
}

export interface LogEntry {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range?: string;
  auth: boolean;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export class FakeHub {
  readonly log: LogEntry[] = [];
  /** Most CDN requests open at once (the client's concurrency bound). */
  maxInFlight = 0;
  private inFlight = 0;
  url = '';
  cdnUrl = '';
  private readonly servers: Server[] = [];
  private readonly blobs = new Map<string, { data: Buffer; path: string }>();
  private readonly pathOf = new Map<Buffer, string>();
  readonly renamed = new Map<string, string>();

  constructor(readonly repos: FakeRepo[], readonly faults: Faults = {}) {
    for (const r of repos) {
      for (const [path, data] of Object.entries(r.files)) {
        this.blobs.set(sha256(data), { data, path });
        this.pathOf.set(data, path);
      }
    }
  }

  static async start(repos: FakeRepo[], faults: Faults = {}): Promise<FakeHub> {
    const hub = new FakeHub(repos, faults);
    hub.url = await hub.listen((q, s) => hub.hub(q, s));
    hub.cdnUrl = await hub.listen((q, s) => hub.cdn(q, s));
    return hub;
  }

  /** Requests since the last call (and clears the log). */
  take(): LogEntry[] {
    return this.log.splice(0);
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  private listen(handler: (q: IncomingMessage, s: ServerResponse) => void): Promise<string> {
    const server = createServer(handler);
    this.servers.push(server);
    return new Promise((res) => server.listen(0, '127.0.0.1', () => res(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  }

  private record(server: 'hub' | 'cdn', q: IncomingMessage): void {
    this.log.push({ server, method: q.method ?? '', url: q.url ?? '', range: q.headers.range, auth: q.headers.authorization !== undefined });
  }

  private error(s: ServerResponse, status: number, code?: string): void {
    s.writeHead(status, code ? { 'x-error-code': code, 'x-error-message': code } : {});
    s.end(JSON.stringify({ error: code ?? String(status) }));
  }

  private hub(q: IncomingMessage, s: ServerResponse): void {
    this.record('hub', q);
    const url = new URL(q.url ?? '/', this.url);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const res = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repoId = api?.[1] ?? res?.[1];
    if (!repoId) return this.error(s, 404);
    const moved = this.renamed.get(repoId);
    if (moved) {
      s.writeHead(307, { location: url.pathname.replace(repoId, moved) + url.search });
      return void s.end();
    }
    const repo = this.repos.find((r) => r.id === repoId);
    if (!repo) return this.error(s, 404, 'RepoNotFound');
    const rev = decodeURIComponent((api ?? res)![2]);
    const commit = rev === repo.commit ? rev : (repo.refs ?? { main: repo.commit })[rev];
    if (!commit) return this.error(s, 404, 'RevisionNotFound');
    if (api) {
      s.writeHead(200, { 'content-type': 'application/json' });
      return void s.end(JSON.stringify({ id: repo.id, sha: commit, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }));
    }
    if (repo.token) {
      const auth = q.headers.authorization;
      if (!auth) return this.error(s, 401, 'GatedRepo');
      if (auth !== `Bearer ${repo.token}`) return this.error(s, 403, 'GatedRepo');
    }
    const path = decodeURIComponent(res![3]);
    const data = repo.files[path];
    if (!data) return this.error(s, 404, 'EntryNotFound');
    const common = { 'x-repo-commit': commit };
    if (data.length >= (repo.lfsMin ?? 4096)) {
      const h = sha256(data);
      s.writeHead(302, { ...common, location: `${this.cdnUrl}/blobs/${h}?sig=x`, 'x-linked-etag': `"${h}"`, 'x-linked-size': String(data.length), etag: `"${h}"`, 'content-length': '0' });
      return void s.end();
    }
    this.send(q, s, data, { ...common, etag: `"${gitSha1(data)}"` });
  }

  private cdn(q: IncomingMessage, s: ServerResponse): void {
    this.record('cdn', q);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    s.on('close', () => this.inFlight--);
    if (this.faults.cdnDelayMs) {
      setTimeout(() => this.cdnNow(q, s), this.faults.cdnDelayMs);
      return;
    }
    this.cdnNow(q, s);
  }

  private cdnNow(q: IncomingMessage, s: ServerResponse): void {
    const m = /^\/blobs\/([0-9a-f]{64})/.exec(q.url ?? '');
    const blob = m && this.blobs.get(m[1]);
    if (!blob) return this.error(s, 404);
    let data = blob.data;
    if (this.faults.corrupt?.has(blob.path)) {
      data = Buffer.from(data);
      data[0] ^= 0xff;
    }
    this.send(q, s, data, {}, blob.data);
  }

  /** Sends `data` (or the asked range), dropping the connection where a fault says so. */
  private send(q: IncomingMessage, s: ServerResponse, data: Buffer, headers: Record<string, string>, original?: Buffer): void {
    const path = this.pathOf.get(data) ?? this.pathOf.get(original ?? data);
    const m = /^bytes=(\d+)-$/.exec(q.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    if (from > data.length) return this.error(s, 416);
    const body = data.subarray(from);
    s.writeHead(m ? 206 : 200, { ...headers, 'content-length': String(body.length), ...(m ? { 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` } : {}) });
    if (q.method === 'HEAD') return void s.end();
    const drop = path !== undefined && from === 0 ? this.faults.dropAfter?.get(path) : undefined;
    if (drop === undefined) return void s.end(body);
    this.faults.dropAfter!.delete(path!);
    // let the client read the bytes before the connection goes (a stream error drops unread chunks)
    s.write(body.subarray(0, drop), () => setTimeout(() => s.socket?.destroy(), 200));
  }
}

/** A 40-hex commit id derived from a word (stable across runs). */
export const commitOf = (word: string) => createHash('sha1').update(word).digest('hex');
