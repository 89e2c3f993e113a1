/**
 * The weights of a HuggingFace checkpoint folder as a WeightSource: an adapter over src/io/hf.ts
 * (the one HF folder reader: file preference order, shard checks, lazy shard loading). Not here:
 * downloading, `*.pt` consolidated files, TF/Flax weights.
 */
import { join } from 'node:path';
import { openHfWeights } from '../io/hf.js';
import type { WeightSource } from './weights.js';

/** Opens the weights of the HF folder `dir`. */
export function hfWeights(dir: string): WeightSource {
  const w = openHfWeights(dir);
  const origin = join(dir, w.files[0]);
  return {
    origin,
    has: (n) => w.has(n),
    get: (n) => {
      const f = w.fileOf(n);
      return f === undefined ? undefined : { view: w.get(n), file: join(dir, f) };
    },
    whereMissing: () => origin,
    views: () => w.loadAll().values(),
  };
}
