/**
 * Content-hash cache of endpoint calls (`--cache DIR`): the key is SHA-256 of the canonical JSON of
 * everything that decides an answer (model, messages, sampling settings, seed, tools — not the URL,
 * so a run against another port or a restarted server reuses it), the value the parsed answer.
 * Files `DIR/ab/<hash>.json`, written to a temp name and renamed, so a kill leaves no half entry.
 * Follows distilabel's step cache idea (ALIGNMENT.md §3) at the granularity of one call.
 * Deliberately no eviction and no locking beyond atomic rename (identical writers write identical bytes).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatRequest, ChatResult } from './client.js';

/** JSON with object keys sorted, so equal requests hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The cache key of a request (the model name is part of it). */
export function requestKey(req: ChatRequest, model: string | undefined): string {
  return sha256(canonicalJson({ v: 1, ...req, model: req.model ?? model ?? 'default' }));
}

export class CallCache {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): ChatResult | undefined {
    try {
      return JSON.parse(readFileSync(this.path(key), 'utf8')) as ChatResult;
    } catch {
      return undefined; // missing (or unreadable: treated as a miss and rewritten)
    }
  }

  set(key: string, value: ChatResult): void {
    const p = this.path(key);
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${p}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, p);
  }
}
