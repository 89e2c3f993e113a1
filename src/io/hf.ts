/**
 * HuggingFace checkpoint folders: config.json, optional generation_config.json, and weights as
 * model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json,
 * in that order of preference (transformers' from_pretrained order); an index's `weight_map` maps
 * tensor name -> shard file. Every shard named by the index must exist (checked up front: a missing
 * shard is an error naming it and a tensor it holds) and be a plain file name inside the folder (no
 * paths). Shards load lazily, on the first tensor asked from them. The one reader of HF folders
 * (models/hf-weights.ts adapts it to a WeightSource). Tokenizer files are not read here
 * (src/io/load-tokenizer.ts does that).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { fail } from './errors.js';
import { readJson } from './json.js';
import { readSafetensors } from './safetensors.js';
import { readTorch, type TensorLocation } from './torch.js';

export interface HfWeights {
  readonly dir: string;
  readonly format: 'safetensors' | 'pytorch';
  /** Weight files (index first when sharded), relative to `dir`. */
  readonly files: readonly string[];
  /** Tensor names known before loading (from the index; from the file once loaded otherwise). */
  names(): string[];
  /** One tensor, loading its shard if needed. */
  get(name: string): View;
  /** Where tensor `name`'s bytes lie in its file when contiguous and uncompressed (for streaming readers), else null. */
  locate(name: string): TensorLocation | null;
  /** True when the folder holds tensor `name`. */
  has(name: string): boolean;
  /** The file (relative to `dir`) that holds tensor `name`, or undefined. */
  fileOf(name: string): string | undefined;
  /** Every tensor of every shard. */
  loadAll(): Map<string, View>;
}

export interface HfFolder extends HfWeights {
  readonly config: Record<string, unknown>;
  readonly generationConfig: Record<string, unknown> | null;
}

const WEIGHTS: [string, 'safetensors' | 'pytorch', boolean][] = [
  ['model.safetensors', 'safetensors', false],
  ['model.safetensors.index.json', 'safetensors', true],
  ['pytorch_model.bin', 'pytorch', false],
  ['pytorch_model.bin.index.json', 'pytorch', true],
];

/**
 * Opens a HF model folder; shards load on demand.
 * @example const m = openHfFolder('moss-moon-003-sft'); m.get('transformer.wte.weight')
 */
export function openHfFolder(dir: string): HfFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) fail(dir, 'config.json', 'missing');
  const config = readJson(configPath);
  const gen = join(dir, 'generation_config.json');
  const generationConfig = existsSync(gen) ? readJson(gen) : null;
  return { ...openHfWeights(dir), config, generationConfig };
}

/** Opens only the weights of a HF folder (no config.json needed); shards load on demand. */
export function openHfWeights(dir: string): HfWeights {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const found = WEIGHTS.find(([f]) => existsSync(join(dir, f)));
  if (!found) fail(dir, 'weights', `none of ${WEIGHTS.map(([f]) => f).join(', ')} found`);
  const [file, format, sharded] = found;

  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  if (sharded) {
    const index = readJson(join(dir, file));
    const wm = index.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) fail(join(dir, file), 'weight_map', 'missing or not an object');
    for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..') {
        fail(join(dir, file), `weight_map '${name}'`, `shard ${JSON.stringify(shard)} is not a plain file name in the folder`);
      }
      weightMap.set(name, shard);
      if (!shards.includes(shard)) shards.push(shard);
    }
    for (const s of shards) {
      if (existsSync(join(dir, s))) continue;
      const held = [...weightMap].filter(([, sh]) => sh === s).map(([n]) => n);
      throw new Error(`${join(dir, s)}: shard listed in ${file} is missing (it holds tensor '${held[0]}'${held.length > 1 ? ` and ${held.length - 1} more` : ''})`);
    }
  } else {
    shards.push(file);
  }

  const loaded = new Map<string, Map<string, View>>();
  const located = new Map<string, Map<string, TensorLocation>>();
  const load = (shard: string): Map<string, View> => {
    let t = loaded.get(shard);
    if (!t) {
      const p = join(dir, shard);
      let locs: Map<string, TensorLocation>;
      if (format === 'safetensors') {
        const f = readSafetensors(p);
        t = f.tensors;
        locs = new Map([...f.tensorInfos].map(([n, i]) => [n, { file: p, byteOffset: i.byteOffset, byteLength: i.byteLength, dtype: i.dtype.toLowerCase(), shape: i.shape }]));
      } else {
        const f = readTorch(p);
        t = f.tensors;
        locs = f.locations;
      }
      for (const [name, s] of weightMap) if (s === shard && !t.has(name)) fail(p, `tensor '${name}'`, `listed in ${file} but not in this shard`);
      loaded.set(shard, t);
      located.set(shard, locs);
    }
    return t;
  };
  const shardOf = (name: string): string | undefined => (sharded ? weightMap.get(name) : file);

  return {
    dir, format,
    files: sharded ? [file, ...shards] : [file],
    has(name) {
      return sharded ? weightMap.has(name) : load(file).has(name);
    },
    fileOf(name) {
      const shard = shardOf(name);
      return shard !== undefined && (sharded || load(shard).has(name)) ? shard : undefined;
    },
    names() {
      if (sharded) return [...weightMap.keys()];
      return [...load(file).keys()];
    },
    locate(name) {
      const shard = shardOf(name);
      if (shard === undefined) return null;
      load(shard);
      return located.get(shard)?.get(name) ?? null;
    },
    get(name) {
      const shard = shardOf(name);
      const v = shard === undefined ? undefined : load(shard).get(name);
      if (!v) throw new Error(`${dir}: tensor '${name}' not found`);
      return v;
    },
    loadAll() {
      const all = new Map<string, View>();
      for (const s of shards) for (const [k, v] of load(s)) all.set(k, v);
      return all;
    },
  };
}

/** Loads a HF folder eagerly: `{ config, generationConfig, tensors, files }`. */
export function loadHfFolder(dir: string): { config: Record<string, unknown>; generationConfig: Record<string, unknown> | null; tensors: Map<string, View>; files: readonly string[]; format: 'safetensors' | 'pytorch' } {
  const f = openHfFolder(dir);
  return { config: f.config, generationConfig: f.generationConfig, tensors: f.loadAll(), files: f.files, format: f.format };
}
