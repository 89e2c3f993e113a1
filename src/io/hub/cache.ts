/**
 * The Hugging Face Hub cache of one model repo, laid out exactly as huggingface_hub writes it:
 *
 *   <cacheDir>/models--org--name/
 *     blobs/<etag>                     file contents, named by sha256 (LFS) or git blob sha1
 *     blobs/<etag>.incomplete          a download in progress (resumed by HTTP Range)
 *     refs/<revision>                  the commit hash a branch or tag pointed to
 *     snapshots/<commit>/<path>        relative symlinks to ../../blobs/<etag>
 *
 * so that Python tools and moss share one cache. One addition of ours, ignored by
 * huggingface_hub's cache scanner: `.moss/<commit>.json` lists the repo's files at that commit,
 * which lets us tell a complete snapshot from a partial one without asking the network.
 * Locks: `<cacheDir>/.locks/models--org--name/<etag>.moss.lock` (lock.ts), beside
 * huggingface_hub's flock files of the same folder.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { isCommitHash, isSafeRelPath, repoFolderName } from './repo.js';

export class RepoCache {
  /** `<cacheDir>/models--org--name`. */
  readonly root: string;

  constructor(readonly cacheDir: string, readonly repo: string) {
    this.root = join(cacheDir, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  /** Our cross-process lock of one blob (src/io/hub/lock.ts), beside huggingface_hub's `.locks`. */
  lockPath(etag: string): string {
    return join(this.cacheDir, '.locks', repoFolderName(this.repo), `${etag}.moss.lock`);
  }

  snapshotDir(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  /** The commit a revision stands for in the cache: itself for a hash, else `refs/<revision>`. */
  commitOf(revision: string): string | null {
    if (isCommitHash(revision)) return revision;
    const ref = join(this.root, 'refs', revision);
    if (!isSafeRelPath(revision) || !existsSync(ref)) return null;
    const commit = readFileSync(ref, 'utf8').trim();
    return isCommitHash(commit) ? commit : null;
  }

  /** Records that `revision` points at `commit` (nothing to record when the revision is the hash). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = join(this.root, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileAtomic(ref, [Buffer.from(commit)]);
  }

  /** The repo's file list at `commit` as last seen on the Hub, or null when never recorded. */
  readManifest(commit: string): string[] | null {
    const p = join(this.root, '.moss', `${commit}.json`);
    if (!existsSync(p)) return null;
    try {
      const j = JSON.parse(readFileSync(p, 'utf8')) as { files?: unknown };
      return Array.isArray(j.files) && j.files.every((f) => typeof f === 'string' && isSafeRelPath(f)) ? (j.files as string[]) : null;
    } catch {
      return null; // a damaged manifest only costs one question to the Hub
    }
  }

  writeManifest(commit: string, files: readonly string[]): void {
    const p = join(this.root, '.moss', `${commit}.json`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileAtomic(p, [Buffer.from(JSON.stringify({ repo: this.repo, commit, files }, null, 1))]);
  }

  /** True when `snapshots/<commit>/<path>` exists and its blob is there (the link is followed). */
  has(commit: string, path: string): boolean {
    return existsSync(join(this.snapshotDir(commit), path));
  }

  /** Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symlink. */
  link(commit: string, path: string, etag: string): void {
    const pointer = join(this.snapshotDir(commit), path);
    mkdirSync(dirname(pointer), { recursive: true });
    rmSync(pointer, { force: true }); // a dangling link left by a deleted blob
    symlinkSync(relative(dirname(pointer), this.blobPath(etag)), pointer);
  }
}
