/**
 * `moss eval tools`: held-out tool-use evaluation of a MOSS model. Prompts come from the synthetic
 * conversation generator's evaluation split (src/data/heldout.ts: phrasings and number ranges the
 * training split never draws — held out by construction, whatever the seed), and before anything
 * is scored every prompt is checked against every training prompt (the regenerated synthetic
 * sets, the copy drills and the real SFT files given); one seen prompt refuses the score. Each is
 * run through the real plugin loop (src/chat chatTurn: real calculator, solver and local BM25
 * search over the bundled documents; Text2Image answers "generated" without drawing, as in the
 * training data) and scored by ./score.ts. Works with any TokenGenerator, so tests drive it with
 * scripted stand-ins and the CLI with ModelGenerator (greedy).
 * Not here: sampling-based evaluation, LLM judges, the real human plugin prompts (./tools-real.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecords, recordTurns, ROLE, type TurnFields } from '../chat/format.js';
import { chatTurn, type TokenGenerator } from '../chat/loop.js';
import { parseSwitches } from '../chat/meta.js';
import { writeDocuments } from '../data/docs.js';
import { TRAINING_DRILLS, TRAINING_SETS, isTrainingSeed } from '../data/dialogues.js';
import { copyDrills } from '../data/drills.js';
import { synthConversations, type Expectation, type Kind } from '../data/synth-plugins.js';
import { createPlugins, type Plugin } from '../plugins/index.js';
import { searchLocal } from '../plugins/search/local.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { summarize, type EvalSummary } from './report.js';
import { scoreTurn, type ItemScore, type TurnOutputs } from './score.js';

export interface ToolEvalOptions {
  generator: TokenGenerator;
  tokenizer: Tokenizer;
  /** Number of held-out prompts. */
  n: number;
  seed: number;
  /** Allow a training seed (the report is then marked `trainingSeed: true`). */
  allowTrainingSeed?: boolean;
  maxContext?: number;
  maxNewTokens?: number;
  /** Category mix (default: equal shares of calc, solve, search, image, chat). */
  mix?: Partial<Record<Kind, number>>;
  /** Check every prompt against the training prompts first and refuse the score if one was seen (default true). */
  checkOverlap?: boolean;
  /** Real SFT files (JSONL, MOSS schema) the model was also trained on, for the overlap check. */
  trainingFiles?: readonly string[];
  /** The synthetic training sets to check against (default: moss-tiny's TRAINING_SETS and TRAINING_DRILLS). */
  trainingSets?: { sets: typeof TRAINING_SETS; drills: typeof TRAINING_DRILLS };
  /** Called after each item (progress). */
  onItem?: (item: EvalItem, index: number) => void;
}

export interface EvalItem extends ItemScore {
  prompt: string;
  expect: Expectation;
  /** The prompt text also occurs in the training data. */
  seen: boolean | null;
  error?: string;
}

export interface ToolEvalResult {
  seed: number;
  trainingSeed: boolean;
  summary: EvalSummary;
  items: EvalItem[];
}

const EVAL_MIX: Record<Kind, number> = { calc: 1, solve: 1, search: 1, image: 1, chat: 1 };

/** Records what the wrapped generator yields per call, with whether it ended on a stop id. */
class Recorder implements TokenGenerator {
  calls: { ids: number[]; stopped: boolean }[] = [];
  constructor(private readonly inner: TokenGenerator) {}
  async *generate(promptIds: readonly number[], opts: { stopIds: readonly number[]; maxNewTokens: number; signal?: AbortSignal }): AsyncGenerator<number, void> {
    const rec = { ids: [] as number[], stopped: false };
    this.calls.push(rec);
    for await (const id of this.inner.generate(promptIds, opts)) {
      rec.ids.push(id);
      if (opts.stopIds.includes(id)) rec.stopped = true;
      yield id;
    }
  }
}

/** The human text of a one-turn synthetic record. */
function humanText(t: TurnFields): string {
  const h = t.Human ?? '';
  return h.slice(ROLE.Human.head.length + 1, h.lastIndexOf(ROLE.Human.end));
}

/** Whitespace-insensitive form of a prompt for the overlap check. */
export const normPrompt = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * Human prompts (normalized) of everything moss-tiny was trained on: the synthetic sets
 * (TRAINING_SETS, regenerated), the copy drills (TRAINING_DRILLS) and every turn of `files`.
 */
