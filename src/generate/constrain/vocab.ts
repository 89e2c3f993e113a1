/**
 * The vocabulary as the mask sees it: the bytes every text token spells (byte-level BPE through
 * the GPT-2 byte table, SentencePiece pieces with `▁` as a space and `<0xNN>` byte tokens) and
 * which ids are control tokens, packed in two typed arrays so it crosses to the model's worker by
 * structured clone; and a byte trie over it, built once per vocabulary, so one walk visits each
 * shared prefix once (the Outlines / llguidance token-trie idea).
 * Deliberately no tokenizer logic beyond reading token spellings.
 */
import { ByteLevelBpe } from '../../tokenizer/byte-level-bpe.js';
import { byteLevelToBytes } from '../../tokenizer/byte-unicode.js';
import type { Tokenizer } from '../../tokenizer/types.js';

/** Token bytes, packed: token i is bytes[offsets[i] .. offsets[i + 1]); special ids listed apart. */
export interface VocabBytes {
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly special: Int32Array;
}

const utf8 = new TextEncoder();

/** The bytes text token `id` spells; null for a control token or an id without a spelling. */
export function tokenBytes(tok: Tokenizer, id: number): Uint8Array | null {
  if (tok.isSpecial(id)) return null;
  const t = tok.idToToken(id);
  if (t === undefined) return null;
  if (tok instanceof ByteLevelBpe) return byteLevelToBytes(t);
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
  return m ? Uint8Array.of(parseInt(m[1], 16)) : utf8.encode(t.replace(/\u2581/g, ' '));
}

/** Reads the byte spelling of every id of `tok` (control tokens and unknown spellings get none). */
export function vocabBytes(tok: Tokenizer): VocabBytes {
  const V = tok.vocabSize;
  const parts: Uint8Array[] = [];
  const special: number[] = [];
  const offsets = new Int32Array(V + 1);
  let n = 0;
  for (let id = 0; id < V; id++) {
    if (tok.isSpecial(id)) special.push(id);
    const b = tokenBytes(tok, id);
    if (b) {
      parts.push(b);
      n += b.length;
    }
    offsets[id + 1] = n;
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, offsets, special: Int32Array.from(special) };
}

/** A byte trie of the text tokens: node 0 is the root. */
export class TokenTrie {
  readonly V: number;
  /** Per node: first child, next sibling (-1 none), its byte, and the ids that end there
   *  (endIds[endStart[n] .. endStart[n + 1])). */
  readonly first: Int32Array;
  readonly sibling: Int32Array;
  readonly byte: Uint8Array;
  readonly endStart: Int32Array;
  readonly endIds: Int32Array;
  readonly special: ReadonlySet<number>;

  constructor(readonly vocab: VocabBytes) {
    const V = (this.V = vocab.offsets.length - 1);
    this.special = new Set(vocab.special);
    const first: number[] = [-1];
    const sibling: number[] = [-1];
    const byte: number[] = [0];
    const ends: number[][] = [[]];
    const child = (node: number, b: number): number => {
      for (let c = first[node]; c >= 0; c = sibling[c]) if (byte[c] === b) return c;
      first.push(-1);
      sibling.push(first[node]);
      byte.push(b);
      ends.push([]);
      first[node] = first.length - 1;
      return first.length - 1;
    };
    for (let id = 0; id < V; id++) {
      const a = vocab.offsets[id];
      const z = vocab.offsets[id + 1];
      if (z === a) continue;
      let node = 0;
      for (let i = a; i < z; i++) node = child(node, vocab.bytes[i]);
      ends[node].push(id);
    }
    this.first = Int32Array.from(first);
    this.sibling = Int32Array.from(sibling);
    this.byte = Uint8Array.from(byte);
    this.endStart = new Int32Array(ends.length + 1);
    for (let n = 0; n < ends.length; n++) this.endStart[n + 1] = this.endStart[n] + ends[n].length;
    this.endIds = Int32Array.from(ends.flat());
  }

  /** The bytes of text token `id` (empty for control tokens). */
  bytesOf(id: number): Uint8Array {
    return this.vocab.bytes.subarray(this.vocab.offsets[id], this.vocab.offsets[id + 1]);
  }
}
