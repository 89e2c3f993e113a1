/**
 * MOSS models from a .gguf of arch `moss` (our naming, written by `moss quantize` and
 * bench/decode-model.ts; docs/quantization.md): tensors keep their HF names and metadata
 * `moss.config` holds the config.json text. Not here: llama.cpp's own archs (../llama/gguf.ts).
 */
import type { Backend } from '../../backends/backend.js';
import type { GgufFile } from '../../io/index.js';
import type { Json } from '../config.js';
import type { CausalLM } from '../types.js';
import { mapSource, WeightLoader } from '../weights.js';
import { MossForCausalLM, parseMossConfig } from './model.js';

/** Arch `moss`: HF tensor names as stored, hyper-parameters from the config.json text in `moss.config`. */
export function loadMossGguf(path: string, g: GgufFile, backend: Backend): CausalLM {
  for (const t of g.tensorInfos) if (t.dtype === null) throw new Error(`${path}: tensor '${t.name}' has type ${t.typeName}, which the engine cannot compute with`);
  const text = g.metadata['moss.config'];
  if (typeof text !== 'string') throw new Error(`${path}: metadata 'moss.config' (the config.json text) is missing`);
  let cfg: Json;
  try {
    cfg = JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(`${path}: metadata 'moss.config' is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const w = new WeightLoader(mapSource(path, [{ file: path, tensors: g.tensors }]), backend, `${path} moss.config`);
  return MossForCausalLM.load(parseMossConfig(cfg, `${path} moss.config`), w);
}
