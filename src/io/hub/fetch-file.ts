/**
 * One resumable, verified download into the cache: bytes go to `blobs/<etag>.incomplete`
 * (appended to with `Range: bytes=<have>-` after a dropped connection or an earlier run), are
 * checked against the etag — sha256 for LFS files, git's blob sha1 (`"blob <size>\0" + bytes`)
 * for small ones, the size for anything else — and only then renamed to `blobs/<etag>`. A hash
 * that differs deletes the temp file: nothing half-written or wrong is ever left under a blob name.
 * Follows huggingface_hub's http_get (resume by Range, redirects followed to the CDN, where
 * fetch drops the Authorization header). Not here: parallel ranges of one file.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { HubOptions } from './options.js';
import { HubError, hubFetch, hubHeaders, raiseForStatus } from './http.js';
import type { FileMeta } from './http.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), rej(signal.reason)), { once: true });
  });

/** The hash an etag promises, fed with the bytes in order; null when the etag is not a content hash. */
function hasherFor(meta: FileMeta): { algo: string; h: Hash } | null {
  if (/^[0-9a-f]{64}$/.test(meta.etag)) return { algo: 'sha256', h: createHash('sha256') };
  if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    const h = createHash('sha1');
    h.update(`blob ${meta.size}\0`); // git's object header: the etag of a non-LFS file is its blob id
    return { algo: 'git sha1', h };
  }
  return null;
}

async function hashFile(path: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
}

export interface FetchResult {
  /** Bytes received over the network for this file. */
  received: number;
  /** Bytes that were already in `.incomplete` when the download began. */
  resumedFrom: number;
}

/**
 * Downloads `url` into `blob` (through `blob + '.incomplete'`), resuming and retrying; throws a
 * one-line error naming `what` when the content does not match `meta`.
 */
export async function fetchBlob(url: string, blob: string, meta: FileMeta, what: string, o: HubOptions): Promise<FetchResult> {
  const tmp = `${blob}.incomplete`;
  const retries = o.retries ?? 5;
  const hasher = hasherFor(meta);
  let hashed = 0; // bytes of tmp already fed to the hasher
  let received = 0;
  if (existsSync(tmp) && statSync(tmp).size > meta.size) truncateSync(tmp, 0); // not this file's prefix
  const resumedFrom = existsSync(tmp) ? statSync(tmp).size : 0;
  if (hasher && resumedFrom > 0) {
    await hashFile(tmp, hasher.h);
    hashed = resumedFrom;
  }
  for (let attempt = 0; ; attempt++) {
    const have = existsSync(tmp) ? statSync(tmp).size : 0;
    if (have < meta.size) {
      try {
        await fetchRange(url, tmp, have, meta, what, o, (c) => {
          hasher?.h.update(c);
          hashed += c.byteLength;
          received += c.byteLength;
        });
      } catch (e) {
        if (o.signal?.aborted || e instanceof HubError || attempt >= retries) {
          if (e instanceof HubError) throw e;
          throw new HubError(`${what}: download failed after ${attempt + 1} attempts (${(e as Error).message}); run the pull again to resume from byte ${existsSync(tmp) ? statSync(tmp).size : 0}`);
        }
        // A dropped connection: what reached the file stays; the hash state follows it.
        const now = existsSync(tmp) ? statSync(tmp).size : 0;
        if (hasher && now !== hashed) {
          // The hasher saw bytes that did not reach the disk (or vice versa): start the hash over.
          const fresh = hasherFor(meta)!;
          await hashFile(tmp, fresh.h);
          hasher.h = fresh.h;
          hashed = now;
        }
        o.onEvent?.({ kind: 'retry', path: what, at: now, reason: (e as Error).message });
        await sleep((o.retryDelayMs ?? 500) * 2 ** attempt, o.signal);
        continue;
      }
    }
    break;
  }
  const size = statSync(tmp).size;
  if (size !== meta.size) {
    rmSync(tmp, { force: true });
    throw new HubError(`${what}: got ${size} bytes, the Hub said ${meta.size}; the download was discarded`);
  }
  if (hasher) {
    const got = hasher.h.digest('hex');
    if (got !== meta.etag) {
      rmSync(tmp, { force: true });
      throw new HubError(`${what}: ${hasher.algo} of the download is ${got}, the Hub says ${meta.etag}; the download was discarded (run the pull again)`);
    }
  }
  renameSync(tmp, blob);
  return { received, resumedFrom };
}

/** One GET from byte `from` appended to `tmp`; `onChunk` sees each chunk once it is written. */
async function fetchRange(url: string, tmp: string, from: number, meta: FileMeta, what: string, o: HubOptions, onChunk: (c: Uint8Array) => void): Promise<void> {
  const headers = hubHeaders(o, from > 0 ? { range: `bytes=${from}-` } : {});
  const res = await hubFetch(url, { headers, redirect: 'follow' }, o, what);
  if (res.status === 416) {
    await res.body?.cancel();
    truncateSync(tmp, 0); // our partial file does not fit the file the Hub has: start over
    throw new Error('416 range not satisfiable');
  }
  raiseForStatus(res, what, o);
  if (from > 0 && res.status !== 206) {
    await res.body?.cancel();
    truncateSync(tmp, 0); // the server ignored the range: restart cleanly on the next attempt
    throw new Error(`asked for bytes ${from}- and got status ${res.status}`);
  }
  if (from > 0) {
    const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== from) {
      await res.body?.cancel();
      throw new HubError(`${what}: asked for bytes ${from}- and the server sent Content-Range ${res.headers.get('content-range')}`);
    }
  }
  if (!res.body) throw new Error('empty body');
  const fh = await open(tmp, from > 0 ? 'a' : 'w');
  let n = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (from + n + chunk.byteLength > meta.size) throw new HubError(`${what}: the server sent more than the ${meta.size} bytes the Hub announced`);
      await fh.write(chunk);
      onChunk(chunk);
      n += chunk.byteLength;
      o.onEvent?.({ kind: 'bytes', n: chunk.byteLength });
    }
  } finally {
    await fh.close();
  }
}
