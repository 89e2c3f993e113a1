/**
 * SentencePiece-style BPE as llama.cpp runs it (llm_tokenizer_spm): the text gets a leading space
 * (add_space_prefix) at its start and after each added token, spaces become "▁", the text is split
 * into code points, and adjacent pairs whose concatenation is a vocabulary piece are merged
 * highest-score-first (leftmost on ties); pieces left outside the vocabulary fall back to <0xNN> byte
 * tokens. Serves llama2.c `tokenizer.bin` and GGUF `llama` vocabularies.
 * Decoding: "▁" -> space, <0xNN> -> byte, one leading space dropped when the first piece starts with it
 * (HF's Strip decoder), control tokens printed as their text unless skipSpecial.
 * Deliberately not here: unigram (score-Viterbi) SentencePiece models, normalizers, sampling.
 */
import { BinaryHeap } from './heap.js';
import { AddedTokenSplitter, type AddedToken } from './added-tokens.js';
import { concatBytes, Utf8StreamDecoder } from './stream-decoder.js';
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './types.js';

/** GGUF token types (llama.cpp's llama_token_type). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** What a SentencePiece BPE tokenizer is built from. */
export interface SpmSpec {
  readonly tokens: readonly string[];
  readonly scores: ArrayLike<number>;
  /** GGUF token types; when absent, inferred (<0xNN> byte, <unk>/<s>/</s> and bos/eos control). */
  readonly types?: ArrayLike<number>;
  readonly bosId?: number | null;
  readonly eosId?: number | null;
  readonly unkId?: number | null;
  /** Prepend a space to the text (default true, as Llama's). */
  readonly addSpacePrefix?: boolean;
}

const BYTE_RE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextEncoder();

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

