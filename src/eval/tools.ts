/**
 * `moss eval tools`: held-out tool-use evaluation of a MOSS model. Fresh prompts come from the
 * synthetic conversation generator (src/data) with a seed that was not used for training; each is
 * run through the real plugin loop (src/chat chatTurn: real calculator, solver and local BM25
 * search over the bundled documents; Text2Image answers "generated" without drawing, as in the
 * training data) and scored by ./score.ts. Works with any TokenGenerator, so tests drive it with
 * scripted stand-ins and the CLI with ModelGenerator (greedy).
 * Not here: sampling-based evaluation, LLM judges, the real MOSS plugin prompts (moss-sft-heldout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE, type TurnFields } from '../chat/format.js';
import { chatTurn, type TokenGenerator } from '../chat/loop.js';
import { parseSwitches } from '../chat/meta.js';
import { writeDocuments } from '../data/docs.js';
import { TRAINING_SETS, isTrainingSeed } from '../data/dialogues.js';
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
  /** Flag prompts that also occur in the training conversations (regenerates them; a few seconds). */
  checkOverlap?: boolean;
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

/** Human prompts of the training conversations (TRAINING_SETS). */
export function trainingPrompts(docsDir: string): Set<string> {
  const out = new Set<string>();
  for (const s of TRAINING_SETS) for (const c of synthConversations(s.conversations, s.seed, docsDir, s.mix, s.zhShare)) out.add(humanText(c.record.chat.turn_1));
  return out;
}

/** A Text2Image stand-in: reports success without drawing (the training data has no image files). */
const fakeImage: Plugin = { name: 'Text2Image', run: () => Promise.resolve({ kind: 'image', files: [] }) };

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
    const plugins = createPlugins({ search: { provider: 'local', dir: docsDir } });
    plugins.set('Text2Image', fakeImage);
    const seen = o.checkOverlap ? trainingPrompts(docsDir) : null;
    const convs = synthConversations(o.n, o.seed, docsDir, o.mix ?? EVAL_MIX);
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
      const item: EvalItem = { prompt, expect: c.expect, seen: seen ? seen.has(prompt) : null, ...scoreTurn(turn, outs, c.expect, finds), ...(error ? { error } : {}) };
      if (error) item.wellFormed = false;
      items.push(item);
      o.onItem?.(item, i);
    }
    return { seed: o.seed, trainingSeed, summary: summarize(items), items };
  } finally {
    rmSync(docsDir, { recursive: true, force: true });
  }
}
