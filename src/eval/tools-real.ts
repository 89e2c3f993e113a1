/**
 * The real-human split of `moss eval tools`: every plugin turn (a turn whose recorded Commands is
 * not None) of the held-out MOSS-003 conversations (../shared/data/moss-sft-heldout/plugins.*.jsonl:
 * calculator, equation solver, web search, text-to-image, mix), asked with the recorded earlier
 * turns as history and the record's own plugin switches, through the real plugin loop. Scored on
 * the right plugin (the set of command names equals the recorded one) and, where the recorded
 * result is a number the reply can be checked against (Calculate / Solve results), on whether the
 * reply contains that number (trailing zeros dropped: '270.0' is 270). Search hits and images come
 * from the web in the data and cannot be checked offline, so those turns count for the plugin only.
 * Not here: the synthetic split (./tools.ts), judging free-text quality.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommands } from '../chat/commands.js';
import { fieldBody, readRecords, recordTurns, type TurnFields } from '../chat/format.js';
import { chatTurn, type TokenGenerator } from '../chat/loop.js';
import { parseSwitches } from '../chat/meta.js';
import type { Plugin } from '../plugins/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { containsNumber } from './score.js';

export interface RealItem {
  file: string;
  conversation: string | number;
  turn: number;
  lang: 'en' | 'zh';
  prompt: string;
  /** Recorded command names (sorted, unique). */
  expected: string[];
  /** Numbers the reply must contain (empty: not checkable). */
  numbers: string[];
  got: string[];
  reply: string;
  rightPlugin: boolean;
  /** null: no checkable number. */
  rightNumber: boolean | null;
  error?: string;
}

interface RealCase {
  file: string;
  conversation: string | number;
  turn: number;
  meta: string;
  history: TurnFields[];
  prompt: string;
  expected: string[];
  numbers: string[];
}

/** '270.0' -> '270', '3.50' -> '3.5', '-2.000000000000' -> '-2'. */
export function normNumber(s: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(s)) return s;
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Numbers in a recorded Tool Responses field for Calculate and Solve results. */
export function recordedNumbers(results: string): string[] {
  const out: string[] = [];
  for (const m of results.matchAll(/^Calculate\(.*\) => '(-?\d+(?:\.\d+)?)'$/gm)) out.push(normNumber(m[1]));
  const solved = /^Solve\(.*\) =>\n([\s\S]*?)(?:<eor>|$)/m.exec(results);
  if (solved) for (const m of solved[1].matchAll(/^\s*\w+\s*=\s*(-?\d+(?:\.\d+)?)\s*$/gm)) out.push(normNumber(m[1]));
  return out;
}

const humanOf = (t: TurnFields): string => (t.Human ? fieldBody('Human', t.Human).trim() : '');

/** The plugin turns of the held-out files in `dir` (plugins.*.jsonl, sorted; a bad line is named). */
export function realCases(dir: string): RealCase[] {
  const files = readdirSync(dir).filter((f) => /^plugins\..*\.jsonl$/.test(f)).sort();
  if (!files.length) throw new Error(`${dir}: no plugins.*.jsonl files`);
  const out: RealCase[] = [];
  for (const f of files) {
    for (const rec of readRecords(join(dir, f))) {
      const turns = recordTurns(rec);
      turns.forEach((t, k) => {
        const body = t.Commands ? fieldBody('Commands', t.Commands).trim() : 'None';
        if (body === 'None' || body === '') return;
        const expected = [...new Set(parseCommands(body).map((c) => c.name))].sort();
        if (!expected.length) return;
        out.push({ file: f, conversation: rec.conversation_id, turn: k + 1, meta: rec.meta_instruction, history: turns.slice(0, k), prompt: humanOf(t), expected, numbers: recordedNumbers(t['Tool Responses'] ?? '') });
      });
    }
  }
  return out;
}

export interface RealEvalOptions {
  generator: TokenGenerator;
  tokenizer: Tokenizer;
  plugins: ReadonlyMap<string, Plugin>;
  dir: string;
  limit?: number;
  maxContext?: number;
  maxNewTokens?: number;
  onItem?: (item: RealItem, index: number, total: number) => void;
}

export interface RealGroup {
  items: number;
  rightPlugin: { ok: number; n: number };
  rightNumber: { ok: number; n: number };
}

/** Runs the real-human split; groups by `en`/`zh` and by file. */
export async function evalToolsReal(o: RealEvalOptions): Promise<{ items: RealItem[]; groups: Record<string, RealGroup>; overall: RealGroup }> {
  const cases = realCases(o.dir).slice(0, o.limit);
  const items: RealItem[] = [];
  for (const [i, c] of cases.entries()) {
    const lang: 'en' | 'zh' = /[\u4e00-\u9fff]/.test(c.prompt) ? 'zh' : 'en';
    let turn: TurnFields = {};
    let error: string | undefined;
    try {
      turn = await chatTurn(c.history, c.prompt, { model: o.generator, tokenizer: o.tokenizer, plugins: o.plugins, switches: parseSwitches(c.meta), maxContext: o.maxContext ?? 2048, maxNewTokens: o.maxNewTokens ?? 128 });
    } catch (e) {
      error = (e as Error).message;
    }
    const got = [...new Set(parseCommands(turn.Commands ? fieldBody('Commands', turn.Commands) : '').map((x) => x.name))].sort();
    const reply = turn.MOSS ? fieldBody('MOSS', turn.MOSS) : '';
    const rightPlugin = got.join(',') === c.expected.join(',');
    const rightNumber = c.numbers.length ? rightPlugin && c.numbers.every((n) => containsNumber(reply.replace(/,(?=\d{3})/g, ''), n)) : null;
    const item: RealItem = { file: c.file, conversation: c.conversation, turn: c.turn, lang, prompt: c.prompt, expected: c.expected, numbers: c.numbers, got, reply, rightPlugin, rightNumber, ...(error ? { error } : {}) };
    items.push(item);
    o.onItem?.(item, i, cases.length);
  }
  const group = (xs: RealItem[]): RealGroup => ({
    items: xs.length,
    rightPlugin: { ok: xs.filter((x) => x.rightPlugin).length, n: xs.length },
    rightNumber: { ok: xs.filter((x) => x.rightNumber === true).length, n: xs.filter((x) => x.rightNumber !== null).length },
  });
  const keys = [...new Set(items.flatMap((x) => [x.lang, x.file.replace(/^plugins\.|\.jsonl$/g, '')]))];
  return { items, groups: Object.fromEntries(keys.map((k) => [k, group(items.filter((x) => x.lang === k || x.file === `plugins.${k}.jsonl`))])), overall: group(items) };
}

/** A table of the real split: rows per language and per file, overall last. */
export function formatReal(r: { groups: Record<string, RealGroup>; overall: RealGroup }): string {
  const pct = (x: { ok: number; n: number }): string => (x.n ? `${((100 * x.ok) / x.n).toFixed(1)}% (${x.ok}/${x.n})` : '—');
  const rows = [...Object.entries(r.groups), ['overall', r.overall] as const].map(([k, g]) => [k, String(g.items), pct(g.rightPlugin), pct(g.rightNumber)]);
  const head = ['real split', 'items', 'right plugin', 'right number'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  return [head, ...rows].map((x) => x.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

