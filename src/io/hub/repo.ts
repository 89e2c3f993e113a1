/**
 * Names on the Hugging Face Hub: `org/name[@revision]` specs, commit hashes, and the checks that
 * keep names from the network (repo ids, revisions, file paths, etags) from ever naming a path
 * outside the cache. Follows huggingface_hub's conventions (a revision is a branch, tag or
 * 40-hex commit; `refs/pr/N` is a valid revision). Not here: datasets and spaces (models only).
 */

export interface RepoRef {
  /** `org/name` (or a bare legacy `name`). */
  readonly repo: string;
  /** Branch, tag or commit hash; `main` when the spec names none. */
  readonly revision: string;
}

const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** True for a full 40-hex git commit hash. */
export function isCommitHash(s: string): boolean {
  return COMMIT.test(s);
}

/** True when `s` is a safe relative path: no empty, `.` or `..` segment, no backslash or NUL. */
export function isSafeRelPath(s: string): boolean {
  if (s.length === 0 || s.length > 1024 || s.startsWith('/') || /[\\\0]/.test(s)) return false;
  return s.split('/').every((seg) => seg.length > 0 && seg !== '.' && seg !== '..');
}

/**
 * Parses `org/name[@revision]`. With `requireOrg` a bare `name` is refused (so that a typo of a
 * local file name is not looked up on the Hub). Returns null when `spec` is not a repo spec.
 */
export function parseRepoSpec(spec: string, requireOrg = true): RepoRef | null {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length > 2 || (requireOrg && parts.length !== 2)) return null;
  if (!parts.every((p) => PART.test(p) && !p.includes('..') && p.length <= 96)) return null;
  if (!isSafeRelPath(revision) || revision.length > 256) return null;
  return { repo, revision };
}

/** The cache folder name of a model repo, as huggingface_hub writes it: `models--org--name`. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** An etag as a file name: quotes and a weak `W/` prefix dropped, then checked to be a plain name. */
export function normalizeEtag(raw: string | null): string | null {
  if (raw === null) return null;
  const e = raw.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(e) ? e : null;
}
