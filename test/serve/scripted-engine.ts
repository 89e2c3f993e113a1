/**
 * A deterministic stand-in engine for the tests (not part of the library), implementing the same `Engine` seam as the
 * real worker engine: a reply function maps the prompt text to the text the "model" writes, which
 * is streamed one token per `tokenDelayMs`, with real slots, a bounded queue, stop ids, budgets and
 * cancellation. Its tokenizer is one id per Unicode code point plus the MOSS control tokens.
 * Deliberately no sampling: seeds and temperatures are recorded, not used; asked for logprobs, every
 * scripted token is certain (log-probability 0, itself the only alternative).
 */
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from '../../src/tokenizer/types.js';
import { IdChannel, QueueFullError, type Engine, type EngineStats, type GenRequest, type TokenStream } from '../../src/serve/engine.js';

const SPECIALS = ['<|endoftext|>', '<eoh>', '<eot>', '<eoc>', '<eor>', '<eom>'];
const BASE = 0x110000; // specials live above every code point

/** Code points as ids; MOSS control tokens as ids above them. */
export class CharTokenizer implements Tokenizer {
  readonly vocabSize = BASE + SPECIALS.length;
  readonly bosId = null;
  readonly eosId = BASE;
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    let i = 0;
    while (i < text.length) {
      const sp = opts.special === 'allow' ? SPECIALS.findIndex((s) => text.startsWith(s, i)) : -1;
      if (sp >= 0) {
        out.push(BASE + sp);
        i += SPECIALS[sp].length;
        continue;
      }
      const cp = text.codePointAt(i)!;
      out.push(cp);
      i += cp > 0xffff ? 2 : 1;
    }
    return out;
  }
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    return ids.map((id) => (id >= BASE ? (opts.skipSpecial ? '' : SPECIALS[id - BASE] ?? '') : String.fromCodePoint(id))).join('');
  }
  idToToken(id: number): string | undefined {
    return id >= BASE ? SPECIALS[id - BASE] : id >= 0 ? String.fromCodePoint(id) : undefined;
  }
  tokenToId(token: string): number | undefined {
    const s = SPECIALS.indexOf(token);
    if (s >= 0) return BASE + s;
    return [...token].length === 1 ? token.codePointAt(0) : undefined;
  }
  streamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return { push: (id) => this.decode([id], opts), flush: () => '' };
  }
  isSpecial(id: number): boolean {
    return id >= BASE;
  }
}

export interface ScriptedOptions {
  /** What the model writes after this prompt (control tokens allowed). */
  readonly reply: (prompt: string) => string;
  readonly tokenDelayMs?: number;
  readonly slots?: number;
  readonly maxQueue?: number;
  readonly contextLength?: number;
  readonly modelId?: string;
}

/** The stand-in engine. `requests` records every GenRequest, for assertions. */
export class ScriptedEngine implements Engine {
  readonly tokenizer = new CharTokenizer();
  readonly addBos = false;
  readonly modelId: string;
  readonly contextLength: number;
  readonly requests: GenRequest[] = [];
  private active = 0;
  private waiting: (() => void)[] = [];
  private tokens = 0;
  private prompt = 0;
  private steps = 0;

  constructor(private readonly o: ScriptedOptions) {
    this.modelId = o.modelId ?? 'moss-scripted';
    this.contextLength = o.contextLength ?? 2048;
  }

  stats(): EngineStats {
    return { active: this.active, queued: this.waiting.length, slots: this.o.slots ?? 4, maxQueue: this.o.maxQueue ?? 16, tokensGenerated: this.tokens, promptTokens: this.prompt, steps: this.steps };
  }

  submit(req: GenRequest): TokenStream {
    const s = this.stats();
    if (req.admit !== false && s.active >= s.slots && s.queued >= s.maxQueue) throw new QueueFullError(1);
    this.requests.push(req);
    const ch = new IdChannel();
    void this.run(req, ch);
    return ch;
  }

  private async run(req: GenRequest, ch: IdChannel): Promise<void> {
    if (this.active >= (this.o.slots ?? 4)) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      this.prompt += req.promptIds.length;
      const text = this.o.reply(this.tokenizer.decode(req.promptIds));
      const ids = this.tokenizer.encode(text, { special: 'allow' });
      const certain = (id: number) => ({ logprob: 0, top: req.logprobs ? [[id, 0] as const] : [] });
      if (req.logprobs !== undefined && req.promptLogprobs) ch.promptLogprobs = req.promptIds.map((id, i) => (i ? certain(id) : null));
      let n = 0;
      for (const id of ids) {
        if (req.signal?.aborted) return ch.end('cancelled');
        if (n >= req.maxNewTokens) return ch.end('length');
        if (this.o.tokenDelayMs) await new Promise((r) => setTimeout(r, this.o.tokenDelayMs));
        if (req.signal?.aborted) return ch.end('cancelled');
        ch.push([id], req.logprobs === undefined ? undefined : [certain(id)]);
        n++;
        this.tokens++;
        this.steps++;
        if (req.stopIds.includes(id)) return ch.end('stop');
      }
      ch.end(n >= req.maxNewTokens ? 'length' : 'stop');
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {}
}
