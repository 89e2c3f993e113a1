/**
 * JSON Schema -> grammar (./grammar.ts): every sentence of the grammar is JSON that validates
 * against the schema (draft 2020-12 / OpenAI structured-outputs subset). Follows the shape of
 * llama.cpp's json-schema-to-grammar: properties in declared order (required ones always, optional
 * ones each maybe, commas placed by a two-state chain), enums and const as literal alternatives,
 * anyOf/oneOf as alternation, local `$ref`s to `#/$defs/...`, and a generic JSON value (recursive)
 * wherever the schema allows anything. Layout: compact, with one optional space after `:` and `,`.
 * Numbers are bounded (16 integer digits, 6 fraction digits, 2 exponent digits) so the model
 * cannot run on forever inside one (a small model happily repeats digits).
 * Deliberately refused (UnsupportedSchema naming the keyword, a 400 at the server): anything the
 * grammar could not guarantee — recursive `$ref` cycles, patternProperties, pattern, format,
 * numeric bounds other than small integer ranges and `minimum: 0`, uniqueItems, tuples, not,
 * if/then/else, enums of more than 256 values, and unknown keywords.
 */
import { GrammarBuilder, type Grammar, type Item } from './grammar.js';

/** A schema the grammar cannot express; `keyword` names the part. */
export class UnsupportedSchema extends Error {
  constructor(readonly keyword: string, message: string, readonly path: string) {
    super(`${path ? `${path}: ` : ''}${message}`);
    this.name = 'UnsupportedSchema';
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

const META = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions', 'strict']);
const HANDLED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref', 'minLength', 'maxLength', 'minimum', 'maximum', 'nullable']);
export const MAX_ENUM = 256;
const MAX_REPEAT = 1000;

/** Compiles schemas into one builder (shared rules for the generic value and string pieces). */
export class SchemaCompiler {
  private readonly refs = new Map<string, Item>();
  private readonly active: string[] = [];
  private _value: Item | undefined;
  private _string: Item | undefined;
  private _char: Item | undefined;

  /**
   * `markupSafe`: no raw `<` inside strings (written `\u003c` instead), so that no string can spell a
   * chat format's markup (`<|MOSS|>:`, `<eom>`) that a reader of the text would take for structure.
   */
  constructor(readonly b: GrammarBuilder, private readonly root: unknown, private readonly markupSafe = false) {}

  /** Optional single space (after `:` and `,`, and before a top-level value). */
  ws(): Item {
    return this.b.opt(this.b.lit(' '));
  }

  /** One character of a JSON string body: printable ASCII but `"` and `\`, an escape, or a UTF-8 sequence. */
  char(): Item {
    if (this._char) return this._char;
    const b = this.b;
    const cont = b.range([0x80, 0xbf]);
    const hex = b.range([0x30, 0x39], [0x41, 0x46], [0x61, 0x66]);
    this._char = b.alt(
      [b.bytes((c) => c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c && !(this.markupSafe && c === 0x3c))],
      [...b.lit('\\'), b.alt([b.bytes((c) => '"\\/bfnrt'.includes(String.fromCharCode(c)))], [...b.lit('u'), hex, hex, hex, hex])],
      [b.range([0xc2, 0xdf]), cont],
      [b.range([0xe0, 0xef]), cont, cont],
      [b.range([0xf0, 0xf4]), cont, cont, cont],
    );
    return this._char;
  }

  string(min = 0, max = Infinity): Item[] {
    if (min === 0 && max === Infinity) {
      this._string ??= this.b.rule([[...this.b.lit('"'), this.b.star([this.char()]), ...this.b.lit('"')]]);
      return [this._string];
    }
    return [...this.b.lit('"'), ...this.b.repeat([this.char()], min, max), ...this.b.lit('"')];
  }

  private digits(min: number, max: number): Item[] {
    return this.b.repeat([this.b.range([0x30, 0x39])], min, max);
  }

  integer(nonNegative = false, maxDigits = 16): Item[] {
    const b = this.b;
    const body = b.alt(b.lit('0'), [b.range([0x31, 0x39]), ...this.digits(0, maxDigits - 1)]);
    return nonNegative ? [body] : [b.opt(b.lit('-')), body];
  }

  number(nonNegative = false): Item[] {
    const b = this.b;
    const frac = b.opt([...b.lit('.'), ...this.digits(1, 6)]);
    const exp = b.opt([b.bytes((c) => c === 0x65 || c === 0x45), b.opt([b.bytes((c) => c === 0x2b || c === 0x2d)]), ...this.digits(1, 2)]);
    return [...this.integer(nonNegative), frac, exp];
  }

  /** Any JSON value (recursive). */
  value(): Item {
    if (this._value) return this._value;
    const b = this.b;
    const id = b.reserve();
    this._value = { kind: 2, arg: id };
    const v = this._value;
    const member = [...this.string(), ...b.lit(':'), this.ws(), v];
    const obj = [...b.lit('{'), b.opt([...member, b.star([...b.lit(','), this.ws(), ...member])]), ...b.lit('}')];
    const arr = [...b.lit('['), b.opt([v, b.star([...b.lit(','), this.ws(), v])]), ...b.lit(']')];
    b.define(id, [obj, arr, this.string(), this.number(), b.lit('true'), b.lit('false'), b.lit('null')]);
    return v;
  }

  /** The grammar items of a value valid under `schema` (at `path`, for errors). */
  compile(schema: unknown, path = ''): Item[] {
    const b = this.b;
    const no = (kw: string, why: string): never => {
      throw new UnsupportedSchema(kw, why, path);
    };
    if (schema === true || (isObj(schema) && Object.keys(schema).every((k) => META.has(k)))) return [this.value()];
    if (schema === false) no('false', 'the schema `false` admits no value');
    if (!isObj(schema)) return no('schema', `a schema must be an object or a boolean, got ${JSON.stringify(schema)}`);
    for (const k of Object.keys(schema)) if (!META.has(k) && !HANDLED.has(k)) no(k, `${k} is not supported by constrained decoding`);
    if (schema.$ref !== undefined) return this.ref(schema, path);
    if (schema.allOf !== undefined) {
      if (!Array.isArray(schema.allOf)) no('allOf', 'allOf must be an array');
      const { allOf, ...rest } = schema;
      return this.compile((allOf as unknown[]).reduce<Obj>((acc, s, i) => merge(acc, s, `${path}/allOf/${i}`), rest), path);
    }
    for (const kw of ['anyOf', 'oneOf'] as const) {
      if (schema[kw] === undefined) continue;
      const list = schema[kw];
      if (!Array.isArray(list) || !list.length) no(kw, `${kw} must be a non-empty array`);
      const { [kw]: _, ...rest } = schema;
      void _;
      return [b.alt(...(list as unknown[]).map((s, i) => this.compile(isObj(s) ? merge(rest, s, `${path}/${kw}/${i}`) : s, `${path}/${kw}/${i}`)))];
    }
    if (schema.const !== undefined) return b.lit(JSON.stringify(schema.const));
    if (schema.enum !== undefined) {
      const e = schema.enum;
      if (!Array.isArray(e) || !e.length) no('enum', 'enum must be a non-empty array');
      const list = e as unknown[];
      if (list.length > MAX_ENUM) no('enum', `enum has ${list.length} values; constrained decoding takes at most ${MAX_ENUM}`);
      return [b.alt(...list.map((v) => b.lit(JSON.stringify(v))))];
    }
    let types: string[];
    if (typeof schema.type === 'string') types = [schema.type];
    else if (Array.isArray(schema.type)) types = schema.type as string[];
    else if (schema.type === undefined) types = schema.properties || schema.additionalProperties !== undefined ? ['object'] : schema.items ? ['array'] : ['object', 'array', 'string', 'number', 'boolean', 'null'];
    else return no('type', 'type must be a string or an array of strings');
    if (schema.nullable === true && !types.includes('null')) types = [...types, 'null'];
    const alts = types.map((t) => this.typed(t, schema, path));
    return alts.length === 1 ? alts[0] : [b.alt(...alts)];
  }

  private typed(t: string, s: Obj, path: string): Item[] {
    const b = this.b;
    const no = (kw: string, why: string): never => {
      throw new UnsupportedSchema(kw, why, path);
    };
    const count = (kw: string, def: number): number => {
      const v = s[kw];
      if (v === undefined) return def;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return no(kw, `${kw} must be a non-negative integer`);
      if (v > MAX_REPEAT) no(kw, `${kw} above ${MAX_REPEAT} is not supported by constrained decoding`);
      return v;
    };
    switch (t) {
      case 'null':
        return b.lit('null');
      case 'boolean':
        return [b.alt(b.lit('true'), b.lit('false'))];
      case 'string': {
        const min = count('minLength', 0);
        const max = count('maxLength', Infinity);
        if (min > max) no('minLength', 'minLength is above maxLength');
        return this.string(min, max);
      }
      case 'integer':
      case 'number': {
        let lo = s.minimum;
        let hi = s.maximum;
        // zod's .int() (and others) bound integers by the safe range, ±(2^53 - 1): kept by writing at most 15 digits
        const safe = t === 'integer' && ((typeof hi === 'number' && hi >= Number.MAX_SAFE_INTEGER) || (typeof lo === 'number' && lo <= -Number.MAX_SAFE_INTEGER));
        if (safe && typeof hi === 'number' && hi >= Number.MAX_SAFE_INTEGER) hi = undefined;
        if (safe && typeof lo === 'number' && lo <= -Number.MAX_SAFE_INTEGER) lo = undefined;
        if (lo === undefined && hi === undefined) return t === 'integer' ? this.integer(false, safe ? 15 : 16) : this.number();
        if (t === 'integer' && typeof lo === 'number' && typeof hi === 'number' && Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo && hi - lo <= 256) {
          const vals: Item[][] = [];
          for (let v = lo; v <= hi; v++) vals.push(b.lit(String(v)));
          return [b.alt(...vals)];
        }
        if (lo === 0 && hi === undefined) return t === 'integer' ? this.integer(true, safe ? 15 : 16) : this.number(true);
        const kw = hi !== undefined ? 'maximum' : 'minimum';
        return no(kw, `${kw} is supported only as minimum: 0 or an integer range of at most 257 values`);
      }
      case 'array': {
        const items = s.items;
        if (Array.isArray(items)) no('items', 'tuple items (an array) are not supported');
        const item = items === undefined ? [this.value()] : this.compile(items, `${path}/items`);
        const min = count('minItems', 0);
        const max = count('maxItems', Infinity);
        if (min > max) no('minItems', 'minItems is above maxItems');
        const sep = [...b.lit(','), this.ws(), ...item];
        let body: Item[];
        if (max === 0) body = [];
        else if (min === 0) body = [b.opt([...item, ...b.repeat(sep, 0, max - 1)])];
        else body = [...item, ...b.repeat(sep, min - 1, max - 1)];
        return [...b.lit('['), ...body, ...b.lit(']')];
      }
      case 'object':
        return this.object(s, path);
      default:
        return no('type', `unknown type ${JSON.stringify(t)}`);
    }
  }

  private object(s: Obj, path: string): Item[] {
    const b = this.b;
    const props = s.properties;
    if (props !== undefined && !isObj(props)) throw new UnsupportedSchema('properties', 'properties must be an object', path);
    const required = Array.isArray(s.required) ? (s.required as unknown[]).filter((r): r is string => typeof r === 'string') : [];
    const add = s.additionalProperties;
    if (!props || !Object.keys(props).length) {
      if (!required.length) {
        // no declared properties: {} or, where extra keys are allowed, any members of the given schema
        if (add === false) return b.lit('{}');
        const val = add === undefined || add === true ? [this.value()] : this.compile(add, `${path}/additionalProperties`);
        const member = [...this.string(), ...b.lit(':'), this.ws(), ...val];
        return [...b.lit('{'), b.opt([...member, b.star([...b.lit(','), this.ws(), ...member])]), ...b.lit('}')];
      }
    }
    const keys = Object.keys(props ?? {});
    for (const r of required) if (!keys.includes(r)) keys.push(r);
    const members = keys.map((k) => [...b.lit(JSON.stringify(k)), ...b.lit(':'), this.ws(), ...this.compile((props as Obj | undefined)?.[k] ?? true, `${path}/properties/${k}`)]);
    const req = keys.map((k) => required.includes(k));
    // chain(i, prev): members i.. given whether one was written before (then a comma leads)
    const memo = new Map<string, Item[]>();
    const chain = (i: number, prev: boolean): Item[] => {
      if (i === keys.length) return [];
      const key = `${i},${prev}`;
      const have = memo.get(key);
      if (have) return have;
      const lead = prev ? [...b.lit(','), this.ws()] : [];
      const take = [...lead, ...members[i], ...chain(i + 1, true)];
      const out = req[i] ? take : [b.alt(take, chain(i + 1, prev))];
      memo.set(key, out);
      return out;
    };
    return [...b.lit('{'), ...chain(0, false), ...b.lit('}')];
  }

  private ref(s: Obj, path: string): Item[] {
    const ref = s.$ref;
    const no = (why: string): never => {
      throw new UnsupportedSchema('$ref', why, path);
    };
    if (typeof ref !== 'string' || !ref.startsWith('#')) return no(`only local $refs (#/...) are supported, got ${JSON.stringify(ref)}`);
    if (Object.keys(s).some((k) => k !== '$ref' && !META.has(k))) no('$ref with sibling keywords is not supported');
    if (this.active.includes(ref)) no(`recursive $ref cycle (${[...this.active.slice(this.active.indexOf(ref)), ref].join(' -> ')}) is not supported`);
    const have = this.refs.get(ref);
    if (have) return [have];
    let target: unknown = this.root;
    for (const part of ref.slice(1).split('/').filter(Boolean)) {
      const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObj(target) ? target[key] : undefined;
      if (target === undefined) no(`$ref ${ref} does not resolve`);
    }
    this.active.push(ref);
    const item = this.b.rule([this.compile(target, ref)]);
    this.active.pop();
    this.refs.set(ref, item);
    return [item];
  }
}

/** Shallow merge of schema `s` into `base` (properties merged, required joined); conflicts refused. */
function merge(base: Obj, s: unknown, path: string): Obj {
  if (!isObj(s)) throw new UnsupportedSchema('allOf', 'subschemas must be objects', path);
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' && isObj(out.properties) && isObj(v)) out.properties = { ...out.properties, ...v };
    else if (k === 'required' && Array.isArray(out.required) && Array.isArray(v)) out.required = [...new Set([...out.required, ...v])];
    else if (out[k] !== undefined && !META.has(k) && JSON.stringify(out[k]) !== JSON.stringify(v)) throw new UnsupportedSchema(k, `conflicting ${k} in combined subschemas`, path);
    else out[k] = v;
  }
  return out;
}

/**
 * A grammar for one JSON value valid under `schema` (undefined: any JSON object, as
 * response_format json_object), an optional leading space, then one of the `end` special ids
 * (`markupSafe`: see SchemaCompiler).
 * Throws UnsupportedSchema.
 * @example jsonGrammar({ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, [eomId])
 */
export function jsonGrammar(schema: unknown, end: readonly number[], o: { markupSafe?: boolean } = {}): Grammar {
  const b = new GrammarBuilder();
  const c = new SchemaCompiler(b, schema, o.markupSafe);
  const body = schema === undefined ? c.compile({ type: 'object' }) : c.compile(schema);
  return b.build(b.rule([[c.ws(), ...body, b.alt(...end.map((id) => [b.special(id)]))]]));
}
