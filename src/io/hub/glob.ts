/**
 * `--include` / `--exclude` file patterns with huggingface_hub's semantics (Python `fnmatch`:
 * `*` also matches `/`, `?` one character, `[abc]` / `[!abc]` a set; a pattern ending in `/`
 * means everything under that folder). Not here: `**` as a separate token (`*` already spans
 * folders) or brace expansion.
 */

function toRegExp(pattern: string): RegExp {
  const p = pattern.endsWith('/') ? `${pattern}*` : pattern;
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = p.slice(i + 1, end);
        const neg = set.startsWith('!');
        if (neg) set = set.slice(1);
        re += `[${neg ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** A file filter: kept when it matches some include (or there are none) and no exclude. */
export interface FileFilter {
  include?: readonly string[];
  exclude?: readonly string[];
}

/** The files of `files` that the filter keeps, in their order. */
export function filterFiles(files: readonly string[], f: FileFilter): string[] {
  const inc = (f.include ?? []).map(toRegExp);
  const exc = (f.exclude ?? []).map(toRegExp);
  return files.filter((name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name)));
}

/** One fnmatch test, exported for tests and callers with a single pattern. */
export function globMatch(name: string, pattern: string): boolean {
  return toRegExp(pattern).test(name);
}
