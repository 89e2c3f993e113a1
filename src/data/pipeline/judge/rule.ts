/**
 * The rule judge for verifiable MOSS turns (no endpoint): in the last turn of context + response,
 * every command must be well-formed (`Name("arg")` calls of known plugins, nothing else but list
 * separators, and accepted by the plugin), and when the turn calls Calculate or Solve, the MOSS
 * reply must contain the plugin's result (numbers compared as numbers, 1e-6 relative). Score 1:
 * correct; 0: malformed command or wrong result; null: nothing verifiable (no math command, or no
 * reply yet). The results come from our real plugins (src/plugins), not from the transcript.
 * Deliberately no judgement of style or helpfulness.
 */
import { fieldsFrom, parseCommands, ROLE } from '../moss-format.js';
import { calculate, solve } from '../../../plugins/index.js';

export interface RuleVerdict {
  readonly score: 0 | 1 | null;
  readonly reason: string;
}

const KNOWN = new Set(['Search', 'Calculate', 'Solve', 'Text2Image']);
const NUM = /-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi;

/** True when `n` appears among the numbers of `text` (1e-6 relative, or exact string for huge values). */
export function containsNumber(text: string, n: string): boolean {
  const want = Number(n);
  const plain = text.replace(/(\d),(?=\d{3})/g, '$1'); // 1,234 -> 1234
  if (plain.includes(n)) return true;
  if (!Number.isFinite(want)) return false;
  return [...plain.matchAll(NUM)].some((m) => {
    const v = Number(m[0]);
    return Math.abs(v - want) <= 1e-6 * Math.max(1, Math.abs(want));
  });
}

/** The fields of the last turn of `text` (from its last `<|Human|>:`, or from the start). */
function lastTurn(text: string): ReturnType<typeof fieldsFrom>['fields'] {
  const at = text.lastIndexOf(ROLE.Human.head);
  const from = at < 0 ? text.search(/<\|(Inner Thoughts|Commands|Results|MOSS)\|>:/) : at;
  return from < 0 ? [] : fieldsFrom(text, from).fields;
}

/** Judges one response in its context (the context may end inside the turn, e.g. at `<|MOSS|>:`). */
export function ruleJudge(context: string, response: string): RuleVerdict {
  const fields = lastTurn(context + response);
  const cmdField = fields.find((f) => f.name === 'Commands');
  const body = cmdField?.body.trim() ?? 'None';
  const expected: string[] = [];
  if (body !== 'None' && body !== '') {
    const cmds = parseCommands(body);
    const rest = body.replace(/([A-Za-z][A-Za-z0-9_]*)\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)/g, '');
    if (!cmds.length || !/^[\s,;，、.0-9]*$/.test(rest)) return { score: 0, reason: `malformed command: ${body.slice(0, 80)}` };
    for (const c of cmds) {
      if (!KNOWN.has(c.name)) return { score: 0, reason: `unknown command ${c.name}` };
      try {
        if (c.name === 'Calculate') expected.push(calculate(c.arg));
        if (c.name === 'Solve') expected.push(...solve(c.arg).map((l) => l.split('=').pop()!.trim()));
      } catch (e) {
        return { score: 0, reason: `${c.name}("${c.arg}") rejected: ${(e as Error).message}` };
      }
    }
  }
  if (!expected.length) return { score: null, reason: 'no Calculate/Solve command to verify' };
  const reply = fields.find((f) => f.name === 'MOSS');
  if (!reply) return { score: null, reason: 'no MOSS reply to verify' };
  const missing = expected.filter((v) => !containsNumber(reply.body, v));
  return missing.length ? { score: 0, reason: `reply lacks the plugin result ${missing.join(', ')}` } : { score: 1, reason: `reply has the plugin result ${expected.join(', ')}` };
}
