/**
 * Reading corpora with bad data reported, never silently dropped: plain text files (documents
 * separated by blank lines) and JSONL files (one JSON object per line; the text field is chosen by
 * the caller; a MOSS SFT record — `meta_instruction` + `chat` — is read as its rendered
 * conversation text, so `moss train pretrain` reads the SFT files as they are). Every skipped item is passed to a `BadDataLog` with file:line and the rule that
 * skipped it, and the recipe prints a summary.
 * Not here: compressed corpora, streaming files larger than memory.
 */
import { readFileSync } from 'node:fs';
import { checkRecord, renderText } from '../chat/format.js';

export interface BadItem {
  file: string;
  line: number;
  reason: string;
}

/** Collects skipped items; `print` writes each one (file:line: reason) as it arrives. */
export class BadDataLog {
  readonly items: BadItem[] = [];
  constructor(private readonly print: ((msg: string) => void) | null = (m) => process.stderr.write(`${m}\n`)) {}

  add(file: string, line: number, reason: string): void {
    this.items.push({ file, line, reason });
    this.print?.(`skipped ${file}:${line}: ${reason}`);
  }

  /** Items kept but shortened (a conversation cut to the whole turns that fit): printed, counted apart from skips. */
  readonly truncated: BadItem[] = [];

  truncate(file: string, line: number, reason: string): void {
    this.truncated.push({ file, line, reason });
    this.print?.(`truncated ${file}:${line}: ${reason}`);
  }

  /** One line: how many items were truncated, and how many skipped, by reason. */
  summary(): string {
    const cut = this.truncated.length ? `${this.truncated.length} truncated to the turns that fit; ` : '';
    if (!this.items.length) return `${cut}no bad data`;
    const by = new Map<string, number>();
    for (const it of this.items) {
      const key = it.reason.replace(/\d+/g, 'N');
      by.set(key, (by.get(key) ?? 0) + 1);
    }
    return `${cut}skipped ${this.items.length} item(s): ${[...by].map(([r, n]) => `${n}× ${r}`).join('; ')}`;
  }
}

export interface JsonlRecord {
  value: Record<string, unknown>;
  file: string;
  line: number;
}

/** Parses a JSONL file; malformed lines and non-object values go to `bad`. Blank lines are fine. */
export function readJsonl(file: string, bad: BadDataLog): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      bad.add(file, i + 1, `malformed JSON (${(e as Error).message.split('\n')[0]})`);
      return;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      bad.add(file, i + 1, 'not a JSON object');
      return;
    }
    out.push({ value: v as Record<string, unknown>, file, line: i + 1 });
  });
  return out;
}

export interface TextDoc {
  text: string;
  file: string;
  line: number;
}

/**
 * Documents of a pre-training corpus: `.jsonl` files give one document per line from `field`, or
 * the rendered text of a MOSS SFT record (lines with neither are bad data); other files are split
 * at blank lines.
 */
export function readTextCorpus(files: readonly string[], bad: BadDataLog, field = 'text'): TextDoc[] {
  const docs: TextDoc[] = [];
  for (const file of files) {
    if (file.endsWith('.jsonl')) {
      for (const r of readJsonl(file, bad)) {
        let t = r.value[field];
        if (t === undefined && 'chat' in r.value && 'meta_instruction' in r.value) {
          try {
            t = renderText(checkRecord(r.value));
          } catch (e) {
            bad.add(file, r.line, `bad MOSS record: ${(e as Error).message}`);
            continue;
          }
        }
        if (typeof t !== 'string') bad.add(file, r.line, `no string field "${field}"`);
        else if (t.length) docs.push({ text: t, file, line: r.line });
      }
      continue;
    }
    const lines = readFileSync(file, 'utf8').split('\n');
    let start = -1;
    let buf: string[] = [];
    const flush = () => {
      if (buf.length) docs.push({ text: buf.join('\n'), file, line: start + 1 });
      buf = [];
    };
    lines.forEach((l, i) => {
      if (!l.trim()) return flush();
      if (!buf.length) start = i;
      buf.push(l);
    });
    flush();
  }
  return docs;
}
