/**
 * Training checkpoints: a folder `step-00000100/` holding model.safetensors (weights),
 * optimizer.safetensors (moments, plus f32 master weights in bf16 runs), state.json (step, RNG
 * states, data position, optimizer step) and config.json (the run's final config). A checkpoint is
 * written into a hidden temp folder beside it and renamed into place, so a reader — or a resume
 * after a crash — only ever sees complete checkpoints; the last N are kept. checksums.json holds
 * the SHA-256 of the other files; loading verifies it and refuses a corrupted file by name, and
 * refuses weights or optimizer state that are not finite (NaN/Inf), naming file and tensor.
 * Follows DESIGN.md §7. Not here: sharded weights, async (background) saving.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { readSafetensors, writeFileAtomic, writeSafetensors } from '../io/index.js';
import { defaultBackend } from '../backends/index.js';
import { Tensor } from '../tensor/index.js';

export interface CheckpointParts {
  model: Map<string, View>;
  optimizer: Map<string, View>;
  state: Record<string, unknown>;
  config: Record<string, unknown>;
}

const NAME = /^step-(\d{8,})$/;
const stepName = (step: number) => `step-${String(step).padStart(8, '0')}`;
const json = (v: unknown) => [new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)];
/** The files checksums.json covers (state.json is validated by its fields). */
const SUMMED = ['model.safetensors', 'optimizer.safetensors', 'config.json'];
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The first tensor with a NaN or infinite value, as `name (k of n values non-finite)`, or null. */
export function firstNonFinite(tensors: Map<string, View | Tensor>): string | null {
  for (const [name, v] of tensors) {
    if (!['f32', 'f16', 'bf16'].includes(v.dtype)) continue;
    const t = v instanceof Tensor ? v : Tensor.fromView(defaultBackend(), v);
    const f = t.dtype === 'f32' ? t : t.to('f32');
    const a = f.toFloat32Array();
    if (f !== t) f.dispose();
    let bad = 0;
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) bad++;
    if (bad) return `${name} (${bad} of ${a.length} values NaN/Inf)`;
  }
  return null;
}

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
    writeFileAtomic(join(tmp, 'checksums.json'), json({ sha256: Object.fromEntries(SUMMED.map((f) => [f, sha256(join(tmp, f))])) }));
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

function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]}); the checkpoint is damaged`, { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${path}: not a JSON object; the checkpoint is damaged`);
  return v as Record<string, unknown>;
}

/** Compares the files against checksums.json (checkpoints written before checksums have none to compare). */
function verifyChecksums(p: string): void {
  const file = join(p, 'checksums.json');
  if (!existsSync(file)) return;
  const sums = readJson(file).sha256 as Record<string, unknown> | undefined;
  if (!sums || typeof sums !== 'object') throw new Error(`${file}: no "sha256" table; the checkpoint is damaged`);
  for (const [f, want] of Object.entries(sums)) {
    const path = join(p, f);
    if (!existsSync(path)) throw new Error(`${path}: missing (listed in checksums.json); the checkpoint is damaged`);
    const got = sha256(path);
    if (got !== want) throw new Error(`${path}: checksum mismatch (sha256 ${got.slice(0, 12)}…, checksums.json says ${String(want).slice(0, 12)}…); the file is corrupted`);
  }
}

/**
 * Reads a checkpoint folder (or a run folder: its latest checkpoint), verifying checksums and that
 * every weight and optimizer value is finite; errors name the file (and tensor) at fault.
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const p = existsSync(join(path, 'state.json')) ? path : latestCheckpoint(path);
  if (!p) throw new Error(`no checkpoint found in ${path}`);
  verifyChecksums(p);
  const read = (f: string) => {
    try {
      return readSafetensors(join(p, f)).tensors;
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(m.includes(join(p, f)) ? m : `${join(p, f)}: ${m}`, { cause: e });
    }
  };
  const model = read('model.safetensors');
  const optimizer = read('optimizer.safetensors');
  for (const [f, ts] of [['model.safetensors', model], ['optimizer.safetensors', optimizer]] as const) {
    const bad = firstNonFinite(ts);
    if (bad) throw new Error(`${join(p, f)}: not finite: ${bad}; refusing to load it`);
  }
  const state = readJson(join(p, 'state.json'));
  if (!Number.isInteger(state.step)) throw new Error(`${join(p, 'state.json')}: "step" is not an integer; the checkpoint is damaged`);
  return { path: p, model, optimizer, state, config: readJson(join(p, 'config.json')) };
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
