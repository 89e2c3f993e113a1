/**
 * `moss train steer`: MOSS's preference-aware training as we read the MOSS README (the PM "tag[s]
 * responses with their quality" so the model can "generate desired responses based on specific
 * preference tags"; the paper's method section was not reachable): SteerLM-style conditioning with
 * one attribute. PM scores (a `reward` per line, or `--pm` scores them) → K quality tags by
 * quantile buckets (1 worst … K best) → the tag goes into the no-loss part of the prompt as one
 * line at the end of the meta instruction (`- Response quality: k/K.`, src/chat/meta.ts
 * withQuality, rendered by the same code as SFT) → SFT on the responses of every tag. At inference
 * `moss chat --quality k` (default: the best, K, read from generation_config.json's quality_tags).
 * `--raft` instead keeps only the best-scored response per context, with no tag (RAFT /
 * rejection-sampling fine-tuning), for comparison. Reads top to bottom like nanoGPT's train.py.
 * Not here: sampling the responses (moss sample), iterating the bootstrap (SteerLM step 4).
 */
import { withQuality } from '../chat/meta.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { ops, tensor, tidy } from '../tensor/index.js';
import { BadDataLog } from './corpus.js';
import { IGNORE, splitTail } from './data.js';
import { LOOP_DEFAULTS, trainLoop, type EvalOutput, type LoopConfig, type LoopResult } from './loop.js';
import { exportFinal, loadTrainableMoss, startRecipe } from './model-io.js';
import { readSingles, renderCompletion, type Seq, type SingleItem } from './pairs.js';
import { shiftRows } from './pref-batch.js';
import { checkSameTokenizer } from './reference.js';
import { loadRewardModel, scoreSeqs } from './reward-model.js';

// --- defaults ---
export interface SteerConfig extends LoopConfig {
  /** Scored responses (JSONL: `{context, response, reward}` or conversation form; pair lines give two responses). */
  data: string[];
  evalData: string[];
  init: string;
  tokenizer: string | null;
  /** Preference model that scores lines without a reward. */
  pm: string | null;
  /** Number of quality tags (quantile buckets). */
  tags: number;
  /** Keep only the best response per context, untagged. */
  raft: boolean;
  context: number;
  evalFraction: number;
  resume: boolean;
}

export const STEER_DEFAULTS: Omit<SteerConfig, 'outDir' | 'data' | 'init'> = {
  ...LOOP_DEFAULTS, steps: 200, batchSize: 8, lr: 1e-4, minLr: 1e-5, warmupSteps: 10, weightDecay: 0, evalEvery: 50, evalBatches: 16,
  ckptEvery: 100, evalData: [], tokenizer: null, pm: null, tags: 4, raft: false, context: 512, evalFraction: 0.1, resume: false,
};

export interface SteerItem {
  seq: Seq;
  /** 1..K, or 0 for RAFT (untagged). */
  tag: number;
}

/** Tags 1..K from quantile buckets of the rewards (cut points at the k/K quantiles). */
export function qualityTags(rewards: readonly number[], K: number): { tags: number[]; cuts: number[] } {
  const sorted = [...rewards].sort((a, b) => a - b);
  const cuts = Array.from({ length: K - 1 }, (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / K)]);
  return { tags: rewards.map((r) => 1 + cuts.filter((c) => r >= c).length), cuts };
}

