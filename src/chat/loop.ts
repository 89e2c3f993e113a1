/**
 * The MOSS plugin loop (OpenMOSS/MOSS README, moss_cli_demo): the prompt is the meta instruction,
 * the kept history and `<|Human|>: …<eoh>\n`; the model writes `<|Inner Thoughts|>: …<eot>\n
 * <|Commands|>: …<eoc>`; the loop runs the commands (with timeouts) and appends the
 * `<|Results|>:` field; the model then writes `<|MOSS|>: …<eom>`. With every tool and inner
 * thoughts off, the None fields are forced, as the SFT data has them. User and plugin text is
 * neutralised and encoded with special: 'none', so it can never become a control token.
 * History that does not fit the context drops its oldest turns (the meta instruction stays).
 * Deliberately no sampling or KV-cache logic: a `TokenGenerator` is the seam to src/generate.
 */
import type { Plugin } from '../plugins/types.js';
import { PluginError } from '../plugins/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { formatResults, parseCommands, type Outcome } from './commands.js';
import { neutralize, parseFields, ROLE, type TurnFields } from './format.js';
import { anyPlugin, COMMAND_SWITCH, metaInstruction, type PluginSwitches } from './meta.js';

/** The model seam: yields new token ids after the prompt; stops at a stop id (which it yields) or maxNewTokens. */
export interface TokenGenerator {
  generate(promptIds: readonly number[], opts: { stopIds: readonly number[]; maxNewTokens: number; signal?: AbortSignal }): AsyncIterable<number>;
}

export interface LoopOptions {
  readonly model: TokenGenerator;
  readonly tokenizer: Tokenizer;
  readonly plugins: ReadonlyMap<string, Plugin>;
  readonly switches: PluginSwitches;
  /** Context length of the model (prompt + generation). Default 2048. */
  readonly maxContext?: number;
  readonly maxNewTokens?: number;
  readonly pluginTimeoutMs?: number;
  readonly maxCommands?: number;
  readonly signal?: AbortSignal;
  /** Progress for a UI: streamed text, commands run, plugin messages (e.g. "not configured"). */
  readonly onEvent?: (e: LoopEvent) => void;
}

export type LoopEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'command'; readonly name: string; readonly arg: string; readonly ok: boolean; readonly message?: string };

/** A prompt piece: model-written text keeps control tokens; user/plugin text never does. */
interface Piece { readonly text: string; readonly trusted: boolean }

function encodePieces(tok: Tokenizer, pieces: readonly Piece[]): number[] {
  return pieces.flatMap((p) => tok.encode(p.text, { special: p.trusted ? 'allow' : 'none' }));
}

/** A field from untrusted text: header and end token trusted, body not. */
function untrustedField(head: string, body: string, end: string): Piece[] {
  return [{ text: head, trusted: true }, { text: body, trusted: false }, { text: `${end}\n`, trusted: true }];
}

/** Pieces of a stored turn: Human and Tool Responses bodies are untrusted, the rest model text. */
function turnPieces(t: TurnFields): Piece[] {
  const out: Piece[] = [];
  for (const [k, v] of Object.entries(t)) {
    if (k === 'Human' || k === 'Tool Responses') {
      const { head, end } = k === 'Human' ? ROLE.Human : ROLE['Tool Responses'];
      const body = v.slice(head.length, v.lastIndexOf(end));
      out.push(...untrustedField(head, body, end));
    } else out.push({ text: v, trusted: true });
  }
  return out;
}

