/**
 * `moss train sft`: supervised fine-tuning on MOSS-format conversations (the SFT JSONL schema),
 * labels exactly as finetune_moss.py (src/chat renderSft: no loss on the meta instruction and on
 * plugin result bodies; turns past the context dropped whole), optionally no loss on human turns
 * and LoRA adapters instead of full weights. Reads top to bottom like nanoGPT's train.py.
 * Bad data is reported with file:line: malformed lines and records are skipped; a conversation
 * longer than the context keeps the turns that fit (reported), or is skipped when none fit.
 * Not here: preference training (pm/pat recipes).
 */
import { checkRecord, renderSft } from '../chat/format.js';
import { BadDataLog, readJsonl } from './corpus.js';
import { packExamples, splitTail, type Example } from './data.js';
import { LOOP_DEFAULTS, trainLoop, type LoopConfig, type LoopResult } from './loop.js';
import { addLora, exportFinal, loadTrainableMoss, startRecipe, type LoraSettings } from './model-io.js';

// --- defaults ---
export interface SftConfig extends LoopConfig, LoraSettings {
  /** MOSS SFT JSONL files. */
  data: string[];
  /** Model folder (HF layout) or checkpoint to fine-tune. */
  init: string;
  /** Tokenizer folder (default: the init folder). */
  tokenizer: string | null;
  context: number;
  /** false: no loss on human turns (an option beyond finetune_moss.py). */
  humanLoss: boolean;
  evalFraction: number;
  resume: boolean;
}

export const SFT_DEFAULTS: Omit<SftConfig, 'outDir' | 'data' | 'init'> = {
  ...LOOP_DEFAULTS, lr: 3e-4, minLr: 3e-5, warmupSteps: 20, weightDecay: 0.0, tokenizer: null, context: 512, humanLoss: true,
  evalFraction: 0.05, loraRank: 0, loraAlpha: 16, loraDropout: 0.05, loraTargets: ['qkv_proj', 'out_proj'], resume: false,
};

export function sft(cfg: SftConfig, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): LoopResult {
  const { tokDir, tok } = startRecipe(cfg, log);
  // --- data: render every conversation to ids + labels ---
  const bad = new BadDataLog((m) => log(m));
  const examples: Example[] = [];
  for (const file of cfg.data) {
    for (const rec of readJsonl(file, bad)) {
      let r;
      try {
        r = checkRecord(rec.value);
      } catch (e) {
        bad.add(file, rec.line, `bad record: ${(e as Error).message}`);
        continue;
      }
      const out = renderSft(r, tok, { maxLen: cfg.context + 1, humanLoss: cfg.humanLoss });
      if (!out) {
        const first = renderSft({ ...r, num_turns: 1 }, tok, { maxLen: Infinity, humanLoss: cfg.humanLoss });
        bad.add(file, rec.line, `conversation too long: the meta instruction and first turn are ${first?.inputIds.length ?? '?'} tokens, the context holds ${cfg.context + 1}`);
        continue;
      }
      if (out.turns < Number(r.num_turns)) bad.truncate(file, rec.line, `conversation longer than the context: kept ${out.turns} of ${r.num_turns} turns (meta instruction kept)`);
      examples.push({ ids: out.inputIds, labels: out.labels, source: `${file}:${rec.line}` });
    }
  }
  log(`${examples.length} conversations; ${bad.summary()}`);
  const pad = tok.encode('<|endoftext|>', { special: 'allow' })[0] ?? 0;
  const { train, held } = splitTail(packExamples(examples, cfg.context, pad), cfg.evalFraction, 64);
  log(`${train.length} training rows, ${held.length} eval rows of ${cfg.context} tokens`);
  // --- model (+ LoRA) ---
  const { model, configJson } = loadTrainableMoss(cfg.init, cfg.seed);
  const params = addLora(model, cfg, log);
  log(`model: ${model.numParameters()} parameters`);
  // --- train ---
  const res = trainLoop({ model, train, eval: held, cfg, config: { ...cfg, model: configJson }, params, saveTrainableOnly: cfg.loraRank > 0, resume: cfg.resume, log, progress: true });
  // --- export: LoRA merged into the base ---
  const final = exportFinal(cfg.outDir, model, configJson, tokDir, { eos_token_id: tok.encode('<eom>', { special: 'allow' })[0], max_new_tokens: 256 });
  log(`done: step ${res.step}; model in ${final}`);
  return res;
}
