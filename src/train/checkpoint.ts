/**
 * Training checkpoints: a folder `step-00000100/` holding model.safetensors (weights),
 * optimizer.safetensors (moments, plus f32 master weights in bf16 runs), state.json (step, RNG
 * states, data position, optimizer step) and config.json (the run's final config). A checkpoint is
 * written into a hidden temp folder beside it and renamed into place, so a reader — or a resume
 * after a crash — only ever sees complete checkpoints; the last N are kept.
 * Follows DESIGN.md §7. Not here: sharded weights, async (background) saving.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { readSafetensors, writeFileAtomic, writeSafetensors } from '../io/index.js';
import type { Tensor } from '../tensor/index.js';

export interface CheckpointParts {
  model: Map<string, View>;
  optimizer: Map<string, View>;
  state: Record<string, unknown>;
  config: Record<string, unknown>;
}

const NAME = /^step-(\d{8,})$/;
const stepName = (step: number) => `step-${String(step).padStart(8, '0')}`;
const json = (v: unknown) => [new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)];

/** Writes checkpoint `step` under `dir` atomically and deletes all but the newest `keepLast`. Returns its path. */
export function saveCheckpoint(dir: string, step: number, parts: CheckpointParts, keepLast = 3): string {
  mkdirSync(dir, { recursive: true });
  const final = join(dir, stepName(step));
  const tmp = join(dir, `.tmp-${stepName(step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeSafetensors(join(tmp, 'model.safetensors'), parts.model, { format: 'pt' });
    writeSafetensors(join(tmp, 'optimizer.safetensors'), parts.optimizer);
    writeFileAtomic(join(tmp, 'config.json'), json(parts.config));
    // state.json last: its presence marks a complete folder even on filesystems without atomic rename
    writeFileAtomic(join(tmp, 'state.json'), json(parts.state));
    if (existsSync(final)) {
      const old = `${final}.old-${process.pid}`;
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  for (const old of listCheckpoints(dir).slice(0, -Math.max(1, keepLast))) rmSync(old.path, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints under `dir`, oldest first (temp folders of interrupted writes are ignored). */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => ({ m: NAME.exec(n), n }))
    .filter((x) => x.m && existsSync(join(dir, x.n, 'state.json')))
    .map((x) => ({ step: Number(x.m![1]), path: join(dir, x.n) }))
    .sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint under `dir`, or null. */
export function latestCheckpoint(dir: string): string | null {
  const all = listCheckpoints(dir);
  return all.length ? all[all.length - 1].path : null;
}

export interface LoadedCheckpoint {
  path: string;
  model: Map<string, View>;
  optimizer: Map<string, View>;
  state: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** Reads a checkpoint folder (or a run folder: its latest checkpoint). */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const p = existsSync(join(path, 'state.json')) ? path : latestCheckpoint(path);
  if (!p) throw new Error(`no checkpoint found in ${path}`);
  return {
    path: p,
    model: readSafetensors(join(p, 'model.safetensors')).tensors,
    optimizer: readSafetensors(join(p, 'optimizer.safetensors')).tensors,
    state: JSON.parse(readFileSync(join(p, 'state.json'), 'utf8')) as Record<string, unknown>,
    config: JSON.parse(readFileSync(join(p, 'config.json'), 'utf8')) as Record<string, unknown>,
  };
}

/** Copies saved values into existing tensors in place (keeps identities the optimizer holds). */
export function copyInto(targets: Map<string, Tensor>, saved: Map<string, View>, what: string): void {
  for (const [name, t] of targets) {
    const v = saved.get(name);
    if (!v) throw new Error(`${what}: checkpoint has no tensor ${name}`);
    if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${what}: ${name} has shape [${v.shape}] in the checkpoint, [${t.shape}] here`);
    }
    t.backend.copy(t, v);
  }
}
