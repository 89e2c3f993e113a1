/**
 * `moss sample`'s heart: K responses per context from a local model, batched through the
 * continuous-batching scheduler (src/generate/scheduler.ts): every sample is its own request with
 * its own seed (derived from the context id, the sample index and the run seed) and its own
 * temperature, so a sample does not depend on what else runs beside it, and a resumed run repeats
 * it. Contexts are MOSS transcripts (meta instruction, then fields; the last field may be open, e.g.
 * `<|MOSS|>:`) or plain prompts, which become a no-tools MOSS turn. Field bodies are encoded with
 * control tokens off, so context text can never become one; only the field end tokens are control
 * tokens. When a sample stops at `<eoc>`, its commands run through our plugins and the
 * `<|Results|>:` field is forced before it continues to `<eom>` (as the chat loop does): the
 * continuation is a new request whose prompt is the sample so far.
 * `logprob_sum` is the sum of the sampled tokens' log-probabilities as the generation step saw
 * them (../../generate/logprobs.ts: log-softmax of the raw logits, no penalty, no temperature);
 * forced tokens are not counted.
 * `tokens` is how many it sampled. The K samples of a context share its prefill through the prefix
 * cache (./prefix-blocks.ts). Deliberately no preemption and no batched prefill (the scheduler
 * prefills one prompt at a time).
 */
import type { GenerateOptions } from '../../generate/index.js';
import { createPrefixCache, defaultPrefixCacheMb, minPrefixCacheMb, type PrefixCache } from '../../generate/prefix-blocks.js';
import { Scheduler } from '../../generate/scheduler.js';
import type { CausalLM } from '../../models/types.js';
import type { Plugin } from '../../plugins/types.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { derive } from './synth.js';
import { defang, fieldsFrom, formatResults, metaInstruction, parseCommands, ROLE, type FieldName, type Outcome } from './moss-format.js';

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
  /** Samples decoded together (scheduler rows; default 8). */
  readonly batch?: number;
  /** Tokens one sample may hold at most, context included (default: the model's positions, capped at
   *  `maxContext + 2 × maxNewTokens + 512` when `maxContext` is given, to size the KV cache). */
  readonly maxContext?: number;
}

/** A plain prompt as a MOSS context: no-tools meta instruction and turn, ending at `<|MOSS|>:`. */
export function promptContext(prompt: string): string {
  return `${metaInstruction()}<|Human|>: ${defang(prompt)}<eoh>\n<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n<|Results|>: None<eor>\n<|MOSS|>:`;
}

const MARK = /(<\|(?:Human|Inner Thoughts|Commands|Results|MOSS)\|>:)|(<eoh>|<eot>|<eoc>|<eor>|<eom>)/g;

/**
 * Ids of a MOSS context, exactly as written: headers as plain text, each field's own end token as a
 * control token, everything else (meta instruction, bodies) defanged and encoded with control
 * tokens off. Throws on an end token that does not close the open field, or a field left open
 * before the last one.
 */
