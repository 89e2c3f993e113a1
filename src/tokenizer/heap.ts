/**
 * A binary heap ordered by `before(a, b)` (true when a must come out first), used by the
 * SentencePiece merge loop and the BPE trainer. Not here: decrease-key (callers re-push and skip
 * stale entries lazily).
 */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(x: T): void {
    const h = this.items;
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(x, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = x;
  }

  /** Removes and returns the first item; the heap must not be empty. */
  pop(): T {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= h.length) break;
        if (c + 1 < h.length && this.before(h[c + 1], h[c])) c++;
        if (!this.before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
