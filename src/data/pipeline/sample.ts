/**
 * `moss sample`'s heart: K responses per context from a local model through the generation API
 * (src/generate), each sample with its own seed derived from the context id, the sample index and
 * the run seed (so a sample does not depend on what else runs, and a resumed run repeats it).
 * Contexts are MOSS transcripts (meta instruction, then fields; the last field may be open, e.g.
 * `<|MOSS|>:`) or plain prompts, which become a no-tools MOSS turn. Field bodies are encoded with
 * control tokens off, so context text can never become one; only the field end tokens are control
 * tokens. When a sample stops at `<eoc>`, its commands run through our plugins and the
 * `<|Results|>:` field is forced before it continues to `<eom>` (as the chat loop does).
 * `logprob_sum` is the model's log-probability of the sampled tokens (teacher-forced, f32, raw
 * logits: no temperature), `tokens` how many it sampled.
 * Deliberately no batching across samples: the generation step takes one seed per call.
 */
import { generate, type GenerateOptions } from '../../generate/index.js';
import type { CausalLM } from '../../models/types.js';
import type { Plugin } from '../../plugins/types.js';
import { tensor, tidy } from '../../tensor/index.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { derive } from './synth.js';
import { defang, fieldsFrom, formatResults, metaInstruction, parseCommands, ROLE, type Outcome } from './moss-format.js';

export interface SampleItem {
  readonly id: string;
  readonly context: string;
}

export interface SampledResponse {
  readonly text: string;
  readonly logprob_sum: number;
  readonly tokens: number;
}

export interface SampleRecord {
  readonly id: string;
  readonly context: string;
  readonly responses: readonly SampledResponse[];
}

export interface SampleOptions {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly n: number;
  readonly seed: number;
  /** Per-sample temperatures (cycled), e.g. [0.7] or [0.2, 0.7, 1.0]. */
  readonly temperatures: readonly number[];
  readonly maxNewTokens: number;
  /** Other sampling settings (top-k/p, repetition penalty) from the model's defaults. */
  readonly sampling?: GenerateOptions;
  /** Plugins run when a sample writes commands (by command name); none: `<eoc>` ends the sample. */
  readonly plugins?: ReadonlyMap<string, Plugin>;
  readonly signal?: AbortSignal;
}

/** A plain prompt as a MOSS context: no-tools meta instruction and turn, ending at `<|MOSS|>:`. */
export function promptContext(prompt: string): string {
  return `${metaInstruction()}<|Human|>: ${defang(prompt)}<eoh>\n<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n<|Results|>: None<eor>\n<|MOSS|>:`;
}

/** Ids of a MOSS context: bodies with control tokens off, end tokens on. Throws on text that is not fields. */
export function encodeContext(context: string, tok: Tokenizer): number[] {
  const first = context.indexOf(ROLE.Human.head);
  const meta = first < 0 ? context : context.slice(0, first);
  const ids = tok.encode(defang(meta), { special: 'none' });
  if (first < 0) return ids;
  const { fields, rest } = fieldsFrom(context, first);
  if (rest !== context.length) throw new Error(`context: text at offset ${rest} is not a MOSS field (<|Human|>: …<eoh>, …)`);
  fields.forEach((f, i) => {
    const { head, end } = ROLE[f.name];
    if (!f.closed && i !== fields.length - 1) throw new Error(`context: ${f.name} field without ${end}`);
    // header and body as written, with control tokens off; the end token (and its newline) on
    const stop = f.closed ? f.text.lastIndexOf(end) : f.text.length;
    ids.push(...tok.encode(head, { special: 'none' }));
    const body = f.text.slice(head.length, stop);
    if (body) ids.push(...tok.encode(defang(body), { special: 'none' }));
    if (f.closed) ids.push(...tok.encode(f.text.slice(stop), { special: 'allow' }));
  });
  return ids;
}

