/**
 * One MOSS turn, for every caller (`moss chat`, `/moss`, `/v1/chat/completions` plain, tools and
 * `moss_plugins`, the tool-use eval): the prompt is rendered by ./format.ts (meta instruction, the
 * history that fits, the turn so far), the model's output is read back by ./parse.ts, and the turn
 * goes on as in the MOSS data (OpenMOSS/MOSS moss_cli_demo): with tools on the model writes
 * `<|Inner Thoughts|>: …<eot>\n<|Commands|>: …<eoc>`; commands are run (`run`) and their
 * `<|Results|>:` written — or, without `run`, handed back to the caller (OpenAI tool calls); a
 * `None` command gets the `None` results; then the model writes `<|MOSS|>: …<eom>`. With tools
 * off the None fields are forced, as the SFT data has them. History that does not fit the
 * context drops its oldest turns (the meta instruction stays).
 * Deliberately no sampling or KV-cache logic: a `TokenGenerator` is the seam to src/generate.
 */
import type { Plugin } from '../plugins/types.js';
import { PluginError } from '../plugins/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { formatResults, parseCommands, type Command, type Outcome } from './commands.js';
import { defang, encodeSegments, fieldBody, fieldSegments, fieldText, noneFields, turnSegments, type FieldName, type Segment, type TurnFields } from './format.js';
import { anyPlugin, COMMAND_SWITCH, metaInstruction, qualityLine, type PluginSwitches, type QualityTag } from './meta.js';
import { FieldCollector, FieldStream } from './parse.js';

/** The model seam: yields new token ids after the prompt; stops at a stop id (which it yields) or maxNewTokens. */
export interface TokenGenerator {
  generate(promptIds: readonly number[], opts: { stopIds: readonly number[]; maxNewTokens: number; signal?: AbortSignal }): AsyncIterable<number>;
}

/** A MOSS conversation to continue. */
export interface Conversation {
  /** The meta instruction: ours (trusted) or a client's system text (untrusted). */
  readonly meta: readonly Segment[];
  /** Completed turns, oldest first. */
  readonly history: readonly TurnFields[];
  /** The turn being written: Human, possibly Inner Thoughts + Commands + Tool Responses sent back by a client. */
  readonly current: TurnFields;
  /** The model writes thoughts and commands before the reply (some tool or inner thoughts on). */
  readonly tools: boolean;
  /** Plugin switch lines are on: `<|Results|>:\nNone\n<eor>` layout for no command. */
  readonly pluginsOn: boolean;
}

/** The conversation of a chat session: our meta instruction for `switches`, `history`, a new user turn. */
export function conversation(switches: PluginSwitches, history: readonly TurnFields[], userText: string, quality?: QualityTag): Conversation {
  return {
    meta: [{ text: metaInstruction(switches) + (quality ? qualityLine(quality) : ''), trusted: true, loss: false }],
    history,
    current: { Human: fieldText('Human', ` ${defang(userText)}`) },
    tools: anyPlugin(switches) || switches.innerThoughts,
    pluginsOn: anyPlugin(switches),
  };
}

export type LoopEvent =
  /** Model or plugin text of a field as it arrives (`None` placeholders left out); `done` on its last piece. */
  | { readonly type: 'field'; readonly field: FieldName; readonly text: string; readonly done: boolean }
  | { readonly type: 'command'; readonly name: string; readonly arg: string; readonly ok: boolean; readonly message?: string };

export interface TurnOptions {
  readonly model: TokenGenerator;
  readonly tokenizer: Tokenizer;
  /** Context length of the model (prompt + generation). Default 2048. */
  readonly maxContext?: number;
  readonly maxNewTokens?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: LoopEvent) => void;
  /** Every generated id, in order, before its text is read: the field being written when it began
   *  (undefined between fields) and whether it is one of the generation's stop ids (log-probabilities of the reply). */
  readonly onToken?: (id: number, field: FieldName | undefined, stop: boolean) => void;
  /** Runs a turn's commands; null (or no `run`): the turn ends at its commands, the caller runs them (OpenAI tool calls). */
  readonly run?: (cmds: readonly Command[]) => Promise<Outcome[] | null>;
  /** The server's way: never drop old turns to make room (a prompt that does not fit is the client's 400),
   *  and `maxNewTokens` bounds the whole turn rather than each generation. */
  readonly keepHistory?: boolean;
  /** Body the Commands field is forced to start with (a named tool choice), e.g. ` Search("`. */
  readonly forceCommand?: string;
  /** Commands run per turn at most (default 8). */
  readonly maxCommands?: number;
}

