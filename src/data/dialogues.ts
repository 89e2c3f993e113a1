/**
 * Multi-turn synthetic MOSS dialogues for training: several single-turn synthetic conversations
 * (synth-plugins.ts) chained under one meta instruction with every tool switched on, so the long
 * meta instruction is paid once for several supervised turns. Conversations that switch tools off
 * stay single-turn (their meta instruction would contradict later turns). Also the registry of the
 * seeds the bundled model was trained on, so evaluation can refuse to reuse them.
 * Not here: turns that refer back to earlier ones (each turn is self-contained).
 */
import type { SftRecord, TurnFields } from '../chat/format.js';
import { metaInstruction } from '../chat/meta.js';
import { Generator } from '../tensor/index.js';
import { synthConversations, type Kind, type SynthConversation } from './synth-plugins.js';

/** Seeds of src/data generators used to build models/moss-tiny (scripts/build-tiny-v1.mjs). Evaluate with other seeds. */
export const TRAINING_SEEDS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

/** True when `seed` was used to generate training data for the bundled model. */
export function isTrainingSeed(seed: number): boolean {
  return TRAINING_SEEDS.includes(seed);
}

const ALL_ON = metaInstruction({ innerThoughts: true, search: true, calculator: true, solver: true, text2image: true });

/**
 * `n` dialogues of 1..maxTurns turns (uniform), drawn from synthConversations(…, seed, …).
 * Each dialogue's conversation_id is `dialog-<seed>-<i>`. `withMeta: false` leaves the meta instruction
 * empty (dense supervision: many more supervised turns per row for the same compute). `zhShare`: share of
 * Chinese conversations (default 0.5).
 */
export function synthDialogues(n: number, seed: number, docsDir: string, maxTurns = 3, mix: Partial<Record<Kind, number>> = {}, withMeta = true, zhShare = 0.5): SftRecord[] {
  const g = new Generator(seed * 7919 + 17);
  const pool: SynthConversation[] = synthConversations(n * maxTurns, seed, docsDir, mix, zhShare);
  let next = 0;
  const out: SftRecord[] = [];
  for (let i = 0; i < n && next < pool.length; i++) {
    const first = pool[next++];
    const turns: TurnFields[] = [first.record.chat.turn_1];
    if (first.record.meta_instruction === ALL_ON) {
      const want = 1 + g.int(maxTurns);
      while (turns.length < want && next < pool.length) {
        const c = pool[next++];
        if (c.record.meta_instruction !== ALL_ON) continue;
        turns.push(c.record.chat.turn_1);
      }
    }
    const chat: Record<string, TurnFields> = {};
    turns.forEach((t, k) => (chat[`turn_${k + 1}`] = t));
    out.push({ conversation_id: `dialog-${seed}-${i}`, meta_instruction: withMeta ? first.record.meta_instruction : '', num_turns: turns.length, chat, category: 'synthetic.dialogue' });
  }
  return out;
}

/**
 * The synthetic single-turn conversations behind moss-tiny's training dialogues:
 * synthDialogues(n, seed, dir, 3) draws synthConversations(3 n, seed, dir).
 */
export const TRAINING_SETS: readonly { seed: number; conversations: number; mix?: Partial<Record<Kind, number>>; zhShare?: number }[] = [
  { seed: 1, conversations: 9000 }, // SFT: synthDialogues(3000, 1, …, 3)
  { seed: 2, conversations: 4500 }, // pre-training: synthDialogues(1500, 2, …, 3)
  { seed: 3, conversations: 6000, mix: { calc: 0.35, solve: 0.3, search: 0.15, image: 0.1, chat: 0.1 } }, // second SFT: synthDialogues(2000, 3, …, 3, mix)
  { seed: 4, conversations: 15000, mix: { calc: 0.4, solve: 0.35, search: 0.1, image: 0.05, chat: 0.1 } }, // third SFT: synthDialogues(1500, 4, …, 10, mix, false)
  { seed: 5, conversations: 30000, mix: { calc: 0.45, solve: 0.35, search: 0.1, image: 0.05, chat: 0.05 } }, // fourth SFT: synthDialogues(3000, 5, …, 10, mix, false)
  { seed: 6, conversations: 120000, mix: { calc: 0.5, solve: 0.3, search: 0.08, image: 0.06, chat: 0.06 } }, // fifth SFT: synthDialogues(12000, 6, …, 10, mix, false) (+ copyDrills(…, 6), drills.ts)
  { seed: 7, conversations: 100000, mix: { calc: 0.6, solve: 0.2, search: 0.08, image: 0.06, chat: 0.06 }, zhShare: 0.65 }, // sixth SFT: synthDialogues(10000, 7, …, 10, mix, false, 0.65) (+ copyDrills(…, 7, 10, true))
  { seed: 8, conversations: 80000, mix: { calc: 0.7, solve: 0.15, search: 0.05, image: 0.05, chat: 0.05 }, zhShare: 0.75 }, // seventh SFT: synthDialogues(8000, 8, …, 10, mix, false, 0.75) (+ copyDrills(…, 8, 10, true))
  { seed: 9, conversations: 80000, mix: { calc: 0.75, solve: 0.1, search: 0.05, image: 0.05, chat: 0.05 }, zhShare: 0.8 }, // eighth SFT: synthDialogues(8000, 9, …, 10, mix, false, 0.8) (+ copyDrills(…, 9, 10, true))
];

/** The copy drills in moss-tiny's training data (scripts/build-tiny-v1.mjs stages 8-11): copyDrills(count, seed, 10, hard). */
export const TRAINING_DRILLS: readonly { seed: number; count: number; hard: boolean }[] = [
  { seed: 6, count: 12000, hard: false },
  { seed: 7, count: 6000, hard: true },
  { seed: 8, count: 3000, hard: true },
  { seed: 9, count: 3000, hard: true },
];
