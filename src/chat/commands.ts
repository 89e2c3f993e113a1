/**
 * Commands and results of the plugin loop, in the layouts of MOSS's SFT data:
 *  - commands: `Search("a"), Search("b")`, `Calculate("1+1")`, `None`, also numbered or
 *    newline-separated lists (all of which occur in the data);
 *  - results: `<|Results|>:\n` then per command `Search("q") =>\n<|1|>: '…'\n` (hit numbers run on
 *    across searches), `Calculate("e") => 'v'\n`, `Solve("e") =>\nx = 1\n`, failures as
 *    `'No result.'` / `No result.`, then `<eor>\n`; a lone Text2Image writes
 *    `<|Results|>: Image generated successfully.<eor>\n`; no command: `<|Results|>:\nNone\n<eor>\n`
 *    (plugins on) or `<|Results|>: None<eor>\n` (all off).
 * Deliberately no plugin execution here (./loop.ts).
 */
import type { PluginResult } from '../plugins/types.js';
import { defang, fieldText } from './format.js';

export interface Command {
  readonly name: string;
  readonly arg: string;
  /** The argument is a JSON object written as is, `Name({"a": 1})` (a client tool with a multi-parameter schema). */
  readonly json?: boolean;
}

const CALL_HEAD = /([A-Za-z_][A-Za-z0-9_-]*)\(\s*/g;
const QUOTED = /(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)/y;

/** End (exclusive) of the balanced JSON object starting at s[i] === '{', or -1. */
function objectEnd(s: string, i: number): number {
  let depth = 0;
  let str = false;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (str) {
      if (c === '\\') j++;
      else if (c === '"') str = false;
    } else if (c === '"') str = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') if (--depth === 0) return j + 1;
  }
  return -1;
}

/** Parses a Commands body; [] for `None` or text without any `Name("…")` / `Name({…})` call. */
export function parseCommands(body: string): Command[] {
  const out: Command[] = [];
  CALL_HEAD.lastIndex = 0;
  for (let m = CALL_HEAD.exec(body); m; m = CALL_HEAD.exec(body)) {
    const at = CALL_HEAD.lastIndex;
    QUOTED.lastIndex = at;
    const q = QUOTED.exec(body);
    if (q) {
      out.push({ name: m[1], arg: (q[1] ?? q[2]).replace(/\\(["'\\])/g, '$1') });
      CALL_HEAD.lastIndex = QUOTED.lastIndex;
    } else if (body[at] === '{') {
      const end = objectEnd(body, at);
      const close = end < 0 ? null : /^\s*\)/.exec(body.slice(end));
      if (close) {
        out.push({ name: m[1], arg: body.slice(at, end), json: true });
        CALL_HEAD.lastIndex = end + close[0].length;
      }
    }
  }
  return out;
}

/** Python-repr-like quoting of a snippet, as the data shows: `'text'`, newlines as `\n`. */
export function pyQuote(s: string): string {
  const body = s.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');
  if (body.includes("'") && !body.includes('"')) return `"${body}"`;
  return `'${body.replace(/'/g, "\\'")}'`;
}

/** What happened to one command. */
export type Outcome = { readonly ok: true; readonly result: PluginResult } | { readonly ok: false; readonly message: string };

/** The full `Tool Responses` field text for the commands and their outcomes. */
export function formatResults(cmds: readonly Command[], outcomes: readonly Outcome[], pluginsOn: boolean): string {
  if (cmds.length === 0) return fieldText('Tool Responses', pluginsOn ? '\nNone\n' : ' None');
  if (cmds.length === 1 && cmds[0].name === 'Text2Image') return fieldText('Tool Responses', ` ${outcomes[0].ok ? 'Image generated successfully.' : 'No result.'}`);
  let hit = 0;
  let text = '\n';
  cmds.forEach((c, i) => {
    const o = outcomes[i];
    const head = `${c.name}(${c.json ? defang(c.arg) : JSON.stringify(defang(c.arg)).replace(/\\u[0-9a-f]{4}/g, '')}) =>`;
    const r = o.ok ? o.result : undefined;
    if (c.name === 'Search') {
      const hits = r?.kind === 'hits' ? r.hits : [];
      text += `${head}\n` + (hits.length ? hits.map((h) => `<|${++hit}|>: ${pyQuote(defang(h.snippet))}\n`).join('') : 'No result.\n');
    } else if (c.name === 'Solve') {
      text += `${head}\n` + (r?.kind === 'lines' && r.lines.length ? r.lines.map((l) => `${defang(l)}\n`).join('') : 'No result.\n');
    } else if (c.name === 'Text2Image') {
      text += `${head} ${r ? 'Image generated successfully.' : 'No result.'}\n`;
    } else {
      text += `${head} ${pyQuote(r?.kind === 'value' ? defang(r.text) : 'No result.')}\n`;
    }
  });
  return fieldText('Tool Responses', text);
}
