/**
 * A byte-level context-free grammar as plain data (so it crosses the worker boundary by structured
 * clone), and a builder with the usual combinators. Layout follows llama.cpp's llama-grammar: every
 * rule is a list of alternatives, each a run of elements ended by END, all in one flat `code` array
 * of (kind, arg) pairs; an element is one byte out of a set, a reference to a rule, or one special
 * (control) token id. Repetition is right recursion (`R := x R | ε`), which the matcher runs as a
 * tail call, so stacks stay shallow.
 * Deliberately no parsing of a grammar text format (GBNF): grammars are built in code
 * (./schema.ts, the serve layer's tool-call grammar).
 */

export const END = 0;
export const BYTES = 1;
export const REF = 2;
export const SPECIAL = 3;

/** A compiled grammar: plain arrays only. */
export interface Grammar {
  /** (kind, arg) pairs; an alternative's elements end with (END, 0). */
  readonly code: number[];
  /** Per rule: the element index (pair index) where each alternative starts. */
  readonly rules: number[][];
  /** Byte sets as 8 32-bit words (bit b of word b >> 5 set when byte b is in the set). */
  readonly sets: number[][];
  /** The start rule. */
  readonly root: number;
}

/** One element of an alternative. */
export interface Item {
  readonly kind: typeof BYTES | typeof REF | typeof SPECIAL;
  readonly arg: number;
}

export type Seq = readonly Item[];

const utf8 = new TextEncoder();

/** Builds a Grammar; anonymous rules with identical alternatives are shared. */
export class GrammarBuilder {
  private readonly alts: (Seq[] | null)[] = [];
  private readonly setIds = new Map<string, number>();
  private readonly sets: number[][] = [];
  private readonly ruleIds = new Map<string, number>();

  /** Reserves a rule id, to define later (recursion). */
  reserve(): number {
    this.alts.push(null);
    return this.alts.length - 1;
  }

  define(id: number, alts: readonly Seq[]): Item {
    this.alts[id] = alts.map((a) => [...a]);
    return { kind: REF, arg: id };
  }

  /** A rule with these alternatives (shared with an identical one made before). */
  rule(alts: readonly Seq[]): Item {
    const key = JSON.stringify(alts);
    const have = this.ruleIds.get(key);
    if (have !== undefined) return { kind: REF, arg: have };
    const id = this.reserve();
    this.ruleIds.set(key, id);
    return this.define(id, alts);
  }

  /** One byte out of those for which `has(b)` holds. */
  bytes(has: (b: number) => boolean): Item {
    const words = new Array<number>(8).fill(0);
    for (let b = 0; b < 256; b++) if (has(b)) words[b >> 5] |= 1 << (b & 31);
    const key = words.join(',');
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(words.map((w) => w >>> 0));
      this.setIds.set(key, id);
    }
    return { kind: BYTES, arg: id };
  }

  /** Bytes in inclusive ranges, e.g. range([0x30, 0x39]). */
  range(...ranges: [number, number][]): Item {
    return this.bytes((b) => ranges.some(([lo, hi]) => b >= lo && b <= hi));
  }

  /** The UTF-8 bytes of `s`, one element each. */
  lit(s: string): Item[] {
    return [...utf8.encode(s)].map((c) => this.bytes((b) => b === c));
  }

  special(id: number): Item {
    return { kind: SPECIAL, arg: id };
  }

  alt(...alts: Seq[]): Item {
    return this.rule(alts);
  }

  opt(x: Seq): Item {
    return this.rule([x, []]);
  }

  /** Zero or more `x` (x must not match the empty string). */
  star(x: Seq): Item {
    const key = `star:${JSON.stringify(x)}`;
    const have = this.ruleIds.get(key);
    if (have !== undefined) return { kind: REF, arg: have };
    const id = this.reserve();
    this.ruleIds.set(key, id);
    return this.define(id, [[...x, { kind: REF, arg: id }], []]);
  }

  /** `x` between min and max times (max Infinity: unbounded). */
  repeat(x: Seq, min: number, max: number): Item[] {
    const out: Item[] = [];
    for (let i = 0; i < min; i++) out.push(...x);
    if (max === Infinity) return [...out, this.star(x)];
    let tail: Item[] = [];
    for (let i = min; i < max; i++) tail = [this.opt([...x, ...tail])];
    return [...out, ...tail];
  }

  build(root: Item): Grammar {
    if (root.kind !== REF) root = this.rule([[root]]);
    const code: number[] = [];
    const rules: number[][] = [];
    for (const [i, alts] of this.alts.entries()) {
      if (!alts) throw new Error(`grammar: rule ${i} was reserved but never defined`);
      rules.push(alts.map((a) => {
        const start = code.length / 2;
        for (const it of a) code.push(it.kind, it.arg);
        code.push(END, 0);
        return start;
      }));
    }
    return { code, rules, sets: this.sets, root: root.arg };
  }
}