async function runOne(plugin: Plugin | undefined, name: string, arg: string, o: LoopOptions): Promise<Outcome> {
  if (!plugin) return { ok: false, message: `unknown plugin ${name}` };
  if (!o.switches[COMMAND_SWITCH[name]]) return { ok: false, message: `${name} is disabled` };
  const ac = new AbortController();
  const ms = o.pluginTimeoutMs ?? 10_000;
  const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => { ac.abort(); rej(new PluginError('timeout', `${name} timed out after ${ms} ms`)); }, ms); });
  try {
    return { ok: true, result: await Promise.race([plugin.run(arg, { signal, timeoutMs: ms }), timeout]) };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one user turn against `history` (completed turns, oldest first) and returns the new turn's
 * fields (append it to the history yourself).
 */
export async function chatTurn(history: readonly TurnFields[], userText: string, o: LoopOptions): Promise<TurnFields> {
  const tok = o.tokenizer;
  const ctx = o.maxContext ?? 2048;
  const maxNew = o.maxNewTokens ?? 512;
  const id = (t: string): number => {
    const v = tok.tokenToId(t);
    if (v === undefined) throw new Error(`tokenizer has no ${t} token (not a MOSS tokenizer?)`);
    return v;
  };
  const meta = encodePieces(tok, [{ text: metaInstruction(o.switches), trusted: true }]);
  const human = untrustedField(ROLE.Human.head, ` ${neutralize(userText)}`, ROLE.Human.end);
  const turn: TurnFields = { Human: `${ROLE.Human.head} ${neutralize(userText)}${ROLE.Human.end}\n` };
  const current: Piece[] = [...human];
  const tools = anyPlugin(o.switches) || o.switches.innerThoughts;

  // Oldest turns go first until the prompt plus a generation budget fits.
  const prompt = (): number[] => {
    const cur = encodePieces(tok, current);
    const hist = history.map((t) => encodePieces(tok, turnPieces(t)));
    let start = 0;
    const size = () => meta.length + hist.slice(start).reduce((s, h) => s + h.length, 0) + cur.length;
    while (start < hist.length && size() + maxNew > ctx) start++;
    if (size() + Math.min(maxNew, 16) > ctx) throw new Error(`prompt of ${size()} tokens does not fit the context of ${ctx}`);
    return [...meta, ...hist.slice(start).flat(), ...cur];
  };
  const gen = async (stops: string[]): Promise<string> => {
    const ids: number[] = [];
    const stopIds = stops.map(id);
    const dec = tok.streamDecoder();
    const p = prompt();
    for await (const t of o.model.generate(p, { stopIds, maxNewTokens: Math.min(maxNew, ctx - p.length), signal: o.signal })) {
      ids.push(t);
      const s = dec.push(t);
      if (s) o.onEvent?.({ type: 'text', text: s });
      if (stopIds.includes(t)) break;
    }
    return tok.decode(ids);
  };

  if (!tools) {
    // As in the no-plugin SFT data: the None fields are part of the prompt, the model writes the reply.
    const nones = '<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n<|Results|>: None<eor>\n';
    current.push({ text: `${nones}${ROLE.MOSS.head}`, trusted: true });
    const out = await gen(['<eom>']);
    Object.assign(turn, { 'Inner Thoughts': '<|Inner Thoughts|>: None<eot>\n', Commands: '<|Commands|>: None<eoc>\n', 'Tool Responses': '<|Results|>: None<eor>\n' });
    turn.MOSS = closeField(`${ROLE.MOSS.head}${out}`, '<eom>');
    return turn;
  }

  const first = await gen(['<eoc>', '<eom>']);
  const { fields } = parseFields(first);
  for (const f of fields) if (f.name === 'Inner Thoughts' || f.name === 'Commands' || f.name === 'MOSS') turn[f.name] = closeField(f.text, ROLE[f.name].end);
  if (turn.MOSS) return turn; // the model answered without tools
  turn['Inner Thoughts'] ??= '<|Inner Thoughts|>: None<eot>\n';
  turn.Commands ??= '<|Commands|>: None<eoc>\n';
  const cmds = parseCommands(fields.find((f) => f.name === 'Commands')?.body ?? '').slice(0, o.maxCommands ?? 8);
  const outcomes: Outcome[] = [];
  for (const c of cmds) {
    const r = await runOne(o.plugins.get(c.name), c.name, c.arg, o);
    o.onEvent?.({ type: 'command', name: c.name, arg: c.arg, ok: r.ok, message: r.ok ? undefined : r.message });
    outcomes.push(r);
  }
  turn['Tool Responses'] = formatResults(cmds, outcomes, anyPlugin(o.switches));
  current.push({ text: turn['Inner Thoughts'] + turn.Commands, trusted: true }, ...turnPieces({ 'Tool Responses': turn['Tool Responses'] }), { text: ROLE.MOSS.head, trusted: true });
  const reply = await gen(['<eom>']);
  turn.MOSS = closeField(`${ROLE.MOSS.head}${reply}`, '<eom>');
  return turn;
}

/** Ensures a field ends with its end token and `\n` (a generation may stop at the token budget). */
function closeField(text: string, end: string): string {
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  return `${t.endsWith(end) ? t : t + end}\n`;
}
