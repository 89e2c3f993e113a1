/**
 * Where a command's model and tokenizer come from, the same for every command (`chat`, `generate`,
 * `serve`, `eval`): `--model` or the bundled models/moss-tiny; `--tokenizer`, else the one the
 * model carries (an HF folder's files, a GGUF's `tokenizer.ggml.*` metadata), else a tokenizer file
 * beside a llama2.c `.bin` (`tok512.bin`, `tokenizer.bin`, `tokenizer.json`).
 * Deliberately no model loading here.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../io/load-tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** Package root (this file is dist/src/cli/model-files.js). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'moss-tiny');

/** The model path of `--model` (default: the bundled moss-tiny), checked to exist. */
export function modelPath(cmd: string, flag?: string): string {
  const path = resolve(flag ?? DEFAULT_MODEL);
  if (!existsSync(path)) {
    throw new Error(flag !== undefined ? `${cmd}: ${path}: no such file or folder` : `${cmd}: the bundled model ${path} is not there (not trained/installed yet); pass --model <HF folder, .gguf or llama2.c .bin>`);
  }
  return path;
}

/** The tokenizer for `model` (see the header); null when there is no candidate; throws the reasons when none loads. */
export function findTokenizer(model: string, explicit?: string): Tokenizer | null {
  if (explicit !== undefined) return loadTokenizer(explicit);
  const own = statSync(model).isDirectory() || model.endsWith('.gguf');
  const candidates = own ? [model] : ['tok512.bin', 'tokenizer.bin', 'tokenizer.json'].map((f) => join(dirname(model), f)).filter(existsSync);
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      return loadTokenizer(c);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
  return null;
}