export function trainSteer(cfg: SteerConfig, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`), hooks: { haltAfter?: number } = {}): LoopResult {
  if (!cfg.raft && (!Number.isInteger(cfg.tags) || cfg.tags < 2)) throw new Error(`--tags ${cfg.tags}: need an integer of at least 2`);
  const { tokDir, tok } = startRecipe(cfg, log);
  const pad = tok.encode('<eom>', { special: 'allow' })[0];
  // --- data: responses with rewards (scored by the PM where missing) ---
  const bad = new BadDataLog((m) => log(m));
  const trainSingles = readSingles(cfg.data, tok, { context: cfg.context - 16 }, bad); // room for the tag line
  const evalSingles = cfg.evalData.length ? readSingles(cfg.evalData, tok, { context: cfg.context - 16 }, bad) : [];
  const all = [...trainSingles, ...evalSingles];
  const missing = all.filter((s) => s.reward === null);
  if (missing.length) {
    if (!cfg.pm) throw new Error(`${missing[0].source}: no "reward" on ${missing.length} line(s); give --pm <preference model> to score them`);
    const { model: pm, tokDir: pmTok } = loadRewardModel(cfg.pm);
    try {
      checkSameTokenizer(tok, tokDir, loadTokenizer(pmTok), cfg.pm);
    } catch (e) {
      pm.dispose();
      throw e;
    }
    scoreSeqs(pm, missing.map((s) => s.seq), pad, cfg.batchSize).forEach((r, i) => (missing[i].reward = r));
    pm.dispose();
    log(`scored ${missing.length} responses with ${cfg.pm}`);
  }
  log(`${all.length} scored responses; ${bad.summary()}`);
  // --- tags (or RAFT's best-of-K), then render with the tag line in the meta instruction ---
  const K = cfg.raft ? 0 : cfg.tags;
  let items: { s: SingleItem; tag: number }[];
  if (cfg.raft) {
    const best = new Map<string, SingleItem>();
    for (const s of all) {
      const key = s.seq.ids.slice(0, s.seq.promptLen).join(',');
      const b = best.get(key);
      if (!b || s.reward! > b.reward!) best.set(key, s);
    }
    items = [...best.values()].map((s) => ({ s, tag: 0 }));
    log(`RAFT: kept the best of ${all.length} responses for ${items.length} contexts`);
  } else {
    const { tags, cuts } = qualityTags(all.map((s) => s.reward!), K);
    items = all.map((s, i) => ({ s, tag: tags[i] }));
    log(`quality tags 1..${K}, reward cut points ${cuts.map((c) => c.toFixed(3)).join(', ')}`);
  }
  const render = ({ s, tag }: { s: SingleItem; tag: number }): SteerItem => ({
    seq: tag ? renderCompletion(s.raw, s.raw.response, tok, { context: cfg.context, meta: (m) => withQuality(m, tag, K) }) : s.seq,
    tag,
  });
  const isEval = new Set(evalSingles);
  const rendered = items.filter((x) => !isEval.has(x.s)).map(render);
  const { train, held } = cfg.evalData.length ? { train: rendered, held: items.filter((x) => isEval.has(x.s)).map(render) } : splitTail(rendered, cfg.evalFraction);
  log(`${train.length} training responses, ${held.length} held-out`);
  // --- model ---
  const { model, configJson } = loadTrainableMoss(cfg.init, cfg.seed);
  const like = model.parameters()[0];
  const nll = (batch: readonly SteerItem[]) => {
    const { input, target, T } = shiftRows(batch.map((b) => b.seq), pad);
    const logits = model.forward(tensor(input, [batch.length, T], { dtype: 'i32', backend: like.backend }));
    return ops.crossEntropy(logits.reshape(batch.length * T, logits.shape[2]), tensor(target, [batch.length * T], { dtype: 'i32', backend: like.backend }));
  };
  const lossFn = (batch: SteerItem[]) => ({ loss: nll(batch), tokens: batch.reduce((s, b) => s + b.seq.ids.length, 0) });
  const evalFn = (rows: readonly SteerItem[]): EvalOutput => {
    const out: Record<string, number> = {};
    let sum = 0;
    let n = 0;
    for (const tag of [...new Set(rows.map((r) => r.tag))].sort()) {
      const of = rows.filter((r) => r.tag === tag);
      const tokens = of.reduce((s, r) => s + r.seq.labels.slice(1).filter((l) => l !== IGNORE).length, 0);
      let l = 0;
      for (let i = 0; i < of.length; i += cfg.batchSize) {
        const b = of.slice(i, i + cfg.batchSize);
        l += tidy(() => nll(b).item()) * b.reduce((s, r) => s + r.seq.labels.slice(1).filter((x) => x !== IGNORE).length, 0);
      }
      if (tag) out[`loss_tag${tag}`] = l / Math.max(tokens, 1);
      sum += l;
      n += tokens;
    }
    return { ...out, loss: sum / Math.max(n, 1), acc: NaN };
  };
  // --- train ---
  const res = trainLoop({ model, train, eval: held, lossFn, evalFn, cfg, config: { ...cfg, model: configJson, role: 'policy' }, resume: cfg.resume, haltAfter: hooks.haltAfter, log, progress: true });
  if (hooks.haltAfter !== undefined && res.step >= hooks.haltAfter) return res; // test hook: a killed run
  // --- export: the number of tags travels in generation_config.json ---
  const final = exportFinal(cfg.outDir, model, configJson, tokDir, { eos_token_id: pad, max_new_tokens: 256, ...(K ? { quality_tags: K } : {}) });
  log(`done: step ${res.step}; model in ${final}${K ? ` (decode with --quality 1..${K}, default ${K})` : ''}`);
  return res;
}
