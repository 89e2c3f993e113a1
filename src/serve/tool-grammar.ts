/**
 * The grammars that keep a MOSS tools turn and a `response_format` reply valid (constrained
 * decoding, src/generate/constrain): the tool-call text `Name("arg")` (a one-string-parameter tool,
 * MOSS's own plugin layout) or `Name({...})` (any other `parameters` schema, the arguments object
 * as JSON that validates), several calls joined by `, ` as in the MOSS data, then `<eoc>`.
 *  - tool_choice "auto": the whole first phase — `<|Inner Thoughts|>: …<eot>\n<|Commands|>: None`
 *    or calls `<eoc>`, or an answer at once `<|MOSS|>: …<eom>`;
 *  - "required": the Commands field is opened for the model (thoughts `None`), one or more calls
 *    (at most MAX_CALLS; one with `parallel_tool_calls: false`);
 *  - a named function: the field is opened with ` Name(` and the model writes its arguments;
 *  - "none": no tools are shown and the None fields are forced (./chat-run.ts), so no grammar.
 * Schemas the grammar cannot express are a 400 naming the keyword (`checkSchemas`), before any
 * generation. Deliberately no generation and no prompt rendering here.
 */
import { GrammarBuilder, SchemaCompiler, UnsupportedSchema, jsonGrammar, type Grammar, type Item } from '../generate/constrain/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { ApiError } from './errors.js';
import { commandName, stringParam, type ToolMap } from './prompt.js';
import type { ToolChoice, ToolDef } from './validate.js';

/** The special ids the MOSS turn grammars end fields with. */
export interface TurnIds {
  readonly eot: number;
  readonly eoc: number;
  readonly eom: number;
}

/** The ids of `<eot>`, `<eoc>`, `<eom>`, or null for a tokenizer without them. */
export function turnIds(tok: Tokenizer): TurnIds | null {
  const [eot, eoc, eom] = ['<eot>', '<eoc>', '<eom>'].map((t) => tok.tokenToId(t));
  return eot === undefined || eoc === undefined || eom === undefined ? null : { eot, eoc, eom };
}

/** What `response_format` asks for: any JSON object, or JSON valid under a schema. */
export type JsonFormat = { readonly type: 'json_object' } | { readonly type: 'json_schema'; readonly schema: unknown };

const unsupported = (e: unknown, param: string): never => {
  if (e instanceof UnsupportedSchema) throw new ApiError(400, `${param}: ${e.message}`, 'invalid_request_error', param, 'unsupported_schema');
  throw e;
};

/** The parameters schema as an object schema. */
function argsSchema(t: ToolDef): unknown {
  const p = t.parameters ?? {};
  return p.type === undefined && !p.anyOf && !p.oneOf && !p.allOf && !p.$ref ? { ...p, type: 'object' } : p;
}

/** Throws a 400 naming the unsupported keyword when a tool's parameters or the response format cannot be constrained. */
export function checkSchemas(tools: readonly ToolDef[], format?: JsonFormat): void {
  tools.forEach((t, i) => {
    if (stringParam(t)) return;
    try {
      jsonGrammar(argsSchema(t), [0]);
    } catch (e) {
      unsupported(e, `tools[${i}].function.parameters`);
    }
  });
  if (format?.type === 'json_schema') {
    try {
      jsonGrammar(format.schema, [0]);
    } catch (e) {
      unsupported(e, 'response_format.json_schema.schema');
    }
  }
}

/** The reply grammar of a response format: JSON then `end`. */
export function formatGrammar(format: JsonFormat, end: readonly number[]): Grammar {
  return jsonGrammar(format.type === 'json_schema' ? format.schema : undefined, end, { markupSafe: true });
}

/** Calls per turn at most with parallel_tool_calls (the chat loop takes 8; a small model may repeat itself). */
export const MAX_CALLS = 4;

class ToolGrammar {
  readonly b = new GrammarBuilder();
  readonly c = new SchemaCompiler(this.b, undefined, true);

  /** The body of a MOSS double-quoted argument: no `"`, `\` or newline unescaped, no `<` (markup). */
  quoted(t: ToolDef): Item[] {
    const b = this.b;
    const en = stringParam(t)?.schema.enum;
    if (Array.isArray(en)) return [b.alt(...en.filter((v): v is string => typeof v === 'string' && !v.includes('\n')).map((v) => b.lit(v.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))))];
    const cont = b.range([0x80, 0xbf]);
    const ch = b.alt(
      [b.bytes((x) => x >= 0x20 && x < 0x80 && x !== 0x22 && x !== 0x5c && x !== 0x3c)],
      [...b.lit('\\'), b.bytes((x) => x === 0x22 || x === 0x27 || x === 0x5c)],
      [b.range([0xc2, 0xdf]), cont], [b.range([0xe0, 0xef]), cont, cont], [b.range([0xf0, 0xf4]), cont, cont, cont],
    );
    return [b.star([ch])];
  }

  /** What follows `Name(`: `"arg")` or `{...})`. */
  args(t: ToolDef): Item[] {
    const b = this.b;
    if (stringParam(t)) return [...b.lit('"'), ...this.quoted(t), ...b.lit('")')];
    return [...this.c.compile(argsSchema(t)), ...b.lit(')')];
  }

  call(t: ToolDef): Item[] {
    return [...this.b.lit(`${commandName(t)}(`), ...this.args(t)];
  }

  /** One to `max` calls of the offered tools, `, `-separated. */
  calls(tools: readonly ToolDef[], max: number): Item[] {
    const b = this.b;
    const one = b.alt(...tools.map((t) => this.call(t)));
    return [one, ...b.repeat([...b.lit(', '), one], 0, max - 1)];
  }
}

