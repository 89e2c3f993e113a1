/**
 * Training data as packed rows: a row is `input` (T token ids) and `target` (T ids, IGNORE where no
 * loss), already shifted (target[i] is the token after input[i]). Pre-training concatenates
 * documents with an end-of-text id and cuts windows (nanoGPT); SFT packs whole conversations into
 * rows greedily and pads the rest (targets IGNORE). Batches walk a per-epoch shuffled order that is
 * a pure function of (seed, epoch), so the data position {epoch, index} is all a checkpoint needs.
 * Not here: attention masks between packed conversations (they may attend to each other, as in
 * most packed SFT), streaming corpora larger than memory.
 */
import { Generator } from '../tensor/index.js';

/** Target id that carries no loss (PyTorch's ignore_index). */
export const IGNORE = -100;

export interface Row {
  input: Int32Array;
  target: Int32Array;
}

/** A labelled sequence before shifting: ids and per-token labels (IGNORE = no loss), HF style. */
export interface Example {
  ids: readonly number[];
  labels: readonly number[];
  /** Where it came from, for reports (file:line). */
  source?: string;
}

/** Concatenates documents (each followed by `eos`) and cuts (T+1)-token windows with stride T. */
export function packDocuments(docs: Iterable<readonly number[]>, T: number, eos: number): Row[] {
  const stream: number[] = [];
  for (const d of docs) {
    for (const id of d) stream.push(id);
    stream.push(eos);
  }
  const rows: Row[] = [];
  for (let s = 0; s + T + 1 <= stream.length; s += T) {
    rows.push({ input: Int32Array.from(stream.slice(s, s + T)), target: Int32Array.from(stream.slice(s + 1, s + T + 1)) });
  }
  return rows;
}

/**
 * Shifts each example (input = ids[:-1], target = labels[1:]) and packs them into rows of T in
 * order, starting a new row when the next one does not fit; the tail of a row is `pad` / IGNORE.
 * Examples longer than T + 1 tokens must be cut or dropped before (see the SFT recipe).
 */
export function packExamples(examples: Iterable<Example>, T: number, pad: number): Row[] {
  const rows: Row[] = [];
  let cur: Row | null = null;
  let used = 0;
  for (const ex of examples) {
    const n = ex.ids.length - 1;
    if (n < 1) continue;
    if (n > T) throw new Error(`packExamples: example of ${n + 1} tokens exceeds the context ${T + 1}${ex.source ? ` (${ex.source})` : ''}`);
    if (!cur || used + n > T) {
      cur = { input: new Int32Array(T).fill(pad), target: new Int32Array(T).fill(IGNORE) };
      rows.push(cur);
      used = 0;
    }
    for (let i = 0; i < n; i++) {
      cur.input[used + i] = ex.ids[i];
      cur.target[used + i] = ex.labels[i + 1];
    }
    used += n;
  }
  return rows;
}

/** The last `fraction` of `items` (at most `cap`) held out for eval, the rest for training, order kept. */
export function splitTail<T>(items: T[], fraction: number, cap = Infinity): { train: T[]; held: T[] } {
  const n = Math.min(Math.floor(items.length * fraction), cap);
  return { train: items.slice(0, items.length - n), held: items.slice(items.length - n) };
}

/** Where the batcher is: epoch and index into that epoch's order. */
export interface DataPosition {
  epoch: number;
  index: number;
}

/** Yields batches of rows (or any items: pairs for the preference recipes) in a shuffled order per epoch; restartable from a DataPosition. */
export class Batcher<R = Row> {
  private order: Uint32Array = new Uint32Array(0);
  private orderEpoch = -1;
  pos: DataPosition = { epoch: 0, index: 0 };

  constructor(readonly rows: readonly R[], readonly batchSize: number, readonly seed: number, readonly shuffle = true) {
    if (rows.length === 0) throw new Error('no training rows: the data is empty or shorter than one context window');
  }

  private orderFor(epoch: number): Uint32Array {
    if (this.orderEpoch !== epoch) {
      const o = Uint32Array.from(this.rows.keys());
      if (this.shuffle) {
        const g = new Generator(this.seed * 1000003 + epoch);
        for (let i = o.length - 1; i > 0; i--) {
          const j = g.int(i + 1);
          [o[i], o[j]] = [o[j], o[i]];
        }
      }
      this.order = o;
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The next `batchSize` rows (wrapping into the next epoch). */
  next(): R[] {
    const out: R[] = [];
    while (out.length < this.batchSize) {
      const o = this.orderFor(this.pos.epoch);
      out.push(this.rows[o[this.pos.index]]);
      this.pos = this.pos.index + 1 >= o.length ? { epoch: this.pos.epoch + 1, index: 0 } : { epoch: this.pos.epoch, index: this.pos.index + 1 };
    }
    return out;
  }
}
