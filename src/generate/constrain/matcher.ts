/**
 * Runs a Grammar (./grammar.ts) over bytes as llama.cpp's llama_grammar_accept does: a state is a
 * set of stacks of positions, each stack's top a terminal (a byte set or a special token); a byte
 * advances every stack whose top admits it and re-expands the references after it (a reference at
 * the end of an alternative is a tail call: no return position is pushed). An empty stack means
 * the grammar is complete.
 * `ByteDfa` interns every state it reaches and caches its transitions (256 bytes + specials), so
 * walking a token's bytes — or the whole vocabulary trie (./mask.ts) — from a state seen before is
 * array lookups: in practice a lazily built DFA. `viablePrefix` is the plain reference the tests
 * check it against.
 * Deliberately no left recursion (the builders never make it; an expansion deeper than 10,000 is
 * an error rather than a hang).
 */
import { BYTES, END, REF, SPECIAL, type Grammar } from './grammar.js';

interface Stack {
  readonly pos: number;
  readonly next: Stack | null;
  readonly key: string;
}

/** One interned state. */
interface State {
  readonly stacks: readonly Stack[];
  /** Some stack is empty: the grammar may end here. */
  readonly accepting: boolean;
  /** Byte -> state id; -2 unknown, -1 dead. */
  readonly trans: Int32Array;
  readonly specials: Map<number, number>;
}

export const DEAD = -1;

/** A lazily built DFA over the grammar's stack sets. */
export class ByteDfa {
  private readonly states: State[] = [];
  private readonly ids = new Map<string, number>();
  private readonly stackIds = new Map<string, Stack>();
  /** Bytes no set of the grammar tells apart share a class, and so every transition. */
  private readonly classOf = new Uint8Array(256);
  private readonly classBytes: number[][] = [];
  readonly start: number;

  constructor(readonly g: Grammar, private readonly maxStates = 200_000) {
    const sig = new Map<string, number>();
    for (let b = 0; b < 256; b++) {
      const key = g.sets.map((w) => (w[b >> 5] >>> (b & 31)) & 1).join('');
      let c = sig.get(key);
      if (c === undefined) {
        sig.set(key, (c = this.classBytes.length));
        this.classBytes.push([]);
      }
      this.classOf[b] = c;
      this.classBytes[c].push(b);
    }
    const out = new Map<string, Stack | null>();
    this.expandRef(g.root, null, out, 0);
    this.start = this.intern(out);
  }

  get size(): number {
    return this.states.length;
  }

  private stack(pos: number, next: Stack | null): Stack {
    const key = next ? `${pos},${next.key}` : `${pos}`;
    let s = this.stackIds.get(key);
    if (!s) this.stackIds.set(key, (s = { pos, next, key }));
    return s;
  }

  /** Adds every stack reachable from `s` whose top is a terminal (null: the empty stack). */
  private expand(s: Stack | null, out: Map<string, Stack | null>, depth: number): void {
    if (depth > 10_000) throw new Error('grammar: expansion too deep (left recursion?)');
    if (s === null) {
      out.set('', null);
      return;
    }
    const kind = this.g.code[s.pos * 2];
    if (kind === END) this.expand(s.next, out, depth + 1);
    else if (kind === REF) {
      const after = this.g.code[(s.pos + 1) * 2] === END ? s.next : this.stack(s.pos + 1, s.next);
      this.expandRef(this.g.code[s.pos * 2 + 1], after, out, depth + 1);
    } else out.set(s.key, s);
  }

  private expandRef(rule: number, ret: Stack | null, out: Map<string, Stack | null>, depth: number): void {
    for (const start of this.g.rules[rule]) this.expand(this.g.code[start * 2] === END ? ret : this.stack(start, ret), out, depth);
  }

  private intern(out: Map<string, Stack | null>): number {
    if (out.size === 0) return DEAD;
    const keys = [...out.keys()].sort();
    const key = keys.join('|');
    const have = this.ids.get(key);
    if (have !== undefined) return have;
    if (this.states.length >= this.maxStates) throw new Error(`grammar: more than ${this.maxStates} states`);
    const stacks = keys.map((k) => out.get(k)).filter((s): s is Stack => s !== null);
    this.states.push({ stacks, accepting: out.has(''), trans: new Int32Array(256).fill(-2), specials: new Map() });
    this.ids.set(key, this.states.length - 1);
    return this.states.length - 1;
  }

