/**
 * `--quantize q4_0|q8_0` for commands that load a model: an HF folder is converted once (streaming,
 * src/models/quantize.ts) into `<folder>/moss-<type>.gguf` — or, when the folder is not writable,
 * into `<cacheDir>/<folder name>-<hash of its path>-<type>.gguf` — and that GGUF is reused while it
 * is newer than every weight file of the folder. A .gguf or llama2.c input is returned unchanged
 * only when it is already of that type; otherwise it is converted the same way.
 * Also `checkFitsInMemory`: refuses (naming the flag) an unquantized model whose weights cannot
 * fit in the memory the caller says is available.
 * Deliberately does not: read environment variables (callers pass the cache folder), or evict.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { quantizeModel, type QuantType, type QuantizeOptions } from './quantize.js';

export interface QuantizeCacheOptions extends QuantizeOptions {
  /** Folder for converted files when the model's own folder is not writable. */
  readonly cacheDir: string;
  /** Called once before a conversion starts (for a notice). */
  readonly onConvert?: (from: string, to: string) => void;
}

function newestInput(path: string): number {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let t = 0;
  for (const f of readdirSync(path)) {
    if (/\.(bin|safetensors|json)$/.test(f)) t = Math.max(t, statSync(join(path, f)).mtimeMs);
  }
  return t;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the converted GGUF of `model` in type `q` lives (beside the model, else in cacheDir). */
export function quantizedPath(model: string, q: QuantType, cacheDir: string): string {
  const abs = resolve(model);
  const dir = statSync(abs).isDirectory() ? abs : resolve(abs, '..');
  if (statSync(abs).isDirectory() && writable(dir)) return join(dir, `moss-${q}.gguf`);
  const tag = createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return join(cacheDir, `${basename(abs).replace(/\.[^.]*$/, '')}-${tag}-${q}.gguf`);
}

/**
 * The GGUF to load for `model` with `--quantize q`: converted on first use, reused afterwards.
 * @example loadModel(ensureQuantized('moss-moon-003-sft', 'q4_0', { cacheDir: '~/.cache/moss' }))
 */
export function ensureQuantized(model: string, q: QuantType, o: QuantizeCacheOptions): string {
  if (!existsSync(model)) throw new Error(`${model}: no such file or folder`);
  const out = quantizedPath(model, q, o.cacheDir);
  if (existsSync(out) && statSync(out).mtimeMs >= newestInput(model)) return out;
  mkdirSync(resolve(out, '..'), { recursive: true });
  o.onConvert?.(model, out);
  quantizeModel(model, q, out, o);
  return out;
}

/** Bytes of weight files in an HF folder (or the file itself). */
export function weightBytes(model: string): number {
  if (!statSync(model).isDirectory()) return statSync(model).size;
  let n = 0;
  for (const f of readdirSync(model)) if (/\.(bin|safetensors)$/.test(f)) n += statSync(join(model, f)).size;
  return n;
}

/**
 * Throws (naming `--quantize`) when an HF folder's weights need more memory than `available`
 * bytes: f16/bf16 weights run from the mapping plus working copies, so about the file size is
 * needed resident for decode at a useful speed.
 */
export function checkFitsInMemory(model: string, available: number): void {
  if (!existsSync(model) || !statSync(model).isDirectory()) return;
  const need = weightBytes(model);
  if (need > available) {
    throw new Error(`${model}: its weights are ${(need / 2 ** 30).toFixed(1)} GiB but only ${(available / 2 ** 30).toFixed(1)} GiB of memory is available; pass --quantize q4_0 (or q8_0) to convert it once into a GGUF that fits`);
  }
}
