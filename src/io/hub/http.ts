/**
 * The Hub's HTTP API, the part a download needs: revision → commit and file list
 * (`GET /api/models/{repo}/revision/{rev}` → `sha`, `siblings[].rfilename`), file metadata
 * (`HEAD /{repo}/resolve/{commit}/{path}`, relative redirects followed, stopping at the CDN
 * redirect whose `X-Linked-Etag` / `X-Linked-Size` describe an LFS file), and one-line errors
 * from the status and the Hub's `X-Error-Code` header. Follows huggingface_hub's
 * file_download.py / utils/_http.py. Not here: uploads, xet transfers, listing or search.
 */
import type { HubOptions } from './options.js';
import { DEFAULT_ENDPOINT } from './options.js';
import { isCommitHash, isSafeRelPath, normalizeEtag } from './repo.js';

/** An error the Hub answered (status and X-Error-Code kept for callers). */
export class HubError extends Error {
  constructor(message: string, readonly status = 0, readonly code = '') {
    super(message);
    this.name = 'HubError';
  }
}

export function endpointOf(o: HubOptions): string {
  return (o.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** Headers of a request to the endpoint: no compression (sizes and etags are of the raw bytes). */
export function hubHeaders(o: HubOptions, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'moss-ts/0.1', 'accept-encoding': 'identity', ...extra };
  if (o.token) h.authorization = `Bearer ${o.token}`;
  return h;
}

/** `fetch` with network failures turned into one line naming the endpoint and HF_HUB_OFFLINE. */
export async function hubFetch(url: string, init: RequestInit, o: HubOptions, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubError(`${what}: cannot reach the Hub at ${endpointOf(o)} (${cause?.code ?? cause?.message ?? (e as Error).message}); set HF_HUB_OFFLINE=1 to use the cache only`);
  }
}

/** Throws a one-line HubError for a non-2xx/3xx answer. */
export function raiseForStatus(res: Response, what: string, o: HubOptions): void {
  if (res.status < 400) return;
  const code = res.headers.get('x-error-code') ?? '';
  const msg = res.headers.get('x-error-message');
  const tokenHint = o.token
    ? 'the token in HF_TOKEN has no access to it: accept the repo\'s terms on its Hub page with that account, or use a token that can read it'
    : 'it is gated or private (or does not exist): accept its terms on the Hub, then set HF_TOKEN to an access token (https://huggingface.co/settings/tokens)';
  if (code === 'GatedRepo' || res.status === 401 || res.status === 403) {
    throw new HubError(`${what}: the Hub refused access (${res.status}${code ? ` ${code}` : ''}): ${tokenHint}`, res.status, code);
  }
  if (code === 'RepoNotFound') throw new HubError(`${what}: no such model repo on the Hub (404)`, res.status, code);
  if (code === 'RevisionNotFound') throw new HubError(`${what}: no such revision (branch, tag or commit) on the Hub (404)`, res.status, code);
  if (code === 'EntryNotFound') throw new HubError(`${what}: no such file at this revision (404)`, res.status, code);
  if (res.status === 404) throw new HubError(`${what}: not found on the Hub (404)`, res.status, code);
  throw new HubError(`${what}: the Hub answered ${res.status}${msg ? `: ${msg}` : res.statusText ? ` ${res.statusText}` : ''}`, res.status, code);
}

export interface RevisionInfo {
  commit: string;
  files: string[];
}

/** Resolves `revision` to a commit and lists the repo's files there. */
export async function revisionInfo(repo: string, revision: string, o: HubOptions): Promise<RevisionInfo> {
  const what = `${repo}@${revision}`;
  const url = `${endpointOf(o)}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const res = await hubFetch(url, { headers: hubHeaders(o) }, o, what);
  raiseForStatus(res, what, o);
  let j: { sha?: unknown; siblings?: unknown };
  try {
    j = (await res.json()) as typeof j;
  } catch {
    throw new HubError(`${what}: the Hub's answer to ${url} is not JSON`);
  }
  if (typeof j.sha !== 'string' || !isCommitHash(j.sha)) throw new HubError(`${what}: the Hub's answer has no 40-hex "sha" (got ${JSON.stringify(j.sha)})`);
  if (!Array.isArray(j.siblings)) throw new HubError(`${what}: the Hub's answer has no "siblings" list`);
  const files: string[] = [];
  for (const s of j.siblings as { rfilename?: unknown }[]) {
    const f = s?.rfilename;
    if (typeof f !== 'string' || !isSafeRelPath(f)) throw new HubError(`${what}: the Hub lists an unsafe file name ${JSON.stringify(f)}`);
    files.push(f);
  }
  return { commit: j.sha, files };
}

/** URL of one file at a commit: `{endpoint}/{repo}/resolve/{commit}/{path}`. */
export function resolveUrl(repo: string, commit: string, path: string, o: HubOptions): string {
  return `${endpointOf(o)}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export interface FileMeta {
  /** Blob name: sha256 for LFS files (X-Linked-Etag), git blob sha1 for others (ETag). */
  etag: string;
  size: number;
  /** True when the etag is the sha256 of the content (an LFS file). */
  lfs: boolean;
}

/** HEAD of one file: etag and size, following same-host redirects (a renamed repo), not the CDN's. */
export async function fileMeta(repo: string, commit: string, path: string, o: HubOptions): Promise<FileMeta> {
  const what = `${repo}: ${path}`;
  let url = resolveUrl(repo, commit, path, o);
  for (let hop = 0; ; hop++) {
    const res = await hubFetch(url, { method: 'HEAD', redirect: 'manual', headers: hubHeaders(o) }, o, what);
    raiseForStatus(res, what, o);
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) {
      const next = new URL(loc, url);
      if (next.origin === new URL(url).origin && hop < 10) {
        url = next.href;
        continue; // a relative redirect (renamed repo): follow it
      }
    }
    const linked = res.headers.get('x-linked-etag');
    const etag = normalizeEtag(linked ?? res.headers.get('etag'));
    const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
    const size = sizeHeader === null ? NaN : Number(sizeHeader);
    if (etag === null) throw new HubError(`${what}: the Hub sent no usable ETag / X-Linked-Etag for this file`);
    if (!Number.isSafeInteger(size) || size < 0) throw new HubError(`${what}: the Hub sent no usable size (X-Linked-Size / Content-Length: ${sizeHeader})`);
    return { etag, size, lfs: linked !== null && /^[0-9a-f]{64}$/.test(etag) };
  }
}
