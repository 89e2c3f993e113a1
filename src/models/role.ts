/**
 * What a checkpoint folder is for, from config.json's `architectures`: a policy (`…ForCausalLM`,
 * generates text) or a preference model (`…ForSequenceClassification` with one label, scores a
 * response; written by `moss train pm`). Loading one where the other is expected fails with one
 * message naming both, instead of a shape error deep in the loader.
 * Not here: loading (./load.ts, src/train/reward-model.ts).
 */
import type { Json } from './config.js';

export type ModelRole = 'policy' | 'preference';

const NAMES: Record<ModelRole, string> = {
  policy: 'a policy (…ForCausalLM, for moss chat / serve / eval / train)',
  preference: 'a preference model (…ForSequenceClassification, for moss score)',
};

/** The role a config.json describes; configs without `architectures` are policies. */
export function modelRole(cfg: Json): ModelRole {
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures : [];
  return arch.some((a) => typeof a === 'string' && a.endsWith('ForSequenceClassification')) ? 'preference' : 'policy';
}

/** Throws unless the config describes a model of role `want`; `where` names the folder. */
export function expectRole(cfg: Json, where: string, want: ModelRole): void {
  const got = modelRole(cfg);
  if (got !== want) {
    const arch = Array.isArray(cfg.architectures) ? String(cfg.architectures[0]) : '(no architectures)';
    throw new Error(`${where} is ${NAMES[got]} [${arch}], but ${NAMES[want]} is expected here`);
  }
}
