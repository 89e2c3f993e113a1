/**
 * The weights of a HuggingFace checkpoint folder as a WeightSource: model.safetensors,
 * model.safetensors.index.json (shards), pytorch_model.bin or pytorch_model.bin.index.json, in
 * that order of preference (HF's from_pretrained order). Each shard is opened once (memory-mapped
 * when the addon maps files); a shard named by the index but absent is an error naming the shard
 * and a tensor it should hold. A minimal adapter over src/io's readers until io's own folder
 * loader lands. Not here: downloading, `*.pt` consolidated files, TF/Flax weights.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { readSafetensors } from '../io/index.js';
import { readTorch } from '../io/torch.js';
import { readJson } from './config.js';
import { mapSource, type WeightSource } from './weights.js';

const SINGLE = ['model.safetensors', 'pytorch_model.bin'];
const INDEX = ['model.safetensors.index.json', 'pytorch_model.bin.index.json'];

function readWeights(path: string): Map<string, View> {
  return path.endsWith('.safetensors') ? readSafetensors(path).tensors : readTorch(path).tensors;
}

/** True when `dir` holds weights this module can read. */
export function hasHfWeights(dir: string): boolean {
  return [...SINGLE, ...INDEX].some((f) => existsSync(join(dir, f)));
}

/** Opens the weights of the HF folder `dir`. */
export function hfWeights(dir: string): WeightSource {
  for (let i = 0; i < SINGLE.length; i++) {
    const single = join(dir, SINGLE[i]);
    const index = join(dir, INDEX[i]);
    if (existsSync(single)) return mapSource(single, [{ file: single, tensors: readWeights(single) }]);
    if (!existsSync(index)) continue;
    const idx = readJson(index);
    const map = idx.weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${index}: 'weight_map' is missing or not an object`);
    const byShard = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        throw new Error(`${index}: weight_map['${name}'] is not a plain file name`);
      }
      byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
    }
    const files = [...byShard].map(([shard, names]) => {
      const path = join(dir, shard);
      if (!existsSync(path)) throw new Error(`${path}: shard listed in ${INDEX[i]} is missing (it holds tensor '${names[0]}'${names.length > 1 ? ` and ${names.length - 1} more` : ''})`);
      const tensors = readWeights(path);
      for (const n of names) if (!tensors.has(n)) throw new Error(`${path}: tensor '${n}' is missing (${INDEX[i]} places it in this shard)`);
      return { file: path, tensors };
    });
    return mapSource(index, files, () => index);
  }
  throw new Error(`${dir}: no weights found (looked for ${[...SINGLE, ...INDEX].join(', ')})`);
}
