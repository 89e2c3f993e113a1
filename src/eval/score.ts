/**
 * Scoring of one MOSS tool-use turn against what a synthetic conversation expects (src/data):
 * well-formed (the model closed `<|Inner Thoughts|>…<eot>` and `<|Commands|>…<eoc>` in that order,
 * and its reply with `<eom>`), right plugin, right argument, and a final reply that contains the
 * plugin's answer (numbers matched as whole numbers: 1081 is not found in 10810).
 * Not here: running the model (./tools.ts), aggregation (./report.ts), fuzzy semantic matching.
 */
import { parseCommands } from '../chat/commands.js';
import { fieldBody, type TurnFields } from '../chat/format.js';
import { parseFields } from '../chat/parse.js';
import type { Expectation } from '../data/synth-plugins.js';

/** The raw texts the model produced in one turn (control tokens included), one per generation call. */
export interface TurnOutputs {
  calls: { text: string; stopped: boolean }[];
}

export interface ItemScore {
  wellFormed: boolean;
  rightPlugin: boolean;
  /** null: not applicable (no command expected). */
  rightArgs: boolean | null;
  /** null: not applicable (no plugin answer to repeat: drawings, chit-chat). */
  rightAnswer: boolean | null;
  /**
   * The reply repeats the number(s) the plugin actually returned in this turn, right argument or not
   * (calculator and solver only; null otherwise or when the plugin gave no result).
   */
  repeatsResult: boolean | null;
  commands: { name: string; arg: string }[];
  reply: string;
}

const norm = (s: string): string => s.replace(/\s+/g, '').replace(/，/g, ',').toLowerCase();

/** Does `text` contain the number `num` as a whole number (not inside a longer number)? */
export function containsNumber(text: string, num: string): boolean {
  const esc = num.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(?<![\\d.])${esc}(?![\\d]|\\.\\d)`).test(text);
}

/** Does the reply contain every part of the expected answer? */
export function replyHasAnswer(reply: string, e: Expectation): boolean | null {
  if (e.answer === null || e.kind === 'image' || e.kind === 'chat') return null;
  if (e.kind === 'calc') return containsNumber(reply, e.answer);
  if (e.kind === 'solve') {
    // "x = 3, y = -1", "x_0 = 3, x_1 = 4", "a = -1/2": every "name = value" must be there (spacing free), values whole
    const r = norm(reply);
    return e.answer.split(/,\s*/).every((part) => containsNumber(r, norm(part)));
  }
  return norm(reply).includes(norm(e.answer));
}

/** The calculator value or solver lines in a Tool Responses field, as an answer string ("x = 1, y = 2"); null if none. */
export function toolAnswer(results: string, kind: 'calc' | 'solve'): string | null {
  if (kind === 'calc') {
    const m = /^Calculate\(.*\) => '([^']*)'$/m.exec(results);
    return m && m[1] !== 'No result.' ? m[1] : null;
  }
  const m = /^Solve\(.*\) =>\n/m.exec(results);
  const body = m ? results.slice(m.index + m[0].length).split('<eor>')[0] : '';
  const lines = m ? body.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'No result.') : [];
  return lines.length ? lines.join(', ') : null;
}

/** Well-formed: first call `<|Inner Thoughts|>: …<eot>\n<|Commands|>: …<eoc>`, reply call ends with `<eom>`. */
export function wellFormed(out: TurnOutputs): boolean {
  const [first, second] = out.calls;
  if (!first || !first.stopped) return false;
  const fields = parseFields(first.text);
  const names = fields.map((f) => f.name);
  if (names.join('|') !== 'Inner Thoughts|Commands' || !fields.every((f) => f.closed)) return false;
  const cmdBody = fields[1].body.trim();
  if (cmdBody !== 'None' && parseCommands(cmdBody).length === 0) return false;
  if (!second || !second.stopped || !second.text.endsWith('<eom>')) return false;
  return !/<\|(Human|Inner Thoughts|Commands|Results|MOSS)\|>|<eo[htcr]>/.test(second.text);
}

/**
 * Scores one turn. `searchFinds(query)`: whether a Search with that query returns the expected
 * answer (the right argument for Search is one that finds it; the wording is free).
 */
export function scoreTurn(turn: TurnFields, out: TurnOutputs, e: Expectation, searchFinds: (query: string) => boolean): ItemScore {
  const commands = parseCommands(turn.Commands ? fieldBody('Commands', turn.Commands) : '');
  const reply = turn.MOSS ? fieldBody('MOSS', turn.MOSS) : '';
  const rightPlugin = e.command === null ? commands.length === 0 : commands.length === 1 && commands[0].name === e.command;
  let rightArgs: boolean | null = null;
  if (e.command !== null) {
    if (!rightPlugin) rightArgs = false;
    else if (e.kind === 'search') rightArgs = searchFinds(commands[0].arg);
    else rightArgs = norm(commands[0].arg) === norm(e.arg ?? '');
  }
  let repeatsResult: boolean | null = null;
  if ((e.kind === 'calc' || e.kind === 'solve') && rightPlugin && turn['Tool Responses']) {
    const got = toolAnswer(turn['Tool Responses'], e.kind);
    if (got !== null) repeatsResult = replyHasAnswer(reply, { ...e, answer: got });
  }
  return { wellFormed: wellFormed(out), rightPlugin, rightArgs, rightAnswer: replyHasAnswer(reply, e), repeatsResult, commands, reply };
}
