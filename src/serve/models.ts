/**
 * The names the served model answers to: its id (the folder or file name, or `org/name` for a Hub
 * model), the built-in aliases `moss` and `default` (what generic clients send when not told a
 * name) and any `--alias`. A request naming anything else gets 404 `model_not_found`, as OpenAI
 * answers; an absent `model` means the served one. `GET /v1/models` lists every name (the id first),
 * `GET /v1/models/{id}` one of them. Follows the OpenAI models API. Deliberately one model per
 * process: the names are aliases of it, never a second model.
 */
import { ApiError, json } from './errors.js';

export const BUILTIN_ALIASES = ['moss', 'default'];

/** A system fingerprint for responses: the model id and the server version, hashed to a short tag. */
export function fingerprint(id: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${id}/moss.ts-0.1.0`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `fp_moss_${h.toString(16).padStart(8, '0')}`;
}

export class ModelNames {
  readonly names: readonly string[];
  readonly fingerprint: string;

  constructor(readonly id: string, readonly contextLength: number, aliases: readonly string[] = []) {
    this.names = [...new Set([id, ...BUILTIN_ALIASES, ...aliases])];
    this.fingerprint = fingerprint(id);
  }

  /** Throws 404 model_not_found unless `model` is absent or one of the names. */
  check(model: unknown): void {
    if (model === undefined || model === null || model === '') return;
    if (typeof model !== 'string') throw new ApiError(400, 'model must be a string', 'invalid_request_error', 'model', 'invalid_value');
    if (!this.names.includes(model)) {
      throw new ApiError(404, `The model ${JSON.stringify(model)} does not exist (served: ${this.names.map((n) => JSON.stringify(n)).join(', ')})`, 'invalid_request_error', 'model', 'model_not_found');
    }
  }

  private entry(name: string): Record<string, unknown> {
    return { id: name, object: 'model', created: 0, owned_by: 'moss.ts', context_length: this.contextLength, ...(name === this.id ? {} : { parent: this.id }) };
  }

  list(): Response {
    return json({ object: 'list', data: this.names.map((n) => this.entry(n)) });
  }

  /** `GET /v1/models/{id}` (the id may contain a slash: `org/name`). */
  one(name: string): Response {
    this.check(name);
    return json(this.entry(name));
  }
}