/** Sum of log p(ids[i] | ids[<i]) for i >= from (teacher forcing, one forward pass). */
export function logprobSum(model: CausalLM, ids: readonly number[], from: number): number {
  if (from >= ids.length) return 0;
  const V = model.info.vocabSize;
  const T = ids.length;
  const t = tidy(() => model.forward(tensor(ids as number[], [1, T], { dtype: 'i32', backend: model.backend }), { logits: 'all' }));
  const logits = t.toFloat32Array(); // (1, T, V)
  t.dispose();
  let sum = 0;
  for (let p = from - 1; p < T - 1; p++) {
    const row = logits.subarray(p * V, (p + 1) * V);
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (row[i] > m) m = row[i];
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(row[i] - m);
    sum += row[ids[p + 1]] - m - Math.log(z);
  }
  return sum;
}

async function runCommands(body: string, plugins: ReadonlyMap<string, Plugin>): Promise<string> {
  const cmds = parseCommands(body).slice(0, 4);
  const outcomes: Outcome[] = [];
  for (const c of cmds) {
    const p = plugins.get(c.name);
    try {
      if (!p) throw new Error(`unknown plugin ${c.name}`);
      outcomes.push({ ok: true, result: await p.run(c.arg, { timeoutMs: 10_000 }) });
    } catch (e) {
      outcomes.push({ ok: false, message: (e as Error).message });
    }
  }
  return formatResults(cmds, outcomes, true);
}

/** K samples for one context. */
export async function sampleItem(item: SampleItem, o: SampleOptions): Promise<SampleRecord> {
  const tok = o.tokenizer;
  const idOf = (t: string): number | undefined => tok.tokenToId(t);
  const eom = idOf('<eom>');
  const eoc = idOf('<eoc>');
  const stopIds = [...new Set([...(o.sampling?.stopIds ?? []), ...(eom !== undefined ? [eom] : []), ...(tok.eosId !== null ? [tok.eosId] : [])])];
  const prompt = encodeContext(item.context, tok);
  const responses: SampledResponse[] = [];
  for (let k = 0; k < o.n; k++) {
    const temperature = o.temperatures[k % o.temperatures.length];
    const seed = derive(item.id, `sample:${o.seed}:${k}`);
    const ids = [...prompt];
    let text = '';
    let sampled = 0;
    let logprob = 0;
    const withPlugins = !!o.plugins?.size && eoc !== undefined;
    for (let round = 0; round < 2; round++) {
      const start = ids.length;
      const room = o.model.info.maxPositions - ids.length - 1;
      if (room < 1) break;
      const stops = withPlugins && round === 0 ? [...stopIds, eoc!] : stopIds;
      const gen: number[] = [];
      for await (const id of generate(o.model, ids, { ...o.sampling, temperature, seed: seed + round, stopIds: stops, maxNewTokens: Math.min(o.maxNewTokens - sampled, room), signal: o.signal })) gen.push(id);
      ids.push(...gen);
      sampled += gen.length;
      text += tok.decode(gen);
      logprob += logprobSum(o.model, ids, start);
      if (!(withPlugins && gen[gen.length - 1] === eoc) || sampled >= o.maxNewTokens) break;
      // the sample called tools: run them and force the results field and the reply header
      const cmdAt = text.lastIndexOf(ROLE.Commands.head);
      const body = cmdAt >= 0 ? (fieldsFrom(text, cmdAt).fields[0]?.body ?? '') : '';
      const forced = `\n${await runCommands(body, o.plugins!)}${ROLE.MOSS.head}`;
      text += forced;
      ids.push(...tok.encode(forced.slice(0, forced.indexOf(':') + 1), { special: 'none' }), ...tok.encode(defang(forced.slice(forced.indexOf(':') + 1, forced.lastIndexOf('<eor>'))), { special: 'none' }), ...tok.encode(forced.slice(forced.lastIndexOf('<eor>')), { special: 'allow' }));
    }
    responses.push({ text, logprob_sum: Math.round(logprob * 1e4) / 1e4, tokens: sampled });
  }
  return { id: item.id, context: item.context, responses };
}