export function encodeContext(context: string, tok: Tokenizer): number[] {
  const ids: number[] = [];
  const plain = (s: string) => {
    if (s) ids.push(...tok.encode(defang(s), { special: 'none' }));
  };
  let open: FieldName | null = null;
  let pos = 0;
  for (const m of context.matchAll(MARK)) {
    plain(context.slice(pos, m.index));
    pos = m.index! + m[0].length;
    if (m[1]) {
      const name = (Object.keys(ROLE) as FieldName[]).find((f) => ROLE[f].head === m[1])!;
      if (open) throw new Error(`context: ${open} field is not closed before ${m[1]} at offset ${m.index}`);
      ids.push(...tok.encode(m[1], { special: 'none' }));
      open = name;
    } else {
      if (!open || ROLE[open].end !== m[2]) throw new Error(`context: ${m[2]} at offset ${m.index} does not close ${open ? `the ${open} field` : 'any field'}`);
      ids.push(...tok.encode(m[2], { special: 'allow' }));
      open = null;
    }
  }
  plain(context.slice(pos));
  return ids;
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

interface Job {
  readonly temperature: number;
  readonly seed: number;
  /** Ids so far: context, sampled and forced tokens. */
  ids: number[];
  /** This round's sampled ids. */
  gen: number[];
  text: string;
  sampled: number;
  logprob: number;
  round: number;
  readonly done: (r: SampledResponse) => void;
  readonly fail: (e: Error) => void;
}

/**
 * Samples contexts through one scheduler: `sample(item)` queues its K samples and resolves when all
 * are done; several items may be in flight at once (they share the batch). `dispose()` frees the
 * KV cache.
 */
export class BatchSampler {
  private readonly sched: Scheduler;
  private readonly prefix: PrefixCache | null;
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  private running = false;
  private readonly stopIds: number[];
  private readonly eoc: number | undefined;

  constructor(private readonly o: SampleOptions) {
    const info = o.model.info;
    const cap = o.maxContext !== undefined ? Math.min(info.maxPositions, o.maxContext + 2 * o.maxNewTokens + 512) : info.maxPositions;
    // the K samples of a context share its prefill through the prefix cache (whole 32-token blocks);
    // every running row pins its prompt's blocks, so the pool holds a sequence per row and two more
    const batch = Math.max(1, o.batch ?? 8);
    this.prefix = createPrefixCache(o.model, Math.max(defaultPrefixCacheMb(info, cap), Math.min(minPrefixCacheMb(info, cap) * (batch + 2), 2048)), cap);
    this.sched = new Scheduler(o.model, batch, cap, { prefixCache: this.prefix });
    const tok = o.tokenizer;
    const eom = tok.tokenToId('<eom>');
    this.eoc = o.plugins?.size ? tok.tokenToId('<eoc>') : undefined;
    this.stopIds = [...new Set([...(o.sampling?.stopIds ?? []), ...(eom !== undefined ? [eom] : []), ...(tok.eosId !== null ? [tok.eosId] : [])])];
  }

  /** K samples for one context. */
  async sample(item: SampleItem): Promise<SampleRecord> {
    const prompt = encodeContext(item.context, this.o.tokenizer);
    if (prompt.length + 1 >= this.sched.capacity) throw new Error(`context of ${prompt.length} tokens leaves no room in ${this.sched.capacity} positions`);
    const responses = await Promise.all(Array.from({ length: this.o.n }, (_, k) => new Promise<SampledResponse>((done, fail) => {
      const job: Job = {
        temperature: this.o.temperatures[k % this.o.temperatures.length], seed: derive(item.id, `sample:${this.o.seed}:${k}`),
        ids: [...prompt], gen: [], text: '', sampled: 0, logprob: 0, round: 0, done, fail,
      };
      this.start(job);
    })));
    return { id: item.id, context: item.context, responses };
  }

  /** Prompt tokens fed so far, and how many of them came from the prefix cache. */
  get promptTokens(): { fed: number; reused: number } {
    return { fed: this.sched.promptTokens, reused: this.sched.reusedTokens };
  }

  dispose(): void {
    this.sched.dispose();
    this.prefix?.dispose();
  }

  /** Queues the job's next round (round 0: until `<eoc>` too when plugins run). */
  private start(job: Job): void {
    const room = this.sched.capacity - job.ids.length - 1;
    if (room < 1 || job.sampled >= this.o.maxNewTokens) return this.end(job);
    const stopIds = this.eoc !== undefined && job.round === 0 ? [...this.stopIds, this.eoc] : this.stopIds;
    const id = this.next++;
    this.jobs.set(id, job);
    job.gen = [];
    this.sched.add({
      id, promptIds: job.ids, maxNewTokens: Math.min(this.o.maxNewTokens - job.sampled, room), stopIds,
      sampling: { ...this.o.sampling, temperature: job.temperature, seed: job.seed + job.round }, logprobs: 0,
    });
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.pump());
    }
  }

  private end(job: Job): void {
    job.done({ text: job.text, logprob_sum: Math.round(job.logprob * 1e4) / 1e4, tokens: job.sampled });
  }

  /** A round ended: run the sample's commands and continue, or finish it. */
  private async roundDone(job: Job): Promise<void> {
    const tok = this.o.tokenizer;
    const gen = job.gen;
    job.ids.push(...gen);
    job.sampled += gen.length;
    job.text += tok.decode(gen);
    if (!(this.eoc !== undefined && job.round === 0 && gen[gen.length - 1] === this.eoc) || job.sampled >= this.o.maxNewTokens) return this.end(job);
    // the sample called tools: run them and force the results field and the reply header
    const cmdAt = job.text.lastIndexOf(ROLE.Commands.head);
    const body = cmdAt >= 0 ? (fieldsFrom(job.text, cmdAt).fields[0]?.body ?? '') : '';
    const forced = `\n${await runCommands(body, this.o.plugins!)}${ROLE.MOSS.head}`;
    job.text += forced;
    job.ids.push(...tok.encode(forced.slice(0, forced.indexOf(':') + 1), { special: 'none' }), ...tok.encode(defang(forced.slice(forced.indexOf(':') + 1, forced.lastIndexOf('<eor>'))), { special: 'none' }), ...tok.encode(forced.slice(forced.lastIndexOf('<eor>')), { special: 'allow' }));
    job.round++;
    this.start(job);
  }

  /** Steps the scheduler until nothing is queued, yielding to I/O between steps. */
  private async pump(): Promise<void> {
    try {
      while (!this.sched.idle()) {
        const r = this.sched.step();
        for (const [id, t, lp] of r.tokens) {
          const job = this.jobs.get(id)!;
          job.gen.push(t);
          job.logprob += lp!.logprob;
        }
        for (const [id] of r.finished) {
          const job = this.jobs.get(id)!;
          this.jobs.delete(id);
          this.roundDone(job).catch((e: unknown) => job.fail(e instanceof Error ? e : new Error(String(e))));
        }
        await new Promise((res) => setImmediate(res));
      }
    } catch (e) {
      for (const id of this.sched.abortAll()) {
        this.jobs.get(id)?.fail(e instanceof Error ? e : new Error(String(e)));
        this.jobs.delete(id);
      }
    } finally {
      this.running = false;
    }
  }
}