function before(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

/** A SentencePiece-BPE tokenizer with byte fallback. */
export class SentencePieceBpe implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  readonly addSpacePrefix: boolean;
  private readonly tokens: readonly string[];
  private readonly scores: Float32Array;
  private readonly types: Uint8Array;
  private readonly pieces = new Map<string, number>();
  private readonly allIds = new Map<string, number>();
  private readonly byteToId = new Int32Array(256).fill(-1);
  private readonly idToByte: Int16Array;
  private readonly splitter: AddedTokenSplitter;

  constructor(spec: SpmSpec) {
    const n = spec.tokens.length;
    if (spec.scores.length !== n) throw new Error(`spm: ${n} tokens but ${spec.scores.length} scores`);
    this.tokens = spec.tokens;
    this.vocabSize = n;
    this.bosId = spec.bosId ?? null;
    this.eosId = spec.eosId ?? null;
    this.unkId = spec.unkId ?? (spec.tokens[0] === '<unk>' ? 0 : null);
    this.addSpacePrefix = spec.addSpacePrefix ?? true;
    this.scores = Float32Array.from(spec.scores);
    this.types = new Uint8Array(n);
    this.idToByte = new Int16Array(n).fill(-1);
    for (let id = 0; id < n; id++) {
      const t = spec.tokens[id];
      let type = spec.types ? spec.types[id] : TokenType.NORMAL;
      const m = BYTE_RE.exec(t);
      if (!spec.types) {
        if (m) type = TokenType.BYTE;
        else if (id === this.unkId) type = TokenType.UNKNOWN;
        else if (id === this.bosId || id === this.eosId) type = TokenType.CONTROL;
      }
      this.types[id] = type;
      if (type === TokenType.BYTE && m) {
        const b = parseInt(m[1], 16);
        if (this.byteToId[b] < 0) this.byteToId[b] = id;
        this.idToByte[id] = b;
      }
      if (!this.allIds.has(t)) this.allIds.set(t, id);
      if ((type === TokenType.NORMAL || type === TokenType.USER_DEFINED) && !this.pieces.has(t)) this.pieces.set(t, id);
    }
    const added: AddedToken[] = [];
    for (let id = 0; id < n; id++) {
      const type = this.types[id];
      // llama.cpp splits on user-defined tokens always and on control tokens with parse_special.
      if (type === TokenType.USER_DEFINED || (type === TokenType.CONTROL && spec.types)) added.push({ id, content: spec.tokens[id], special: type === TokenType.CONTROL });
    }
    this.splitter = new AddedTokenSplitter(added);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.addBos && this.bosId !== null) out.push(this.bosId);
    let prevSpecial = true;
    this.splitter.split(
      text,
      opts.special === 'allow',
      (a, b) => {
        const s = (this.addSpacePrefix && prevSpecial ? ' ' : '') + text.slice(a, b);
        this.encodePiece(s.replaceAll(' ', '\u2581'), out);
        prevSpecial = false;
      },
      (id) => {
        out.push(id);
        prevSpecial = true;
      },
    );
    return out;
  }

  /** llama.cpp's llm_tokenizer_spm_session::tokenize on already-escaped text. */
  private encodePiece(s: string, out: number[]): void {
    // symbols: code points as [start, len) in code units, linked list
    const start: number[] = [];
    const len: number[] = [];
    for (let i = 0; i < s.length; ) {
      const c = s.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
      start.push(i);
      len.push(w);
      i += w;
    }
    const m = start.length;
    const next = start.map((_, i) => (i + 1 < m ? i + 1 : -1));
    const prev = start.map((_, i) => i - 1);
    const heap = new BinaryHeap<Bigram>(before);
    const tryAdd = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const size = len[l] + len[r];
      const id = this.pieces.get(s.slice(start[l], start[l] + size));
      if (id === undefined) return;
      heap.push({ left: l, right: r, score: this.scores[id], size });
    };
    for (let i = 1; i < m; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const g = heap.pop();
      if (len[g.left] === 0 || len[g.right] === 0 || len[g.left] + len[g.right] !== g.size) continue;
      len[g.left] += len[g.right];
      len[g.right] = 0;
      const rn = next[g.right];
      next[g.left] = rn;
      if (rn >= 0) prev[rn] = g.left;
      tryAdd(prev[g.left], g.left);
      tryAdd(g.left, rn);
    }
    for (let i = m > 0 ? 0 : -1; i >= 0; i = next[i]) {
      const piece = s.slice(start[i], start[i] + len[i]);
      const id = this.pieces.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of utf8.encode(piece)) {
        const bid = this.byteToId[b];
        if (bid >= 0) out.push(bid);
        else if (this.unkId !== null) out.push(this.unkId);
        else throw new Error(`spm: no byte token for 0x${b.toString(16)} and no <unk>`);
      }
    }
  }

  /** Bytes of one token as it prints (no leading-space rule). */
  tokenBytes(id: number): Uint8Array {
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`spm: token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    const b = this.idToByte[id];
    if (b >= 0) return Uint8Array.of(b);
    return utf8.encode(this.types[id] === TokenType.NORMAL ? t.replaceAll('\u2581', ' ') : t);
  }

  /** A per-sequence byte function: drops skipped specials and the first piece's leading space. */
  private bytesFn(opts: DecodeOptions): (id: number) => Uint8Array {
    let first = true;
    return (id) => {
      if (opts.skipSpecial && this.isSpecial(id)) return new Uint8Array(0);
      let b = this.tokenBytes(id);
      if (first && this.addSpacePrefix && b.length > 0 && b[0] === 0x20 && this.types[id] === TokenType.NORMAL) b = b.subarray(1);
      first = false;
      return b;
    };
  }

  /** GGUF `tokenizer.ggml.*` metadata (model llama) from which this tokenizer can be rebuilt. */
  ggufMetadata(): Record<string, unknown> {
    const md: Record<string, unknown> = {
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': [...this.tokens],
      'tokenizer.ggml.scores': Float32Array.from(this.scores),
      'tokenizer.ggml.token_type': Int32Array.from(this.types),
      'tokenizer.ggml.add_space_prefix': this.addSpacePrefix,
    };
    if (this.bosId !== null) md['tokenizer.ggml.bos_token_id'] = this.bosId;
    if (this.eosId !== null) md['tokenizer.ggml.eos_token_id'] = this.eosId;
    if (this.unkId !== null) md['tokenizer.ggml.unknown_token_id'] = this.unkId;
    return md;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const f = this.bytesFn(opts);
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(concatBytes(ids.map(f)));
  }

  streamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new Utf8StreamDecoder(this.bytesFn(opts));
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.allIds.get(token);
  }

  isSpecial(id: number): boolean {
    const t = this.types[id];
    return t === TokenType.CONTROL || t === TokenType.UNKNOWN;
  }

  /** The token type of an id (TokenType). */
  tokenType(id: number): number {
    return this.types[id];
  }
}
