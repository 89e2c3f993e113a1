/**
 * Aggregation and printing of `moss eval tools` results: rates of well-formed turns, right
 * plugin, right arguments and right answers, overall and per category × language. Each rate is
 * over the items where it applies (e.g. no argument to check for chit-chat), with its count.
 * Not here: confidence intervals, comparisons between runs.
 */
import type { EvalItem } from './tools.js';

export interface Rate {
  /** Items where the check passed. */
  ok: number;
  /** Items where the check applies. */
  n: number;
  /** ok / n (null when n = 0). */
  rate: number | null;
}

export interface Group {
  items: number;
  wellFormed: Rate;
  rightPlugin: Rate;
  rightArgs: Rate;
  rightAnswer: Rate;
  /** The reply repeats what the calculator/solver returned for the model's own argument. */
  repeatsResult: Rate;
  /** Items whose prompt also occurs in the training data (null: not checked). */
  seen: number | null;
}

export interface EvalSummary {
  overall: Group;
  /** Key: `<kind>` and `<kind>/<lang>` (calc, solve, search, image, chat; en, zh), and `en` / `zh`. */
  groups: Record<string, Group>;
}

function rate(xs: (boolean | null)[]): Rate {
  const app = xs.filter((x): x is boolean => x !== null);
  const ok = app.filter((x) => x).length;
  return { ok, n: app.length, rate: app.length ? ok / app.length : null };
}

function group(items: EvalItem[]): Group {
  return {
    items: items.length,
    wellFormed: rate(items.map((i) => i.wellFormed)),
    rightPlugin: rate(items.map((i) => i.rightPlugin)),
    rightArgs: rate(items.map((i) => i.rightArgs)),
    rightAnswer: rate(items.map((i) => i.rightAnswer)),
    repeatsResult: rate(items.map((i) => i.repeatsResult)),
    seen: items.some((i) => i.seen === null) ? null : items.filter((i) => i.seen).length,
  };
}

/** Rates overall, per language, per kind and per kind × language. */
export function summarize(items: EvalItem[]): EvalSummary {
  const keys = new Map<string, EvalItem[]>();
  const add = (k: string, it: EvalItem): void => {
    if (!keys.has(k)) keys.set(k, []);
    keys.get(k)!.push(it);
  };
  for (const it of items) {
    add(it.expect.kind, it);
    add(`${it.expect.kind}/${it.expect.lang}`, it);
    add(it.expect.lang, it);
  }
  const order = ['calc', 'solve', 'search', 'image', 'chat', 'en', 'zh'];
  const sorted = [...keys.keys()].sort((a, b) => order.indexOf(a.split('/')[0]) - order.indexOf(b.split('/')[0]) || a.localeCompare(b));
  return { overall: group(items), groups: Object.fromEntries(sorted.map((k) => [k, group(keys.get(k)!)])) };
}

const pct = (r: Rate): string => (r.rate === null ? '—' : `${(100 * r.rate).toFixed(1)}% (${r.ok}/${r.n})`);

/** A fixed-width table: one row per group, overall last. */
export function formatSummary(s: EvalSummary): string {
  const head = ['group', 'items', 'well-formed', 'right plugin', 'right args', 'right answer', 'repeats tool result', 'seen in training'];
  const rows = [...Object.entries(s.groups), ['overall', s.overall] as const].map(([k, g]) => [
    k, String(g.items), pct(g.wellFormed), pct(g.rightPlugin), pct(g.rightArgs), pct(g.rightAnswer), pct(g.repeatsResult), g.seen === null ? '—' : String(g.seen),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
