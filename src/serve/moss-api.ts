/**
 * POST /moss — the API of OpenMOSS/MOSS `moss_api_demo.py`: `{"prompt": "...", "uid": "..."}`
 * answers `{"response", "history": [[prompt, response], ...], "status": 200, "time", "uid"}`;
 * without a uid a new conversation starts and its uid is returned. History lives in ./history-store
 * (atomic files), so a restart loses nothing. Sampling follows the demo (temperature 0.7, top_p 0.8,
 * repetition_penalty 1.02) unless the body overrides it. Plugins follow the server's switches.
 */
import { randomUUID } from 'node:crypto';
import { chatTurn } from '../chat/loop.js';
import { admitCheck, engineModel } from './chat-run.js';
import { fieldBody } from '../chat/format.js';
import type { PluginSwitches, QualityTag } from '../chat/meta.js';
import type { Plugin } from '../plugins/types.js';
import type { Engine, SamplingParams } from './engine.js';
import { ApiError, badField, json } from './errors.js';
import { HistoryStore } from './history-store.js';
import { asObject } from './validate.js';

export interface MossApiDeps {
  readonly engine: Engine;
  readonly store: HistoryStore;
  readonly plugins: ReadonlyMap<string, Plugin>;
  readonly switches: PluginSwitches;
  readonly defaultMaxTokens: number;
  readonly quality?: QualityTag;
}

export async function mossApi(req: Request, body: unknown, d: MossApiDeps): Promise<Response> {
  const b = asObject(body);
  if (typeof b.prompt !== 'string' || !b.prompt.trim()) throw badField('prompt', 'prompt must be a non-empty string');
  if (b.uid !== undefined && b.uid !== null && (typeof b.uid !== 'string' || !HistoryStore.validUid(b.uid))) throw badField('uid', 'uid must be 1-64 characters of A-Z a-z 0-9 _ -');
  const num = (k: string, def: number, lo: number, hi: number): number => {
    const v = b[k];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw badField(k, `${k} must be a number in [${lo}, ${hi}]`);
    return v;
  };
  const sampling: SamplingParams = { temperature: num('temperature', 0.7, 0, 2), topP: num('top_p', 0.8, 0.01, 1), topK: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: num('repetition_penalty', 1.02, 0.01, 10) };
  const maxNew = num('max_new_tokens', d.defaultMaxTokens, 1, d.engine.contextLength);
  admitCheck(d.engine);
  const uid = (b.uid as string | undefined) ?? randomUUID();
  const prompt = b.prompt;
  const t0 = Date.now();
  const model = engineModel(d.engine, sampling);
  return d.store.with(uid, async (conv) => {
    let turn;
    try {
      turn = await chatTurn(conv.turns, prompt, { model, tokenizer: d.engine.tokenizer, plugins: d.plugins, switches: d.switches, quality: d.quality, maxContext: d.engine.contextLength, maxNewTokens: maxNew, signal: req.signal });
    } catch (e) {
      if (req.signal.aborted) throw new ApiError(499, 'client closed the request', 'cancelled');
      throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'prompt');
    }
    conv.turns.push(turn);
    d.store.save(conv);
    const history = conv.turns.map((t) => [t.Human ? fieldBody('Human', t.Human) : '', t.MOSS ? fieldBody('MOSS', t.MOSS) : '']);
    return json({ response: history[history.length - 1][1], history, status: 200, time: new Date(t0).toISOString(), uid });
  });
}
