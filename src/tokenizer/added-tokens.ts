/**
 * Added tokens (HF `added_tokens`, GGUF control/user-defined tokens): strings that are cut out of
 * the text before pre-tokenization and become one id each. Follows HF semantics: the leftmost match
 * wins, the longest at that position; text around a match is kept as is (no lstrip/rstrip).
 * Policy (DESIGN.md §5): a `special` token (`<eom>`, `<|endoftext|>`) is recognised only when the
 * caller passes special: 'allow'; a non-special added token (MOSS/CodeGen whitespace runs) always is.
 * Deliberately not here: HF's `single_word`/`lstrip`/`rstrip`/`normalized` flags.
 */

/** One added token. */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Control token: matched in text only with special: 'allow'. */
  readonly special: boolean;
}

function escape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function buildRegex(tokens: readonly AddedToken[]): RegExp | null {
  const contents = [...new Set(tokens.map((t) => t.content).filter((c) => c.length > 0))];
  if (contents.length === 0) return null;
  contents.sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  return new RegExp(contents.map(escape).join('|'), 'gu');
}

/** Splits text around added tokens. */
export class AddedTokenSplitter {
  private readonly byContent = new Map<string, number>();
  private readonly always: RegExp | null;
  private readonly all: RegExp | null;

  constructor(readonly tokens: readonly AddedToken[]) {
    for (const t of tokens) this.byContent.set(t.content, t.id);
    this.always = buildRegex(tokens.filter((t) => !t.special));
    this.all = buildRegex(tokens);
  }

  /**
   * Calls `text(start, end)` for each plain stretch and `token(id)` for each added token, in order.
   */
  split(s: string, allowSpecial: boolean, text: (start: number, end: number) => void, token: (id: number) => void): void {
    const re = allowSpecial ? this.all : this.always;
    if (re === null) {
      if (s.length > 0) text(0, s.length);
      return;
    }
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      if (m.index > last) text(last, m.index);
      token(this.byContent.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < s.length) text(last, s.length);
  }
}
