/**
 * Shared helpers for the model tests: fixture paths, the golden file reader, the shared-data
 * lookup (skips with a message when ../shared is absent), and a max-abs-difference check.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy } from '../../src/tensor/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (tests run from dist/test/models). */
export const ROOT = join(here, '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
export const SHARED = process.env.MOSS_SHARED ?? join(ROOT, '..', 'shared');
export const STORIES = join(SHARED, 'models', 'stories260K');

/** Why the stories260K tests skip, or false when the model is there. */
export function storiesSkip(): string | false {
  return existsSync(join(STORIES, 'stories260K.bin')) ? false : `shared data not found at ${STORIES} (set MOSS_SHARED)`;
}

export interface Golden {
  input_ids: number[][];
  logits: number[];
  shape: [number, number, number];
  cached: { prefill: number; logits: number[][] };
  greedy: { prompt: number[]; ids: number[] };
}

export function golden(name: string): Golden {
  return JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as Golden;
}

/** Asserts max |a - b| <= tol (scaled by max |b|, at least 1). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tol * scale, `${what}: max abs diff ${worst} > ${tol * scale}`);
  return worst;
}

/** Largest absolute difference over the largest |expected|: one normalised error for a whole tensor. */
export function normErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < actual.length; i++) {
    d = Math.max(d, Math.abs(actual[i] - expected[i]));
    m = Math.max(m, Math.abs(expected[i]));
  }
  return d / m;
}

/** Full-sequence logits (1, T, V) of the model at `path` (any format loadModel reads) for `ids`, flattened. */
export function logitsOf(path: string, ids: readonly number[]): Float32Array {
  const { model } = loadModel(path);
  const out = tidy(() => model.forward(tensor([...ids], [1, ids.length], { dtype: 'i32', backend: model.backend })).toFloat32Array());
  model.dispose();
  return out;
}
