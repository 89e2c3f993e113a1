/**
 * Reading config.json fields strictly: a model's shape comes from its config, never from defaults,
 * and a missing or mistyped field is one error naming the file and the key.
 */
export { readJson } from '../io/json.js';

export type Json = Record<string, unknown>;

/** A positive integer field (required unless `fallback` is given). */
export function int(cfg: Json, file: string, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: '${key}' is missing`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${file}: '${key}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function num(cfg: Json, file: string, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: '${key}' is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${file}: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** Token id(s): a number, a list of numbers, or absent. */
export function ids(cfg: Json, key: string): number[] {
  const v = cfg[key];
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}