/** The prompt's forced start of the Commands body for a choice (undefined: the model starts the turn). */
export function forcedCommand(tools: ToolMap, choice: ToolChoice): string | undefined {
  if (choice === 'required') return '';
  if (typeof choice !== 'object') return undefined;
  const def = [...tools.byCommand.values()].find((d) => d.name === choice.name);
  return def ? ` ${commandName(def)}(${stringParam(def) ? '"' : ''}` : undefined;
}

/**
 * The grammar of a tools turn's first generation: the whole phase for "auto", the rest of the
 * Commands body after `forcedCommand` for "required" and a named tool. Throws UnsupportedSchema.
 */
export function commandsGrammar(tools: ToolMap, choice: ToolChoice, ids: TurnIds, parallel = true): Grammar {
  const max = parallel ? MAX_CALLS : 1;
  const g = new ToolGrammar();
  const b = g.b;
  const defs = [...tools.byCommand.values()];
  const eoc = b.special(ids.eoc);
  if (typeof choice === 'object') {
    const def = defs.find((d) => d.name === choice.name)!;
    const rest = stringParam(def) ? [...g.quoted(def), ...b.lit('")')] : [...g.c.compile(argsSchema(def)), ...b.lit(')')];
    return b.build(b.rule([[...rest, eoc]]));
  }
  if (choice === 'required') return b.build(b.rule([[b.opt(b.lit(' ')), ...g.calls(defs, max), eoc]]));
  const text = b.star([b.bytes((x) => x !== 0x3c)]); // no `<`: free text cannot spell the format's markup
  const body = b.alt(b.lit(' None'), [...b.lit(' '), ...g.calls(defs, max)]);
  const thoughts = [...b.lit('<|Inner Thoughts|>:'), text, b.special(ids.eot), ...b.lit('\n<|Commands|>:'), body, eoc];
  const reply = [...b.lit('<|MOSS|>:'), text, b.special(ids.eom)];
  return b.build(b.rule([thoughts, reply]));
}

/**
 * How a chat-template model writes tool calls, read from its template: Hermes / Qwen
 * `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`, Mistral `[TOOL_CALLS] [{…}, …]`, or
 * Llama 3.1's bare `{"name": …, "parameters": …}` (the forms src/chat/template-turn.ts parses).
 */
export type TemplateCallForm = 'hermes' | 'mistral' | 'json';

export function templateCallForm(template: string): TemplateCallForm {
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  return 'json';
}

/** Throws a 400 naming the unsupported keyword when a tool's parameters cannot be constrained as a JSON object. */
export function checkTemplateTools(tools: readonly ToolDef[]): void {
  tools.forEach((t, i) => {
    try {
      jsonGrammar(argsSchema(t), [0]);
    } catch (e) {
      unsupported(e, `tools[${i}].function.parameters`);
    }
  });
}

/**
 * The reply grammar of a chat-template model offered tools, then one of `end`:
 *  - "required": one or more calls (at most MAX_CALLS; one without parallel calls) of the offered
 *    tools in the template's form, arguments valid under each tool's schema;
 *  - a named function: one call of it;
 *  - "auto": those calls, or text that does not start like the call form (unconstrained after its first byte).
 * Throws UnsupportedSchema.
 */
export function templateCallsGrammar(tools: readonly ToolDef[], choice: Exclude<ToolChoice, 'none'>, form: TemplateCallForm, end: readonly number[], parallel = true): Grammar {
  const g = new ToolGrammar();
  const b = g.b;
  const defs = typeof choice === 'object' ? tools.filter((t) => t.name === choice.name) : tools;
  const key = form === 'json' ? 'parameters' : 'arguments';
  const one = b.alt(...defs.map((t) => [...b.lit(`{"name": ${JSON.stringify(t.name)}, "${key}": `), ...g.c.compile(argsSchema(t)), ...b.lit('}')]));
  const max = parallel && typeof choice !== 'object' && form !== 'json' ? MAX_CALLS : 1;
  let calls: Item[];
  if (form === 'hermes') {
    const tagged = [...b.lit('<tool_call>\n'), one, ...b.lit('\n</tool_call>')];
    calls = [...tagged, ...b.repeat([...b.lit('\n'), ...tagged], 0, max - 1)];
  } else if (form === 'mistral') calls = [...b.lit('[TOOL_CALLS] ['), one, ...b.repeat([...b.lit(', '), one], 0, max - 1), ...b.lit(']')];
  else calls = [one];
  const stop = b.alt(...end.map((id) => [b.special(id)]));
  if (choice !== 'auto') return b.build(b.rule([[...calls, stop]]));
  const first = { hermes: 0x3c, mistral: 0x5b, json: 0x7b }[form]; // `<`, `[`, `{`
  const text = b.opt([b.bytes((x) => x !== first), b.star([b.bytes(() => true)])]);
  return b.build(b.rule([[...calls, stop], [text, stop]]));
}
