/** Locates ../shared (or $MOSS_SHARED) for chat tests; undefined when absent. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED = process.env.MOSS_SHARED ?? join(root, '..', 'shared');
export const HAVE_SHARED = existsSync(join(SHARED, 'data', 'moss-sft'));
export const SKIP_MSG = `shared data not found at ${SHARED} (set MOSS_SHARED): skipped`;

/** Every JSON line of moss-sft and moss-sft-heldout, with file and line number. */
export function sftLines(): { file: string; line: number; json: unknown }[] {
  const out: { file: string; line: number; json: unknown }[] = [];
  for (const sub of ['moss-sft', 'moss-sft-heldout']) {
    const dir = join(SHARED, 'data', sub);
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
      readFileSync(join(dir, f), 'utf8').split('\n').forEach((l, i) => { if (l.trim()) out.push({ file: `${sub}/${f}`, line: i + 1, json: JSON.parse(l) }); });
    }
  }
  return out;
}
