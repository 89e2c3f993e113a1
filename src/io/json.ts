/**
 * JSON files (config.json, tokenizer files, generation_config.json) read with one error that names
 * the file: cannot read, not valid JSON, or (readJson) not an object.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The JSON value in `path`. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The JSON object in `path` (an array or a scalar is an error). */
export function readJson(path: string): Record<string, unknown> {
  const v = readJsonFile(path);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** readJson, or undefined when `path` does not exist. */
export function readJsonIf(path: string): Record<string, unknown> | undefined {
  return existsSync(path) ? readJson(path) : undefined;
}
