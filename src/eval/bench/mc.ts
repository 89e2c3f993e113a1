/**
 * Running a multiple-choice benchmark (MMLU, C-Eval, CMMLU) on a model: prompts in the chosen
 * style (./prompts.ts), choices scored by log-likelihood (./loglik.ts; shared-prefix path, or the
 * naive one-forward-per-choice path for comparison) or, in the moss-chat style, answered by greedy
 * generation and read as the first letter A-D. Produces one sample per question (prompt, per-choice
 * log-likelihoods, prediction, gold) and the report: acc and acc_norm (log-likelihood over the
 * choice's length in characters, as the harness), per subject and category, micro and macro.
 * Not here: file reading (./data.ts), writing files and the CLI (src/cli/eval-bench.ts).
 */
import { generateAll } from '../../generate/index.js';
import type { CausalLM } from '../../models/types.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import type { McBenchName, McDoc, McSubject } from './data.js';
import { encodeChoices, scoreNaive, scoreShared, type Encoded, type Scored } from './loglik.js';
import { groupMeans, mean, type Mean } from './metrics.js';
import { LETTERS, mcPrompt, type McPrompt, type Segment, type Style } from './prompts.js';

export interface McEvalOptions {
  model: CausalLM;
  tokenizer: Tokenizer;
  bench: McBenchName;
  subjects: readonly McSubject[];
  style: Style;
  shots: number;
  /** Questions per subject at most (the harness's --limit). */
  limit?: number;
  batchSize?: number;
  /** Context limit (default: the model's positions, as the harness's max_length). */
  maxLength?: number;
  /** Score with one forward per choice (the harness's own path; for comparison). */
  naive?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface McSample {
  subject: string;
  index: number;
  prompt: string;
  /** In choice order (log-likelihood styles; empty for moss-chat). */
  loglikelihoods: number[];
  /** moss-chat: the generated answer text. */
  generation?: string;
  pred: number;
  pred_norm: number;
  gold: number;
  acc: number;
  acc_norm: number;
  /** Context tokens were dropped on the left (harness rule) or shots dropped (original style). */
  truncated: boolean;
}

export interface McReport {
  acc: number;
  acc_stderr: number;
  acc_macro: number;
  acc_norm: number;
  n: number;
  truncated: number;
  subjects: Record<string, { acc: number; acc_norm: number; n: number; acc_stderr: number; category: string }>;
  categories: Record<string, { acc: number; n: number; acc_stderr: number; subjects: number; acc_macro: number }>;
}

const argmax = (xs: readonly number[]): number => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);

/** Token ids of a segmented (moss-chat) prompt: text runs as plain text, control tokens by id. */
export function segmentIds(tok: Tokenizer, segs: readonly Segment[]): number[] {
  return segs.flatMap((s) => {
    if ('text' in s) return tok.encode(s.text);
    const id = tok.tokenToId(s.control);
    if (id === undefined || !tok.isSpecial(id)) throw new Error(`moss-chat style needs a MOSS tokenizer (no ${s.control} control token)`);
    return [id];
  });
}

/** The prompt for one question; shots are dropped while it does not fit (original / moss-chat). */
function fitPrompt(o: McEvalOptions, s: McSubject, d: McDoc, maxLength: number): { p: McPrompt; dropped: boolean } {
  let k = o.shots;
  let p = mcPrompt(o.style, o.bench, s, d, k);
  if (o.style === 'harness') return { p, dropped: false };
  const len = (x: McPrompt): number => (x.segments ? segmentIds(o.tokenizer, x.segments).length : o.tokenizer.encode(x.context).length + 1);
  while (k > 0 && len(p) > maxLength) p = mcPrompt(o.style, o.bench, s, d, --k);
  return { p, dropped: k < o.shots };
}

