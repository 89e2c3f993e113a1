/**
 * The token mask: which ids may come next in a grammar state. A `GrammarMatcher` pairs a grammar's
 * lazy byte DFA (./matcher.ts) with the vocabulary trie (./vocab.ts) and computes a state's mask
 * once — one walk of the trie, cut wherever the DFA dies — then keeps it (a JSON string body, a
 * number, the gap after a comma recur token after token). A `GrammarConstraint` is one sequence's
 * cursor into a matcher: `allows` checks one token (the generation step first samples as usual and
 * only when that token is not allowed masks the row and samples again — llama.cpp's common
 * sampler does the same — so most steps build no mask at all), `mask` sets forbidden logits to
 * -Infinity, and `accept` walks the picked token's bytes. Matchers are cached per grammar (LRU), so a server that sees the
 * same schema again reuses every mask it already built.
 * Deliberately no sampling here: the one generation step (../sequence.ts) calls mask, then samples.
 */
import type { Grammar } from './grammar.js';
import { ByteDfa, DEAD } from './matcher.js';
import type { TokenTrie } from './vocab.js';

/** What the generation step needs of a constraint (../sequence.ts). */
export interface TokenConstraint {
  /** Sets the logits of forbidden ids to -Infinity; false (logits untouched) when no id is allowed. */
  mask(logits: Float32Array): boolean;
  /** Whether `id` may come next (one token's bytes walked: cheap, no mask built). */
  allows(id: number): boolean;
  /** Takes the picked id. */
  accept(id: number): void;
}

export class GrammarMatcher {
  readonly dfa: ByteDfa;
  private readonly masks = new Map<number, Uint8Array>();
  private nodes = new Int32Array(1024);
  private stateStack = new Int32Array(1024);

  constructor(readonly grammar: Grammar, readonly trie: TokenTrie) {
    this.dfa = new ByteDfa(grammar);
  }

  /** 1 for each id allowed after `state` (cached per state). */
  allowed(state: number): Uint8Array {
    let m = this.masks.get(state);
    if (m) return m;
    m = new Uint8Array(this.trie.V);
    if (state !== DEAD) {
      const { first, sibling, byte, endStart, endIds } = this.trie;
      const dfa = this.dfa;
      // depth-first over the trie with an explicit stack of (node, dfa state)
      let nodes = this.nodes;
      let states = this.stateStack;
      nodes[0] = 0;
      states[0] = state;
      let top = 1;
      while (top > 0) {
        top--;
        const node = nodes[top];
        const st = states[top];
        const row = dfa.row(st);
        for (let c = first[node]; c >= 0; c = sibling[c]) {
          const b = byte[c];
          let t = row[b];
          if (t === -2) t = dfa.next(st, b);
          if (t === DEAD) continue;
          for (let e = endStart[c]; e < endStart[c + 1]; e++) m[endIds[e]] = 1;
          if (first[c] >= 0) {
            if (top === nodes.length) {
              nodes = this.nodes = grow(nodes);
              states = this.stateStack = grow(states);
            }
            nodes[top] = c;
            states[top] = t;
            top++;
          }
        }
      }
      for (const id of dfa.expectedSpecials(state)) if (id < m.length) m[id] = 1;
    }
    this.masks.set(state, m);
    return m;
  }

  /** Whether id may follow `state`: the cached mask when there is one, else the token's bytes walked. */
  allows(state: number, id: number): boolean {
    const m = this.masks.get(state);
    if (m) return m[id] === 1;
    return this.advance(state, id) !== DEAD;
  }

  /** The state after id (DEAD if it was not allowed). */
  advance(state: number, id: number): number {
    if (state === DEAD) return DEAD;
    if (this.trie.special.has(id)) return this.dfa.nextSpecial(state, id);
    const b = this.trie.bytesOf(id);
    return b.length ? this.dfa.walk(state, b) : DEAD;
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** One sequence's position in a grammar. */
export class GrammarConstraint implements TokenConstraint {
  state: number;
  constructor(readonly matcher: GrammarMatcher) {
    this.state = matcher.dfa.start;
  }

  mask(logits: Float32Array): boolean {
    const m = this.matcher.allowed(this.state);
    const n = Math.min(m.length, logits.length);
    let any = false;
    for (let i = 0; i < n && !any; i++) any = m[i] === 1 && logits[i] > -Infinity;
    if (!any) return false;
    for (let i = 0; i < n; i++) if (m[i] === 0) logits[i] = -Infinity;
    for (let i = n; i < logits.length; i++) logits[i] = -Infinity;
    return true;
  }

  allows(id: number): boolean {
    return id >= 0 && id < this.matcher.trie.V && this.matcher.allows(this.state, id);
  }

  accept(id: number): void {
    this.state = this.matcher.advance(this.state, id);
  }

  /** The grammar is complete here. */
  get complete(): boolean {
    return this.matcher.dfa.accepting(this.state);
  }
}

/** Matchers by grammar, least recently used dropped first. */
export class MatcherCache {
  private readonly map = new Map<string, GrammarMatcher>();
  constructor(readonly trie: TokenTrie, readonly capacity = 32) {}

  get(g: Grammar): GrammarMatcher {
    const key = JSON.stringify(g);
    let m = this.map.get(key);
    if (m) this.map.delete(key);
    else m = new GrammarMatcher(g, this.trie);
    this.map.set(key, m);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
    return m;
  }

  /** A fresh constraint for one sequence. */
  constraint(g: Grammar): GrammarConstraint {
    return new GrammarConstraint(this.get(g));
  }
}
