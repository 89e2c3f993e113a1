/**
 * Byte-level BPE (GPT-2 / CodeGen / MOSS / Llama 3 / Qwen2 / DeepSeek / Falcon / StarCoder …), following
 * HF tokenizers' [normalizer +] pre-tokenizer + ByteLevel + BPE: added tokens are cut out first
 * (added-tokens.ts), the rest is normalized (NFC for Qwen2) and split by the model's pre-tokenizer
 * (GPT-2's regex by default; pre-tokenizers.ts), each pre-token becomes UTF-8 bytes -> the 256
 * byte-symbol ids -> merged by rank (bpe-merge.ts), or taken whole when it is a vocabulary word and
 * the model ignores merges (Llama 3). Words are cached in a bounded map (oldest entry evicted first).
 * Decoding maps byte-level characters back to bytes.
 * Deliberately not here: file parsing (formats.ts), add_prefix_space, offsets, dropout.
 */
import { AddedTokenSplitter, type AddedToken } from './added-tokens.js';
import { BYTE_TO_CHAR, byteLevelToBytes } from './byte-unicode.js';
import { bpeMerge, ID_LIMIT, MergeTable } from './bpe-merge.js';
import { gpt2Split } from './pretokenize.js';
import { GPT2_PRE, type PreTokenizer } from './pre-tokenizers.js';
import { concatBytes, Utf8StreamDecoder } from './stream-decoder.js';
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './types.js';

/** What a byte-level BPE tokenizer is built from (plain arrays: from any file format). */
export interface ByteLevelBpeSpec {
  /** Token strings by id, byte-level spelling (added tokens as their plain text); holes allowed. */
  readonly tokens: readonly (string | undefined)[];
  /** Merges in rank order, "a b" or [a, b]. */
  readonly merges: readonly (string | readonly [string, string])[];
  /** Added tokens (ids must be in `tokens` or beyond it). */
  readonly added?: readonly AddedToken[];
  readonly bosId?: number | null;
  readonly eosId?: number | null;
  /** Word-cache entries (default 65536; 0 disables). */
  readonly cacheSize?: number;
  /** The pre-tokenizer (default GPT-2's regex). */
  readonly preTokenizer?: PreTokenizer;
  /** A pre-token that is a vocabulary word is one token, unmerged (HF `ignore_merges`; Llama 3). */
  readonly ignoreMerges?: boolean;
  /** Unicode normalization of plain text before pre-tokenizing (HF `normalizer`; Qwen2: NFC). */
  readonly normalize?: 'NFC' | 'NFD' | 'NFKC' | 'NFKD';
}

const utf8 = new TextEncoder();

