/**
 * The model registry: `loadModel(path)` for an HF folder (picked by config.json's model_type:
 * moss/codegen -> moss/model.ts; llama/mistral/qwen2/gemma -> llama/model.ts), a .gguf file (llama.cpp names) or a
 * llama2.c .bin. Follows mlx-lm's tiny remap table. A wrong checkpoint fails with one message
 * naming the file and the tensor. Not here: downloading, quantizing, tokenizers (src/io).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { defaultBackend } from '../backends/index.js';
import { readGguf } from '../io/index.js';
import { readJson } from './config.js';
import { hfWeights } from './hf-weights.js';
import { gptqSource } from './gptq.js';
import { loadLlama2cModel } from './llama/llama2c.js';
import { LLAMA_GGUF_ARCHS, loadLlamaGguf } from './llama/gguf.js';
import { LlamaForCausalLM, parseLlamaConfig } from './llama/model.js';
import { MossForCausalLM, parseMossConfig } from './moss/model.js';
import { loadMossGguf } from './moss/gguf.js';
import { expectRole } from './role.js';
import type { CausalLM } from './types.js';
import { WeightLoader } from './weights.js';

/** HF model_type -> implementation. */
const FAMILIES: Record<string, 'moss' | 'llama'> = {
  moss: 'moss',
  codegen: 'moss',
  llama: 'llama',
  mistral: 'llama',
  gemma: 'llama',
  qwen2: 'llama',
};

export interface LoadOptions {
  backend?: Backend;
}

/** A loaded model plus where it came from (for tokenizer and generation-config lookup). */
export interface LoadedModel {
  readonly model: CausalLM;
  /** The folder (HF) or file (gguf, llama2.c) loaded. */
  readonly path: string;
  readonly format: 'hf' | 'gguf' | 'llama2c';
  /** generation_config.json of an HF folder, when it has one. */
  readonly generationConfig: Record<string, unknown> | null;
}

/**
 * Loads a model from an HF folder, a .gguf file or a llama2.c .bin.
 * @example const { model } = loadModel('models/moss-moon-003-sft'); tidy(() => model.forward(ids))
 */
export function loadModel(path: string, o: LoadOptions = {}): LoadedModel {
  const backend = o.backend ?? defaultBackend();
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const gc = join(path, 'generation_config.json');
    return { model: loadHfModel(path, backend), path, format: 'hf', generationConfig: existsSync(gc) ? readJson(gc) : null };
  }
  const name = basename(path).toLowerCase();
  if (name.endsWith('.gguf')) return { model: loadGgufModel(path, backend), path, format: 'gguf', generationConfig: null };
  if (name.endsWith('.bin')) return { model: loadLlama2cModel(path, backend), path, format: 'llama2c', generationConfig: null };
  throw new Error(`${path}: unknown model file (expected an HF folder with config.json, a .gguf file or a llama2.c .bin)`);
}

/** Loads an HF checkpoint folder. */
export function loadHfModel(dir: string, backend: Backend): CausalLM {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${dir}: no config.json (not an HF checkpoint folder)`);
  const cfg = readJson(file);
  const type = typeof cfg.model_type === 'string' ? cfg.model_type : undefined;
  const family = type ? FAMILIES[type] : undefined;
  if (!family) {
    throw new Error(`${file}: model_type ${type === undefined ? '(missing)' : `'${type}'`} is not supported (supported: ${Object.keys(FAMILIES).join(', ')})`);
  }
  expectRole(cfg, dir, 'policy');
  let src = hfWeights(dir);
  // MOSS GPTQ releases (-int4/-int8): qweight/qzeros/scales/g_idx are repacked exactly (gq4/gq8) at load
  const wbits = cfg.wbits ?? (cfg.quantization_config as Record<string, unknown> | undefined)?.bits;
  if (wbits !== undefined || src.has('transformer.h.0.attn.qkv_proj.qweight')) {
    if (wbits !== undefined && wbits !== 4 && wbits !== 8) throw new Error(`${file}: wbits ${String(wbits)} is not supported (4 or 8)`);
    const qc = cfg.quantization_config as Record<string, unknown> | undefined;
    const gs = Number(cfg.groupsize ?? qc?.group_size ?? 0);
    src = gptqSource(src, 'gq', gs > 0 ? gs : undefined, (cfg.desc_act ?? qc?.desc_act) === true);
  }
  const w = new WeightLoader(src, backend, file);
  return family === 'moss' ? MossForCausalLM.load(parseMossConfig(cfg, file), w) : LlamaForCausalLM.load(parseLlamaConfig(cfg, file), w);
}

/** A .gguf file: arch `moss` (our naming, moss/gguf.ts) or a llama.cpp llama-family arch (llama/gguf.ts). */
function loadGgufModel(path: string, backend: Backend): CausalLM {
  const g = readGguf(path);
  const arch = g.metadata['general.architecture'];
  if (arch === 'moss') return loadMossGguf(path, g, backend);
  if (typeof arch === 'string' && LLAMA_GGUF_ARCHS.includes(arch)) return loadLlamaGguf(path, g, backend);
  throw new Error(`${path}: general.architecture ${JSON.stringify(arch)} is not supported (supported: ${[...LLAMA_GGUF_ARCHS, 'moss'].join(', ')})`);
}