export function trainingPrompts(docsDir: string, files: readonly string[] = [], sets = TRAINING_SETS, drills = TRAINING_DRILLS): Set<string> {
  const out = new Set<string>();
  for (const s of sets) for (const c of synthConversations(s.conversations, s.seed, docsDir, s.mix, s.zhShare)) out.add(normPrompt(humanText(c.record.chat.turn_1)));
  for (const d of drills) for (const r of copyDrills(d.count, d.seed, 10, d.hard)) for (const t of recordTurns(r)) out.add(normPrompt(humanText(t)));
  for (const f of files) {
    for (const rec of readRecords(f)) for (const t of recordTurns(rec)) out.add(normPrompt(humanText(t)));
  }
  return out;
}

/** A Text2Image stand-in: reports success without drawing (the training data has no image files). */
const fakeImage: Plugin = { name: 'Text2Image', run: () => Promise.resolve({ kind: 'image', files: [] }) };

/** The plugins of an evaluation: real calculator and solver, local search over `docsDir`, Text2Image stand-in. */
export function evalPlugins(docsDir: string): Map<string, Plugin> {
  const plugins = createPlugins({ search: { provider: 'local', dir: docsDir } });
  plugins.set('Text2Image', fakeImage);
  return plugins;
}

/** Runs the evaluation. */
export async function evalTools(o: ToolEvalOptions): Promise<ToolEvalResult> {
  if (!Number.isInteger(o.n) || o.n < 1) throw new Error(`eval tools: --n must be a positive integer, got ${o.n}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`eval tools: --seed must be a non-negative integer, got ${o.seed}`);
  const trainingSeed = isTrainingSeed(o.seed);
  if (trainingSeed && !o.allowTrainingSeed) {
    throw new Error(`eval tools: seed ${o.seed} generated training data for moss-tiny (training seeds: ${TRAINING_SETS.map((s) => s.seed).join(', ')}); pick another seed`);
  }
  const docsDir = mkdtempSync(join(tmpdir(), 'moss-eval-docs-'));
  try {
    writeDocuments(docsDir);
    const plugins = evalPlugins(docsDir);
    const convs = synthConversations(o.n, o.seed, docsDir, o.mix ?? EVAL_MIX, 0.5, 'eval');
    const seen = o.checkOverlap === false ? null : trainingPrompts(docsDir, o.trainingFiles, o.trainingSets?.sets, o.trainingSets?.drills);
    if (seen) {
      const hits = convs.map((c) => humanText(c.record.chat.turn_1)).filter((p) => seen.has(normPrompt(p)));
      if (hits.length) throw new Error(`eval tools: refusing to score: ${hits.length} of ${convs.length} prompts occur in the training data (first: ${JSON.stringify(hits[0])})`);
    }
    const items: EvalItem[] = [];
    for (const [i, c] of convs.entries()) {
      const prompt = humanText(c.record.chat.turn_1);
      const rec = new Recorder(o.generator);
      let turn: TurnFields = {};
      let error: string | undefined;
      try {
        turn = await chatTurn([], prompt, {
          model: rec, tokenizer: o.tokenizer, plugins, switches: parseSwitches(c.record.meta_instruction),
          maxContext: o.maxContext ?? 2048, maxNewTokens: o.maxNewTokens ?? 128,
        });
      } catch (e) {
        error = (e as Error).message;
      }
      const outs: TurnOutputs = { calls: rec.calls.map((k) => ({ text: o.tokenizer.decode(k.ids), stopped: k.stopped })) };
      const answer = c.expect.answer;
      const finds = (q: string): boolean => answer !== null && searchLocal(docsDir, q, 2).some((h) => h.snippet.includes(answer));
      const item: EvalItem = { prompt, expect: c.expect, seen: seen ? seen.has(normPrompt(prompt)) : null, ...scoreTurn(turn, outs, c.expect, finds), ...(error ? { error } : {}) };
      if (error) item.wellFormed = false;
      items.push(item);
      o.onItem?.(item, i);
    }
    return { seed: o.seed, trainingSeed, summary: summarize(items), items };
  } finally {
    rmSync(docsDir, { recursive: true, force: true });
  }
}