/** Runs the benchmark; samples come in subject order, then test-file order. */
export async function evalMc(o: McEvalOptions): Promise<{ samples: McSample[]; report: McReport }> {
  const maxLength = o.maxLength ?? o.model.info.maxPositions;
  const prefixId = o.model.info.bosId ?? o.tokenizer.eosId ?? 0;
  const bs = Math.max(1, o.batchSize ?? 1);
  const work = o.subjects.flatMap((s) => s.test.slice(0, o.limit ?? s.test.length).map((d) => ({ s, d })));
  // chunks stay within a subject (its questions share the description and shots); log-likelihood
  // chunks hold several batches, which scoreShared forms by context length
  const per = o.style === 'moss-chat' || o.naive || bs === 1 ? bs : 4 * bs;
  const chunks: (typeof work)[] = [];
  for (const x of work) {
    const c = chunks[chunks.length - 1];
    if (c && c.length < per && c[0].s === x.s) c.push(x);
    else chunks.push([x]);
  }
  const samples: McSample[] = [];
  for (const chunk of chunks) {
    const prompts = chunk.map(({ s, d }) => fitPrompt(o, s, d, maxLength));
    if (o.style === 'moss-chat') {
      const ids = prompts.map(({ p }) => segmentIds(o.tokenizer, p.segments!).slice(-(maxLength - 8)));
      const stop = ['<eom>', '<|endoftext|>'].map((t) => o.tokenizer.tokenToId(t)).filter((x): x is number => x !== undefined);
      const { ids: outs } = await generateAll(o.model, ids, { temperature: 0, maxNewTokens: 8, stopIds: [...stop, ...o.model.info.eosIds] });
      chunk.forEach(({ s, d }, j) => {
        const text = o.tokenizer.decode(outs[j], { skipSpecial: true });
        const m = /[ABCD]/.exec(text);
        const pred = m ? LETTERS.indexOf(m[0]) : -1;
        const truncated = prompts[j].dropped || ids[j].length < segmentIds(o.tokenizer, prompts[j].p.segments!).length;
        samples.push({ subject: s.name, index: d.index, prompt: prompts[j].p.context, loglikelihoods: [], generation: text, pred, pred_norm: pred, gold: d.answer, acc: +(pred === d.answer), acc_norm: +(pred === d.answer), truncated });
      });
    } else {
      const enc: Encoded[] = prompts.map(({ p }) => encodeChoices(o.tokenizer, p.context, p.continuations, prefixId));
      const scored: Scored[] = o.naive ? enc.map((q) => scoreNaive(o.model, q, { maxLength })) : scoreShared(o.model, enc, { maxLength, batchSize: bs });
      chunk.forEach(({ s, d }, j) => {
        const lls = scored[j].lls;
        const choices = o.style === 'harness' ? LETTERS : prompts[j].p.continuations;
        const pred = argmax(lls);
        const predNorm = argmax(lls.map((x, c) => x / choices[c].length));
        samples.push({ subject: s.name, index: d.index, prompt: prompts[j].p.context, loglikelihoods: lls, pred, pred_norm: predNorm, gold: d.answer, acc: +(pred === d.answer), acc_norm: +(predNorm === d.answer), truncated: scored[j].truncated || prompts[j].dropped });
      });
    }
    o.onProgress?.(samples.length, work.length);
    await new Promise((r) => setImmediate(r));
  }
  return { samples, report: mcReport(o.subjects, samples) };
}

/** The report of a set of samples. */
export function mcReport(subjects: readonly McSubject[], samples: readonly McSample[]): McReport {
  const cat = new Map(subjects.map((s) => [s.name, s.category]));
  const acc = groupMeans(samples.map((x) => ({ group: x.subject, x: x.acc })));
  const norm = groupMeans(samples.map((x) => ({ group: x.subject, x: x.acc_norm })));
  const subj: McReport['subjects'] = {};
  for (const [name, m] of Object.entries(acc.groups)) subj[name] = { acc: m.value, acc_norm: norm.groups[name].value, n: m.n, acc_stderr: m.stderr, category: cat.get(name) ?? '' };
  const categories: McReport['categories'] = {};
  for (const c of [...new Set(subjects.map((s) => s.category))].filter((c) => c !== '').sort()) {
    const xs = samples.filter((x) => cat.get(x.subject) === c);
    if (!xs.length) continue;
    const g = groupMeans(xs.map((x) => ({ group: x.subject, x: x.acc })));
    const m: Mean = mean(xs.map((x) => x.acc));
    categories[c] = { acc: m.value, n: m.n, acc_stderr: m.stderr, subjects: Object.keys(g.groups).length, acc_macro: g.macro };
  }
  return { acc: acc.micro.value, acc_stderr: acc.micro.stderr, acc_macro: acc.macro, acc_norm: norm.micro.value, n: samples.length, truncated: samples.filter((x) => x.truncated).length, subjects: subj, categories };
}
