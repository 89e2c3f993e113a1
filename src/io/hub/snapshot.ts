/**
 * `pull`: a model repo at a revision into the Hub cache, like huggingface_hub's snapshot_download:
 * revision → commit and file list from the API, the files a selection keeps, a HEAD per missing
 * file for its etag and size, then bounded parallel, resumable, verified downloads, each linked
 * into `snapshots/<commit>/`. A snapshot already complete in the cache is returned without any
 * request, and with `offline` nothing is ever requested. Not here: deleting old revisions.
 */
import { existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { RepoCache } from './cache.js';
import { fetchBlob } from './fetch-file.js';
import { withLock } from './lock.js';
import { HubError, fileMeta, resolveUrl, revisionInfo, type FileMeta } from './http.js';
import { formatBytes, type HubOptions } from './options.js';
import { isCommitHash, type RepoRef } from './repo.js';

/** Picks the files to fetch from a repo's full file list. */
export type Select = (files: readonly string[]) => string[];

export interface PullResult {
  /** `snapshots/<commit>`: an HF folder the loaders open directly. */
  path: string;
  commit: string;
  /** The selected files (null when an offline cache has no file list: huggingface_hub wrote it). */
  files: string[] | null;
  /** Files and bytes downloaded by this call. */
  fetched: number;
  bytes: number;
  /** Whether any request was made. */
  network: boolean;
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure aborts the rest and is thrown. */
async function pool<T>(items: readonly T[], limit: number, ctrl: AbortController, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | null = null;
  const worker = async () => {
    while (!failed && next < items.length) {
      const t = items[next++];
      try {
        await fn(t);
      } catch (e) {
        if (!failed) failed = { e };
        ctrl.abort(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw (failed as { e: unknown }).e;
}

const label = (ref: RepoRef) => `${ref.repo}@${ref.revision}`;

/** The cached snapshot of `ref` without any request; throws a one-line error when `o.offline` cannot be served. */
function fromCache(cache: RepoCache, ref: RepoRef, select: Select, o: HubOptions): PullResult | null {
  const commit = cache.commitOf(ref.revision);
  if (!commit) {
    if (o.offline) throw new HubError(`${label(ref)}: not in the Hub cache at ${o.cacheDir} and HF_HUB_OFFLINE is set (run \`moss pull ${ref.repo}\` while online)`);
    return null;
  }
  const path = cache.snapshotDir(commit);
  const listed = cache.readManifest(commit);
  if (!listed) {
    // A snapshot written by another tool: offline we trust it as it is (as huggingface_hub does).
    if (o.offline && existsSync(path)) return { path, commit, files: null, fetched: 0, bytes: 0, network: false };
    if (o.offline) throw new HubError(`${label(ref)}: the Hub cache has no snapshot of commit ${commit} and HF_HUB_OFFLINE is set`);
    return null;
  }
  const want = select(listed);
  const missing = want.filter((f) => !cache.has(commit, f));
  if (want.length > 0 && missing.length === 0) return { path, commit, files: want, fetched: 0, bytes: 0, network: false };
  if (!o.offline) return null;
  if (want.length === 0) throw new HubError(`${label(ref)}: no cached file matches the selection (HF_HUB_OFFLINE is set)`);
  const names = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
  throw new HubError(`${label(ref)}: the cached snapshot is incomplete (${missing.length} of ${want.length} files missing: ${names}) and HF_HUB_OFFLINE is set; run \`moss pull ${ref.repo}\` while online to finish it`);
}

/** Makes `ref` complete in the cache for the files `select` keeps, and returns its snapshot folder. */
export async function pull(ref: RepoRef, select: Select, o: HubOptions): Promise<PullResult> {
  const cache = new RepoCache(o.cacheDir, ref.repo);
  const cached = fromCache(cache, ref, select, o);
  if (cached && !(o.refresh && !isCommitHash(ref.revision) && !o.offline)) return cached;

  // --- ask the Hub: revision -> commit and file list
  const info = await revisionInfo(ref.repo, ref.revision, o);
  const { commit } = info;
  cache.writeManifest(commit, info.files);
  cache.writeRef(ref.revision, commit);
  const want = select(info.files);
  if (want.length === 0) throw new HubError(`${label(ref)}: none of its ${info.files.length} files matches the selection (--include / --exclude)`);
  const todo = want.filter((f) => !cache.has(commit, f));

  // --- metadata of the missing files (HEAD), bounded like the downloads
  const ctrl = new AbortController();
  const opts: HubOptions = { ...o, signal: o.signal ? AbortSignal.any([o.signal, ctrl.signal]) : ctrl.signal };
  const metas = new Map<string, FileMeta>();
  const limit = Math.max(1, o.concurrency ?? 8);
  await pool(todo, limit, ctrl, async (f) => {
    metas.set(f, await fileMeta(ref.repo, commit, f, opts));
  });
  // one download per blob: identical files share it
  const byBlob = new Map<string, string[]>();
  for (const f of todo) byBlob.set(metas.get(f)!.etag, [...(byBlob.get(metas.get(f)!.etag) ?? []), f]);
  const blobs = [...byBlob.entries()].filter(([etag]) => !existsSync(cache.blobPath(etag)));
  const bytes = blobs.reduce((s, [, fs]) => s + metas.get(fs[0])!.size, 0);
  const partial = (etag: string) => (existsSync(`${cache.blobPath(etag)}.incomplete`) ? statSync(`${cache.blobPath(etag)}.incomplete`).size : 0);
  const resumed = blobs.reduce((s, [etag, fs]) => s + Math.min(partial(etag), metas.get(fs[0])!.size), 0);
  o.onEvent?.({ kind: 'plan', repo: ref.repo, commit, files: want.length, toFetch: blobs.length, bytes, resumed });
  mkdirSync(`${cache.root}/blobs`, { recursive: true });
  const free = (o.diskFree ?? ((d: string) => { const f = statfsSync(d); return f.bavail * f.bsize; }))(`${cache.root}/blobs`);
  if (bytes - resumed > free) {
    throw new HubError(`${label(ref)}: needs ${formatBytes(bytes - resumed)} more in ${o.cacheDir}, which has ${formatBytes(free)} free (set HF_HUB_CACHE to a bigger disk, or pick files with --include)`);
  }

  // --- downloads
  let received = 0;
  for (const [etag, files] of byBlob) if (existsSync(cache.blobPath(etag))) for (const f of files) cache.link(commit, f, etag);
  await pool(blobs, limit, ctrl, async ([etag, files]) => {
    const meta = metas.get(files[0])!;
    // another moss process may be fetching the same blob: wait for it, then use its result
    const r = await withLock(cache.lockPath(etag), async () =>
      existsSync(cache.blobPath(etag)) ? { received: 0, resumedFrom: meta.size } : fetchBlob(resolveUrl(ref.repo, commit, files[0], o), cache.blobPath(etag), meta, `${ref.repo}: ${files[0]}`, opts),
    opts.signal);
    received += r.received;
    for (const f of files) cache.link(commit, f, etag);
    o.onEvent?.({ kind: 'file', path: files[0], bytes: meta.size, resumedFrom: r.resumedFrom });
  });
  return { path: cache.snapshotDir(commit), commit, files: want, fetched: blobs.length, bytes: received, network: true };
}
