/**
 * Reading the inputs of the data commands: seed prompts (MOSS's `{"user_prompt": …}` JSONL, any
 * JSONL with `prompt`/`text`/`instruction`/`question`, or a plain text file with one prompt per
 * line; a folder means all its .jsonl/.txt files in name order) and generic JSONL records. A bad line
 * is reported as `file:line: reason` and skipped; nothing else stops the run. The category comes
 * from the record (`category`) or from a MOSS file name (`helpful_code_prompts.jsonl` →
 * `helpful_code`). Deliberately no network and no globbing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Item } from './runner.js';

export interface Seed {
  readonly prompt: string;
  readonly category: string | null;
  /** `file:line` the seed came from. */
  readonly source: string;
}

export interface BadLine {
  readonly where: string;
  readonly reason: string;
}

const PROMPT_KEYS = ['user_prompt', 'prompt', 'text', 'instruction', 'question'];

/** The files a path names: itself, or a folder's .jsonl/.json/.txt files in name order. */
export function inputFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`${path}: no such file or folder`);
  }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path).filter((f) => /\.(jsonl|json|txt)$/.test(f)).sort().map((f) => join(path, f));
  if (!files.length) throw new Error(`${path}: no .jsonl or .txt files in this folder`);
  return files;
}

/**
 * The items of a JSONL file whose lines each carry an id: `parse(value, "file:line")` makes one or
 * throws; bad JSON, a line `parse` refuses and a repeated id go to `bad` (file:line: reason).
 */
export function readItems<T extends { id: string }>(file: string, bad: BadLine[], parse: (value: unknown, where: string) => T): Item<T>[] {
  const items: Item<T>[] = [];
  const seen = new Set<string>();
  for (const { value, line } of readJsonLines(file, bad)) {
    const where = `${file}:${line}`;
    try {
      const it = parse(value, where);
      if (seen.has(it.id)) throw new Error(`id "${it.id}" repeats an earlier line`);
      seen.add(it.id);
      items.push({ id: it.id, input: it });
    } catch (e) {
      bad.push({ where, reason: (e as Error).message });
    }
  }
  return items;
}

/** Category from a MOSS prompt/conversation file name, or null. */
export function categoryFromName(file: string): string | null {
  const m = basename(file).match(/^(?:no-plugins\.|plugins\.)?([a-z_]+?)(?:_prompts|_conversations)?\.(?:jsonl|json|txt)$/);
  return m ? m[1] : null;
}

/** JSON lines of a file with their line numbers; bad JSON lines go to `bad`. */
export function readJsonLines(file: string, bad: BadLine[]): { value: unknown; line: number }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`, { cause: e });
  }
  const out: { value: unknown; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    try {
      out.push({ value: JSON.parse(line), line: i + 1 });
    } catch (e) {
      bad.push({ where: `${file}:${i + 1}`, reason: `not JSON (${(e as Error).message.split('\n')[0]})` });
    }
  });
  return out;
}

/** Seed prompts of a file or folder; bad lines reported in `bad`. */
export function readSeeds(path: string, bad: BadLine[]): Seed[] {
  const seeds: Seed[] = [];
  for (const file of inputFiles(path)) {
    const fileCat = categoryFromName(file);
    if (file.endsWith('.txt')) {
      readFileSync(file, 'utf8').split('\n').forEach((l, i) => {
        const p = l.replace(/\r$/, '').trim();
        if (p) seeds.push({ prompt: p, category: fileCat, source: `${file}:${i + 1}` });
      });
      continue;
    }
    for (const { value, line } of readJsonLines(file, bad)) {
      const where = `${file}:${line}`;
      if (typeof value === 'string') {
        if (value.trim()) seeds.push({ prompt: value.trim(), category: fileCat, source: where });
        else bad.push({ where, reason: 'empty prompt' });
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        bad.push({ where, reason: 'not a JSON object or string' });
        continue;
      }
      const o = value as Record<string, unknown>;
      const key = PROMPT_KEYS.find((k) => k in o);
      const p = key ? o[key] : undefined;
      if (typeof p !== 'string' || !p.trim()) {
        bad.push({ where, reason: key ? `"${key}" is not a non-empty string` : `no prompt field (one of ${PROMPT_KEYS.join(', ')})` });
        continue;
      }
      if (o.category !== undefined && typeof o.category !== 'string') {
        bad.push({ where, reason: '"category" is not a string' });
        continue;
      }
      seeds.push({ prompt: p.trim(), category: (o.category as string | undefined) ?? fileCat, source: where });
    }
  }
  return seeds;
}

/** Parses `--turns A..B` (or a single number). */
export function parseTurns(s: string): [number, number] {
  const m = s.trim().match(/^(\d+)(?:\s*\.\.\s*(\d+))?$/);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || a < 1 || b < a || b > 64) throw new Error(`--turns: "${s}" is not A..B with 1 <= A <= B <= 64`);
  return [a, b];
}