/** A GPT-2-style byte-level BPE tokenizer. */
export class ByteLevelBpe implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Merges whose parts or result are not in the vocabulary (ignored). */
  readonly skippedMerges: number;
  private readonly tokens: (string | undefined)[];
  private readonly vocab = new Map<string, number>();
  private readonly merges: Map<number, number>;
  private readonly byteIds = new Int32Array(256);
  private readonly splitter: AddedTokenSplitter;
  private readonly specialIds = new Set<number>();
  private readonly addedIds = new Set<number>();
  private readonly cache = new Map<string, number[]>();
  private readonly cacheSize: number;
  private readonly bytesCache: (Uint8Array | undefined)[] = [];
  private scratch = new Int32Array(1024);
  /** Merges as given, "a b", in rank order (kept for export). */
  private readonly mergeList: string[] = [];
  readonly preTokenizer: PreTokenizer;
  readonly ignoreMerges: boolean;
  readonly normalize: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | undefined;
  private readonly missingBytes: boolean;

  constructor(spec: ByteLevelBpeSpec) {
    this.tokens = [...spec.tokens];
    const added = spec.added ?? [];
    for (const a of added) {
      if (a.id >= ID_LIMIT || a.id < 0) throw new Error(`bpe: added token id ${a.id} out of range`);
      this.tokens[a.id] = a.content;
      this.addedIds.add(a.id);
      if (a.special) this.specialIds.add(a.id);
    }
    if (this.tokens.length > ID_LIMIT) throw new Error(`bpe: vocabulary of ${this.tokens.length} exceeds ${ID_LIMIT}`);
    this.tokens.forEach((t, id) => {
      if (t !== undefined && !this.vocab.has(t)) this.vocab.set(t, id);
    });
    for (const a of added) this.vocab.set(a.content, a.id);
    this.vocabSize = this.tokens.length;
    // A byte without a symbol (Falcon's vocabulary lacks a few control bytes) is dropped from the
    // text, as HF's BPE does with no unk_token.
    let missing = 0;
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(BYTE_TO_CHAR[b]);
      if (id === undefined) missing++;
      this.byteIds[b] = id ?? -1;
    }
    if (missing > 64) throw new Error(`bpe: ${missing} of the 256 byte symbols are missing from the vocabulary (not a byte-level BPE vocabulary?)`);
    this.missingBytes = missing > 0;
    const table = new MergeTable();
    let skipped = 0;
    for (const m of spec.merges) {
      let a: string;
      let b: string;
      if (typeof m === 'string') {
        const sp = m.indexOf(' ', 1);
        if (sp < 0) throw new Error(`bpe: merge ${JSON.stringify(m)} is not "a b"`);
        a = m.slice(0, sp);
        b = m.slice(sp + 1);
      } else [a, b] = m;
      this.mergeList.push(`${a} ${b}`);
      const ia = this.vocab.get(a);
      const ib = this.vocab.get(b);
      const ir = this.vocab.get(a + b);
      if (ia === undefined || ib === undefined || ir === undefined) {
        skipped++;
        table.skip();
        continue;
      }
      table.add(ia, ib, ir);
    }
    this.merges = table.map;
    this.skippedMerges = skipped;
    this.splitter = new AddedTokenSplitter(added);
    this.bosId = spec.bosId ?? null;
    this.eosId = spec.eosId ?? null;
    this.cacheSize = spec.cacheSize ?? 65536;
    this.preTokenizer = spec.preTokenizer ?? GPT2_PRE;
    this.ignoreMerges = spec.ignoreMerges ?? false;
    this.normalize = spec.normalize;
  }

  /**
   * GGUF `tokenizer.ggml.*` metadata (model gpt2) from which `tokenizerFromGgufMetadata` rebuilds
   * this tokenizer: tokens (holes as `<unused{id}>`), token types, merges, bos/eos.
   */
  ggufMetadata(): Record<string, unknown> {
    const tokens: string[] = [];
    const types = new Int32Array(this.vocabSize);
    for (let id = 0; id < this.vocabSize; id++) {
      const t = this.tokens[id];
      tokens.push(t ?? `<unused${id}>`);
      types[id] = t === undefined ? 5 : this.specialIds.has(id) ? 3 : this.addedIds.has(id) ? 4 : 1;
    }
    if (this.preTokenizer.name === undefined) throw new Error('bpe: this pre-tokenizer has no llama.cpp name, so it cannot be written to GGUF');
    const md: Record<string, unknown> = { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': this.preTokenizer.name, 'tokenizer.ggml.tokens': tokens, 'tokenizer.ggml.token_type': types, 'tokenizer.ggml.merges': [...this.mergeList] };
    if (this.bosId !== null) md['tokenizer.ggml.bos_token_id'] = this.bosId;
    if (this.eosId !== null) md['tokenizer.ggml.eos_token_id'] = this.eosId;
    return md;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.addBos && this.bosId !== null) out.push(this.bosId);
    this.splitter.split(
      text,
      opts.special === 'allow',
      (a, b) => this.encodePlain(a === 0 && b === text.length ? text : text.slice(a, b), out),
      (id) => out.push(id),
    );
    return out;
  }

  /** Encodes text with no added-token handling. */
  private encodePlain(s: string, out: number[]): void {
    if (this.normalize !== undefined) s = s.normalize(this.normalize);
    if (this.preTokenizer.isGpt2) gpt2Split(s, (a, b) => this.encodeWord(s.slice(a, b), out));
    else this.preTokenizer.split(s, (a, b) => this.encodeWord(s.slice(a, b), out));
  }

  private encodeWord(w: string, out: number[]): void {
    const hit = this.cache.get(w);
    if (hit !== undefined) {
      for (let i = 0; i < hit.length; i++) out.push(hit[i]);
      return;
    }
    const ids = this.wordIds(w);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(w, ids);
    }
  }

  /** UTF-8 bytes of w as byte-symbol ids, merged. */
  private wordIds(w: string): number[] {
    if (this.scratch.length < w.length * 3) this.scratch = new Int32Array(w.length * 3 + 16);
    const s = this.scratch;
    const bi = this.byteIds;
    let n = 0;
    for (let i = 0; i < w.length; i++) {
      let c = w.charCodeAt(i);
      if (c < 0x80) {
        s[n++] = bi[c];
        continue;
      }
      if (c < 0x800) {
        s[n++] = bi[0xc0 | (c >> 6)];
        s[n++] = bi[0x80 | (c & 63)];
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < w.length) {
        const d = w.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
          s[n++] = bi[0xf0 | (c >> 18)];
          s[n++] = bi[0x80 | ((c >> 12) & 63)];
          s[n++] = bi[0x80 | ((c >> 6) & 63)];
          s[n++] = bi[0x80 | (c & 63)];
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
      s[n++] = bi[0xe0 | (c >> 12)];
      s[n++] = bi[0x80 | ((c >> 6) & 63)];
      s[n++] = bi[0x80 | (c & 63)];
    }
    if (this.missingBytes) {
      let k = 0;
      for (let i = 0; i < n; i++) if (s[i] >= 0) s[k++] = s[i];
      n = k;
    }
    if (this.ignoreMerges && n > 1) {
      let bl = '';
      for (let i = 0; i < n; i++) bl += this.tokens[s[i]];
      const id = this.vocab.get(bl);
      if (id !== undefined && !this.addedIds.has(id)) return [id];
    }
    return bpeMerge(this.merges, s, n);
  }

  /** Bytes of one token (added tokens: UTF-8 of their text). */
  tokenBytes(id: number): Uint8Array {
    let b = this.bytesCache[id];
    if (b !== undefined) return b;
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`bpe: token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    b = (this.addedIds.has(id) ? null : byteLevelToBytes(t)) ?? utf8.encode(t);
    this.bytesCache[id] = b;
    return b;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) if (!(opts.skipSpecial && this.specialIds.has(id))) parts.push(this.tokenBytes(id));
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(concatBytes(parts));
  }

  streamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const none = new Uint8Array(0);
    return new Utf8StreamDecoder((id) => (opts.skipSpecial && this.specialIds.has(id) ? none : this.tokenBytes(id)));
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The added tokens (special and not). */
  get addedTokens(): readonly AddedToken[] {
    return this.splitter.tokens;
  }
}
