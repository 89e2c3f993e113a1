/**
 * The loop every data command shares: items not yet in the done-log go through `work` with at
 * most `concurrency` in flight (p-limit); results are committed in input order (so an interrupted
 * and resumed run writes the same bytes as an uninterrupted one), after the optional duplicate
 * check; an item that fails is counted, not written, and redone by the next run; at `maxErrors`
 * failures the run stops launching work and returns a summary saying so. Commits go through
 * ./store.ts (fsync per record). Deliberately no knowledge of what the records are.
 */
import pLimit from 'p-limit';
import type { CallStats } from './call.js';
import type { Deduper } from './dedup.js';
import { Progress } from './progress.js';
import { ResumableStore } from './store.js';

export interface Item<I> {
  readonly id: string;
  readonly input: I;
}

/** What `work` returns: records per output file (index → record), or a reason to drop the item. */
export type Outcome = { readonly records: readonly (unknown | undefined)[]; readonly dedupText?: string } | { readonly drop: string };

export interface RunOptions<I> {
  readonly label: string;
  /** Output files; the first is the main output and gets the `.done` log beside it. */
  readonly out: readonly string[];
  readonly items: readonly Item<I>[];
  readonly work: (item: Item<I>, signal: AbortSignal) => Promise<Outcome>;
  /** A record's id (default: `r.id`). */
  readonly idOf?: (r: unknown) => string;
  readonly concurrency: number;
  /** Failed items after which the run stops (default 50). */
  readonly maxErrors?: number;
  /** Removes duplicates of `Outcome.dedupText` (records already in the main output are seeded in). */
  readonly dedup?: Deduper;
  readonly dedupTextOf?: (r: unknown) => string;
  readonly stats?: () => CallStats;
  /** Progress on stderr (default true). */
  readonly progress?: boolean;
  /** Called when an item fails (message includes the item id). */
  readonly onError?: (msg: string) => void;
}

export interface Summary {
  readonly command: string;
  readonly out: string;
  readonly items: number;
  /** Finished in an earlier run (resumed). */
  readonly resumed: number;
  readonly written: number;
  readonly dropped: Record<string, number>;
  readonly errors: number;
  readonly errorSamples: string[];
  /** Why the run stopped early, or null. */
  readonly stopped: string | null;
  readonly calls: number;
  readonly cacheHits: number;
  readonly retries: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  readonly requestsPerSecond: number;
}

const NO_STATS: CallStats = { calls: 0, cacheHits: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 };

export async function runPipeline<I>(o: RunOptions<I>): Promise<Summary> {
  const idOf = o.idOf ?? ((r: unknown) => String((r as { id: unknown }).id));
  const store = new ResumableStore(o.out, idOf);
  const t0 = performance.now();
  if (o.dedup && o.dedupTextOf) for (const r of store.files[0].records) o.dedup.check(o.dedupTextOf(r));
  const todo = o.items.filter((it) => !store.done.has(it.id));
  /** Finished earlier: logged in the done-log, or (counted at commit) written but not yet logged. */
  let resumed = o.items.length - todo.length;
  const dropped: Record<string, number> = {};
  const errorSamples: string[] = [];
  let written = 0;
  let errors = 0;
  let committed = 0;
  let stopped: string | null = null;
  const stats = o.stats ?? (() => NO_STATS);
  const progress = o.progress === false ? null : new Progress(o.label, () => {
    const s = stats();
    return { total: o.items.length, done: o.items.length - todo.length + committed, errors, tokens: s.promptTokens + s.completionTokens, retries: s.retries };
  });
  const ac = new AbortController();
  const limit = pLimit(Math.max(1, o.concurrency));
  const results: (Promise<Outcome | Error> | undefined)[] = todo.map((it) =>
    limit(async () => {
      if (ac.signal.aborted) return new Error('not started: the run stopped');
      try {
        return await o.work(it, ac.signal);
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      }
    }));

  const commit = (it: Item<I>, r: Outcome): void => {
    if ('drop' in r) {
      dropped[r.drop] = (dropped[r.drop] ?? 0) + 1;
      store.finish(it.id, `dropped:${r.drop}`);
      return;
    }
    const already = store.has(0, it.id); // written by an interrupted run, not yet logged
    if (!already && o.dedup && r.dedupText !== undefined) {
      const dup = o.dedup.check(r.dedupText);
      if (dup) {
        const why = `duplicate-${dup}`;
        dropped[why] = (dropped[why] ?? 0) + 1;
        store.finish(it.id, `dropped:${why}`);
        return;
      }
    }
    // secondary files first, the main output last, then the done-log
    for (let i = r.records.length - 1; i >= 0; i--) if (r.records[i] !== undefined) store.write(i, it.id, r.records[i]);
    if (already) resumed++; // an interrupted run wrote it; only the done-log line was missing
    else if (r.records[0] !== undefined) written++;
    store.finish(it.id, 'written');
  };

  try {
    for (let k = 0; k < todo.length; k++) {
      const r = await results[k]!;
      results[k] = undefined;
      if (r instanceof Error) {
        errors++;
        const msg = `${todo[k].id}: ${r.message}`;
        if (errorSamples.length < 5) errorSamples.push(msg);
        o.onError?.(msg);
        if (errors >= (o.maxErrors ?? 50)) {
          stopped = `max-errors: ${errors} items failed (--max-errors ${o.maxErrors ?? 50}); finished items are saved, re-run the same command to continue`;
          limit.clearQueue(); // queued items never start (their promises never settle: do not await them)
          ac.abort();
          break; // results after the stop are not committed, to keep input order
        }
        continue;
      }
      commit(todo[k], r);
      committed++;
    }
  } finally {
    progress?.stop();
    store.close();
  }
  const secs = (performance.now() - t0) / 1000;
  const s = stats();
  return {
    command: o.label, out: o.out[0], items: o.items.length, resumed, written, dropped, errors, errorSamples, stopped,
    calls: s.calls, cacheHits: s.cacheHits, retries: s.retries, promptTokens: s.promptTokens, completionTokens: s.completionTokens,
    seconds: Math.round(secs * 1000) / 1000, itemsPerSecond: Math.round((committed / secs) * 100) / 100, requestsPerSecond: Math.round((s.calls / secs) * 100) / 100,
  };
}