  /** The transition row of `state` (byte -> state, -2 not computed yet: call next). */
  row(state: number): Int32Array {
    return this.states[state].trans;
  }

  /** The state after byte `b` (DEAD when no stack admits it). */
  next(state: number, b: number): number {
    const st = this.states[state];
    const t = st.trans[b];
    if (t !== -2) return t;
    const out = new Map<string, Stack | null>();
    const { code, sets } = this.g;
    for (const s of st.stacks) {
      if (code[s.pos * 2] !== BYTES) continue;
      const w = sets[code[s.pos * 2 + 1]][b >> 5];
      if ((w >>> (b & 31)) & 1) this.expand(this.stack(s.pos + 1, s.next), out, 0);
    }
    const id = this.intern(out);
    for (const x of this.classBytes[this.classOf[b]]) st.trans[x] = id;
    return id;
  }

  /** The state after special token `id` (DEAD when the grammar does not expect it here). */
  nextSpecial(state: number, id: number): number {
    const st = this.states[state];
    const have = st.specials.get(id);
    if (have !== undefined) return have;
    const out = new Map<string, Stack | null>();
    for (const s of st.stacks) if (this.g.code[s.pos * 2] === SPECIAL && this.g.code[s.pos * 2 + 1] === id) this.expand(this.stack(s.pos + 1, s.next), out, 0);
    const r = this.intern(out);
    st.specials.set(id, r);
    return r;
  }

  /** Special token ids some stack of `state` expects next. */
  expectedSpecials(state: number): number[] {
    const ids = new Set<number>();
    for (const s of this.states[state].stacks) if (this.g.code[s.pos * 2] === SPECIAL) ids.add(this.g.code[s.pos * 2 + 1]);
    return [...ids];
  }

  accepting(state: number): boolean {
    return state >= 0 && this.states[state].accepting;
  }

  /** Whether `state` can go on at all (false: only the end remains). */
  canContinue(state: number): boolean {
    return state >= 0 && this.states[state].stacks.length > 0;
  }

  /** Walks bytes from `state`. */
  walk(state: number, bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length && state >= 0; i++) state = this.next(state, bytes[i]);
    return state;
  }
}

/** A unit of model output for the reference check: bytes of a text token, or a special token id. */
export type Piece = Uint8Array | number;

/**
 * The slow, obvious reference: whether `pieces` are a prefix of some sentence of `g`, by
 * re-running llama.cpp's stack-set walk from the start with no interning and no caching.
 */
export function viablePrefix(g: Grammar, pieces: readonly Piece[]): boolean {
  type S = number[]; // positions, top last
  const expand = (s: S, out: S[], depth = 0): void => {
    if (depth > 10_000) throw new Error('too deep');
    if (!s.length) return void out.push(s);
    const pos = s[s.length - 1];
    const kind = g.code[pos * 2];
    if (kind === END) return expand(s.slice(0, -1), out, depth + 1);
    if (kind !== REF) return void out.push(s);
    const rest = s.slice(0, -1);
    if (g.code[(pos + 1) * 2] !== END) rest.push(pos + 1);
    for (const start of g.rules[g.code[pos * 2 + 1]]) expand([...rest, start], out, depth + 1);
  };
  let cur: S[] = [];
  for (const start of g.rules[g.root]) expand([start], cur);
  const stepTo = (match: (kind: number, arg: number) => boolean): void => {
    const out: S[] = [];
    for (const s of cur) {
      if (!s.length) continue;
      const pos = s[s.length - 1];
      if (match(g.code[pos * 2], g.code[pos * 2 + 1])) expand([...s.slice(0, -1), pos + 1], out);
    }
    cur = out;
  };
  for (const p of pieces) {
    if (typeof p === 'number') stepTo((k, a) => k === SPECIAL && a === p);
    else for (const b of p) stepTo((k, a) => k === BYTES && ((g.sets[a][b >> 5] >>> (b & 31)) & 1) === 1);
    if (!cur.length) return false;
  }
  return true;
}

/** Whether `pieces` are a whole sentence of `g` (reference, as viablePrefix). */
export function completeSentence(g: Grammar, pieces: readonly Piece[]): boolean {
  const dfa = new ByteDfa(g);
  let s = dfa.start;
  for (const p of pieces) {
    s = typeof p === 'number' ? dfa.nextSpecial(s, p) : dfa.walk(s, p);
    if (s < 0) return false;
  }
  return dfa.accepting(s);
}
