/**
 * OpenAI's two wire shapes of log-probabilities, built from the engine's per-token values
 * (src/generate/logprobs.ts: the model's raw distribution, as vLLM reports by default):
 *  - chat: `logprobs: {content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: null}`;
 *  - completions: `logprobs: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}`,
 *    the first prompt token's entries null when the prompt is echoed (lm-evaluation-harness reads
 *    `token_logprobs[ctxlen:-1]`).
 * A token's string is its bytes as UTF-8 when they are valid, else `bytes:\xNN…` (OpenAI's
 * spelling for a piece of a character); control tokens are spelled by name (`<eom>`).
 * Deliberately no HTTP and no generation here.
 */
import { tokenBytes } from '../generate/constrain/vocab.js';
import type { TokenLogprob } from '../generate/logprobs.js';
import type { Tokenizer } from '../tokenizer/types.js';

const strict = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/** The spelling of one token: its string and exact bytes. */
export function tokenSpelling(tok: Tokenizer, id: number): { token: string; bytes: number[] } {
  const b = tokenBytes(tok, id);
  if (!b) {
    const name = tok.idToToken(id) ?? '';
    return { token: name, bytes: [...utf8.encode(name)] };
  }
  let token: string;
  try {
    token = strict.decode(b);
  } catch {
    token = 'bytes:' + [...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
  }
  return { token, bytes: [...b] };
}

/** One entry of a chat answer's `logprobs.content`. */
export interface ChatLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: number[];
  readonly top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function chatLogprob(tok: Tokenizer, id: number, lp: TokenLogprob): ChatLogprob {
  return { ...tokenSpelling(tok, id), logprob: lp.logprob, top_logprobs: lp.top.map(([t, l]) => ({ ...tokenSpelling(tok, t), logprob: l })) };
}

/** A completions answer's `logprobs` (or one streamed chunk's part of it). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export const emptyCompletionLogprobs = (): CompletionLogprobs => ({ tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] });

/** Appends token `id` at character offset `offset` (lp null: the first prompt token, which nothing predicts). */
export function addCompletionLogprob(out: CompletionLogprobs, tok: Tokenizer, id: number, lp: TokenLogprob | null | undefined, offset: number): void {
  out.tokens.push(tokenSpelling(tok, id).token);
  out.token_logprobs.push(lp ? lp.logprob : null);
  out.top_logprobs.push(lp ? Object.fromEntries(lp.top.map(([t, l]) => [tokenSpelling(tok, t).token, l])) : null);
  out.text_offset.push(offset);
}

/** Appends `b` to `a` (the parts of a streamed answer, joined for a non-streamed one). */
export function appendCompletionLogprobs(a: CompletionLogprobs, b: CompletionLogprobs): void {
  a.tokens.push(...b.tokens);
  a.token_logprobs.push(...b.token_logprobs);
  a.top_logprobs.push(...b.top_logprobs);
  a.text_offset.push(...b.text_offset);
}

/**
 * Collects a chat reply's log-probabilities while a turn runs: `track` each generation's stream as
 * it starts, call `token` for every id the turn reads (in order; `keep` for reply tokens), and `take`
 * the entries gathered since the last call (sent with the content piece they spell). The reader of
 * the reply drops what a model writes before its text (whitespace, a `None` placeholder, a stray
 * control token): the first piece keeps only the last entries that spell it, so the entries of a
 * reply spell its content (but for the one space the MOSS format drops after `<|MOSS|>:`).
 */
export class ChatLogprobTap {
  private stream?: { readonly logprobs?: readonly TokenLogprob[] };
  private k = 0;
  private pending: ChatLogprob[] = [];
  private started = false;

  constructor(private readonly tok: Tokenizer) {}

  track<S extends { readonly logprobs?: readonly TokenLogprob[] }>(s: S): S {
    this.stream = s;
    this.k = 0;
    return s;
  }

  token(id: number, keep: boolean): void {
    const lp = this.stream?.logprobs?.[this.k++];
    if (keep && lp) this.pending.push(chatLogprob(this.tok, id, lp));
  }

  /** Entries since the last call, for the content `text` sent with them; undefined when none. */
  take(text = ''): ChatLogprob[] | undefined {
    if (!this.started) {
      if (!text) return void (this.pending = []); // nothing of the reply yet: what came was not its text
      this.started = true;
      const want = utf8.encode(text).length;
      let i = this.pending.length;
      for (let have = 0; i > 0 && have < want; ) have += this.pending[--i].bytes.length;
      this.pending.splice(0, i);
    }
    return this.pending.length ? this.pending.splice(0) : undefined;
  }
}