export interface TurnResult {
  /** The turn's fields (append to the history); without Results and MOSS when it ended at tool calls. */
  readonly turn: TurnFields;
  /** The reply text (the MOSS body), '' when there is none. */
  readonly reply: string;
  readonly commands: readonly Command[];
  readonly finish: 'stop' | 'length' | 'abort' | 'tool_calls';
  /** Prompt tokens of every generation, summed. */
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Prompt ids: meta, the newest history that leaves `reserve` tokens free, then `tail`. */
function fit(tok: Tokenizer, meta: number[], hist: number[][], tail: readonly Segment[], ctx: number, reserve: number): number[] {
  const cur = encodeSegments(tok, tail).ids;
  let start = 0;
  const size = (): number => meta.length + hist.slice(start).reduce((s, h) => s + h.length, 0) + cur.length;
  while (start < hist.length && size() + reserve > ctx) start++;
  if (size() + Math.min(reserve, 16) > ctx) throw new Error(`prompt of ${size()} tokens does not fit the context of ${ctx}`);
  return [...meta, ...hist.slice(start).flat(), ...cur];
}

const isPlaceholder = (s: string): boolean => /^\s*(None)?\s*$/.test(s);

/** Runs the model through one turn of `conv` (see the file header). */
export async function runTurn(conv: Conversation, o: TurnOptions): Promise<TurnResult> {
  const tok = o.tokenizer;
  const ctx = o.maxContext ?? 2048;
  const maxNew = o.maxNewTokens ?? 512;
  const idOf = (t: string): number => {
    const v = tok.tokenToId(t);
    if (v === undefined) throw new Error(`tokenizer has no ${t} token (not a MOSS tokenizer?)`);
    return v;
  };
  const meta = encodeSegments(tok, conv.meta).ids;
  const hist = conv.history.map((t) => encodeSegments(tok, turnSegments(t)).ids);
  const turn: TurnFields = { ...conv.current };
  let promptTokens = 0;
  let completionTokens = 0;
  let finish: TurnResult['finish'] = 'stop';

  /** Generates after the turn so far (+ an open field) until one of `stops`; returns the fields written. */
  const gen = async (stops: string[], open?: { field: FieldName; body: string }) => {
    const stopIds = [...stops.map(idOf), ...(tok.tokenToId('<|endoftext|>') !== undefined ? [idOf('<|endoftext|>')] : [])];
    const tail = [...turnSegments(turn), ...(open ? fieldSegments(open.field, open.body, undefined, true) : [])];
    const p = fit(tok, meta, hist, tail, ctx, o.keepHistory ? 1 : maxNew);
    promptTokens += p.length;
    const fs = new FieldStream(open?.field, !!open?.body);
    const fields = new FieldCollector();
    const dec = tok.streamDecoder();
    let stopped = false;
    let n = 0;
    /** A reply or the commands are complete (by their end token or a repair): nothing more to read. */
    let complete = false;
    const emit = (pieces: ReturnType<FieldStream['push']>): void => {
      fields.add(pieces);
      for (const piece of pieces) {
        if (piece.placeholder) continue;
        o.onEvent?.({ type: 'field', field: piece.field, text: piece.text, done: piece.done });
        if (piece.done && (piece.field === 'MOSS' || piece.field === 'Commands')) complete = true;
      }
    };
    const budget = o.keepHistory ? maxNew - completionTokens : maxNew;
    const ac = new AbortController(); // ends the generation early (a header the model wrote mid-reply)
    const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
    for await (const t of o.model.generate(p, { stopIds, maxNewTokens: Math.min(budget, ctx - p.length), signal })) {
      n++;
      o.onToken?.(t, fs.current, stopIds.includes(t));
      emit(fs.push(dec.push(t)));
      if (stopIds.includes(t) || complete) {
        stopped = true;
        ac.abort();
        break;
      }
    }
    emit(fs.push(dec.flush()));
    emit(fs.end());
    completionTokens += n;
    if (!stopped) finish = o.signal?.aborted ? 'abort' : 'length';
    if (open?.body) {
      const first = fields.fields[0];
      if (first?.name === open.field) fields.fields[0] = { ...first, body: open.body.replace(/^ /, '') + first.body };
    }
    return { fields: fields.fields, stopped };
  };
  const set = (name: FieldName, body: string): void => {
    turn[name] = fieldText(name, name === 'Tool Responses' && body.startsWith('\n') ? body : ` ${body}`);
  };
  const result = (reply: string, commands: readonly Command[] = []): TurnResult => ({ turn, reply, commands, finish, promptTokens, completionTokens });

  let commands: Command[] = [];
  if (!conv.tools && turn['Tool Responses'] === undefined) Object.assign(turn, noneFields(conv.pluginsOn));
  if (turn['Tool Responses'] === undefined && turn.Commands === undefined) {
    // the model writes thoughts and commands, or answers at once
    const forced = o.forceCommand !== undefined;
    if (forced) turn['Inner Thoughts'] = fieldText('Inner Thoughts', ' None');
    const first = await gen(['<eoc>', '<eom>'], forced ? { field: 'Commands', body: o.forceCommand! } : undefined);
    if (!first.stopped && o.signal?.aborted) return result('');
    if (!first.stopped && o.keepHistory && completionTokens >= maxNew) {
      // the budget ran out inside the first phase: the calls finished before the cut are kept
      // (finish 'length'; the caller may hand them on), the one cut short is dropped
      for (const f of first.fields) if (f.name === 'Inner Thoughts' || f.name === 'Commands') set(f.name, f.body);
      const done = turn.Commands === undefined ? [] : parseCommands(fieldBody('Commands', turn.Commands)).slice(0, o.maxCommands ?? 8);
      return result('', done);
    }
    finish = 'stop'; // a first phase cut at its budget still gets its reply
    for (const f of first.fields) if (f.name === 'Inner Thoughts' || f.name === 'Commands') set(f.name, f.body);
    const reply = first.fields.filter((f) => f.name === 'MOSS' && !isPlaceholder(f.body)).pop();
    turn['Inner Thoughts'] ??= fieldText('Inner Thoughts', ' None');
    turn.Commands ??= fieldText('Commands', ' None');
    commands = parseCommands(fieldBody('Commands', turn.Commands)).slice(0, o.maxCommands ?? 8);
    if (reply && !commands.length) {
      // answered without tools: the None results the data has between
      turn['Tool Responses'] = noneFields(conv.pluginsOn)['Tool Responses'];
      set('MOSS', reply.body);
      return result(reply.body);
    }
    const outcomes = commands.length ? ((await o.run?.(commands)) ?? null) : [];
    if (outcomes === null) {
      finish = 'tool_calls';
      return result('', commands);
    }
    turn['Tool Responses'] = formatResults(commands, outcomes, conv.pluginsOn);
    if (commands.length) o.onEvent?.({ type: 'field', field: 'Tool Responses', text: fieldBody('Tool Responses', turn['Tool Responses']).replace(/^\n/, ''), done: true });
  } else if (turn['Tool Responses'] === undefined) {
    turn['Tool Responses'] = noneFields(conv.pluginsOn)['Tool Responses'];
  }
  if (o.signal?.aborted || (o.keepHistory && completionTokens >= maxNew)) {
    finish = o.signal?.aborted ? 'abort' : 'length';
    return result('', commands);
  }
  const out = await gen(['<eom>'], { field: 'MOSS', body: '' });
  const reply = out.fields.filter((f) => f.name === 'MOSS' && !isPlaceholder(f.body)).pop()?.body ?? '';
  set('MOSS', reply);
  return result(reply, commands);
}

/** What `chatTurn` needs besides the turn options: the plugins and the switches. */
export interface LoopOptions extends Omit<TurnOptions, 'run'> {
  readonly plugins: ReadonlyMap<string, Plugin>;
  readonly switches: PluginSwitches;
  readonly pluginTimeoutMs?: number;
  /** Quality tag for a steer-trained model (`moss train steer`), put at the end of the meta instruction. */
  readonly quality?: QualityTag;
}

/** Runs commands with MOSS's plugins: disabled or unknown ones and failures become outcomes, each under a timeout. */
export function pluginRunner(o: Pick<LoopOptions, 'plugins' | 'switches' | 'pluginTimeoutMs' | 'signal' | 'onEvent'>): (cmds: readonly Command[]) => Promise<Outcome[]> {
  return async (cmds) => {
    const out: Outcome[] = [];
    for (const c of cmds) {
      const r = await runOne(o.plugins.get(c.name), c.name, c.arg, o);
      o.onEvent?.({ type: 'command', name: c.name, arg: c.arg, ok: r.ok, message: r.ok ? undefined : r.message });
      out.push(r);
    }
    return out;
  };
}

async function runOne(plugin: Plugin | undefined, name: string, arg: string, o: Pick<LoopOptions, 'switches' | 'pluginTimeoutMs' | 'signal'>): Promise<Outcome> {
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
 * One user turn of a chat session against `history`, plugins run locally; returns the new turn's
 * fields (append it to the history yourself).
 */
export async function chatTurn(history: readonly TurnFields[], userText: string, o: LoopOptions): Promise<TurnFields> {
  return (await runTurn(conversation(o.switches, history, userText, o.quality), { ...o, run: pluginRunner(o) })).turn;
}
