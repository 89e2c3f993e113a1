/**
 * Constrained decoding (src/generate/constrain): JSON Schema -> grammar -> token mask, checked
 * against things we did not write. Every finished random walk under the mask (moss-tiny's real
 * BPE vocabulary, tokens spanning several JSON characters) must parse and validate with Ajv; the
 * mask's cached DFA + trie walk must equal the slow reference (`viablePrefix`: is prefix + token
 * still a prefix of some sentence) token by token; hand-written valid instances must be accepted;
 * schemas the grammar cannot express are refused naming the keyword; and real sampled decodes of
 * moss-tiny through the one generation step validate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { completeSentence, GrammarConstraint, GrammarMatcher, jsonGrammar, MatcherCache, TokenTrie, UnsupportedSchema, viablePrefix, vocabBytes, type Piece } from '../../src/generate/constrain/index.js';
import { generateAll } from '../../src/generate/index.js';
import { loadModel } from '../../src/models/load.js';
import { Generator } from '../../src/tensor/index.js';

const MODEL = join(process.cwd(), 'models/moss-tiny');
const tok = loadTokenizer(MODEL);
const trie = new TokenTrie(vocabBytes(tok));
const cache = new MatcherCache(trie);
const EOS = tok.eosId!;
const ajv = new Ajv({ strict: false });
const dec = new TextDecoder();

export const SCHEMAS: Record<string, unknown> = {
  calc: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'sub', 'mul', 'div'] } }, required: ['a', 'b', 'op'], additionalProperties: false },
  optional: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'boolean' }, z: { type: 'null' }, w: { type: 'string', maxLength: 5 } }, required: ['y'] },
  nested: {
    type: 'object',
    properties: {
      user: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 8 }, age: { type: 'integer', minimum: 0 } }, required: ['name', 'age'] },
      tags: { type: 'array', items: { type: 'string', maxLength: 4 }, maxItems: 3 },
      point: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    },
    required: ['user', 'tags', 'point'],
  },
  unions: { type: 'object', properties: { v: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 3 }, { type: 'null' }] }, k: { const: 'fixed' }, n: { type: ['number', 'null'] } }, required: ['v', 'k', 'n'] },
  refs: { $defs: { pt: { type: 'object', properties: { x: { type: 'integer', minimum: -3, maximum: 3 }, y: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['x', 'y'] } }, type: 'object', properties: { from: { $ref: '#/$defs/pt' }, to: { $ref: '#/$defs/pt' } }, required: ['from', 'to'] },
  anyObject: { type: 'object' },
  // zod's z.number().int() / .int().min(0): the safe-integer range as bounds
  safeInts: { type: 'object', properties: { n: { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }, k: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } }, required: ['n', 'k'] },
  mapOf: { type: 'object', additionalProperties: { type: 'integer' }, maxProperties: undefined },
  allOf: { allOf: [{ type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'] }, { properties: { b: { enum: [1, 'two', null, [3]] } }, required: ['b'] }] },
};
delete (SCHEMAS.mapOf as Record<string, unknown>).maxProperties;

/** Valid instances each schema must accept (compact, and with the spaces the grammar allows). */
const VALID: Record<string, unknown[]> = {
  calc: [{ a: 23, b: 47, op: 'mul' }, { a: -1.5e3, b: 0, op: 'div' }],
  optional: [{ y: true }, { x: -7, y: false, z: null, w: 'héllo' }],
  nested: [{ user: { name: 'A', age: 0 }, tags: [], point: [1, 2.5] }, { user: { name: 'Zoë "q"', age: 99 }, tags: ['a', 'bcd', ''], point: [-0.5, 1e2] }],
  unions: [{ v: 3, k: 'fixed', n: null }, { v: 'abc', k: 'fixed', n: 2.25 }, { v: null, k: 'fixed', n: 0 }],
  refs: [{ from: { x: -3, y: 0 }, to: { x: 3, y: 9 } }],
  anyObject: [{}, { a: [1, { b: null }], 'c d': 'e\n' }],
  safeInts: [{ n: -123456789012345, k: 0 }, { n: 7, k: 999999999999999 }],
  mapOf: [{}, { a: 1, b: -2 }],
  allOf: [{ a: true, b: [3] }, { a: false, b: 'two' }],
};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const spaced = (v: unknown): string => JSON.stringify(v).replace(/([:,])/g, '$1 ').replace(/"([^"]*)": /g, (m) => m); // crude: spaces in strings too, only used where strings hold no : or ,

test('valid instances are sentences of the schema grammar (compact and spaced layouts)', () => {
  for (const [name, vals] of Object.entries(VALID)) {
    const g = jsonGrammar(SCHEMAS[name], [EOS]);
    for (const v of vals) {
      assert.ok(ajv.validate(SCHEMAS[name] as object, v), `${name}: the instance itself is valid`);
      assert.ok(completeSentence(g, [enc(JSON.stringify(v)), EOS]), `${name}: ${JSON.stringify(v)}`);
      assert.ok(completeSentence(g, [enc(` ${JSON.stringify(v)}`), EOS]), `${name}: leading space`);
      const s = spaced(v);
      if (!/"[^"]*[:,][^"]*"/.test(JSON.stringify(v))) assert.ok(completeSentence(g, [enc(s), EOS]), `${name}: ${s}`);
    }
    assert.ok(!completeSentence(g, [enc(JSON.stringify(vals[0])), enc(' '), EOS]) || name === '', `${name}: no trailing space`);
  }
});

test('invalid instances are not sentences', () => {
  const bad: [string, string][] = [
    ['calc', '{"a":1,"b":2}'], ['calc', '{"a":1,"b":2,"op":"pow"}'], ['calc', '{"b":1,"a":2,"op":"add"}'], ['calc', '{"a":01,"b":2,"op":"add"}'],
    ['optional', '{"x":1.5,"y":true}'], ['optional', '{"y":true,"w":"toolong"}'], ['optional', '{}'],
    ['nested', '{"user":{"name":"","age":1},"tags":[],"point":[1,2]}'], ['nested', '{"user":{"name":"a","age":-1},"tags":[],"point":[1,2]}'], ['nested', '{"user":{"name":"a","age":1},"tags":[],"point":[1]}'],
    ['refs', '{"from":{"x":4,"y":0},"to":{"x":0,"y":0}}'], ['unions', '{"v":true,"k":"fixed","n":null}'], ['anyObject', '[]'], ['mapOf', '{"a":"x"}'],
  ];
  for (const [name, text] of bad) assert.ok(!completeSentence(jsonGrammar(SCHEMAS[name], [EOS]), [enc(text), EOS]), `${name} must refuse ${text}`);
});

test('schemas the grammar cannot express are refused, naming the keyword', () => {
  const cases: [unknown, string][] = [
    [{ $defs: { n: { type: 'object', properties: { next: { $ref: '#/$defs/n' } } } }, $ref: '#/$defs/n' }, '$ref'],
    [{ type: 'object', patternProperties: { '^a': { type: 'string' } } }, 'patternProperties'],
    [{ enum: Array.from({ length: 5000 }, (_, i) => `v${i}`) }, 'enum'],
    [{ type: 'string', pattern: '^a+$' }, 'pattern'],
    [{ type: 'string', format: 'email' }, 'format'],
    [{ type: 'number', maximum: 10 }, 'maximum'],
    [{ type: 'array', uniqueItems: true }, 'uniqueItems'],
    [{ not: { type: 'string' } }, 'not'],
    [{ $ref: 'http://example.com/s.json' }, '$ref'],
    [false, 'false'],
  ];
  for (const [schema, kw] of cases) {
    const t0 = performance.now();
    assert.throws(() => jsonGrammar(schema, [EOS]), (e: unknown) => e instanceof UnsupportedSchema && e.keyword === kw && e.message.includes(kw), kw);
    assert.ok(performance.now() - t0 < 1000, `${kw} refused at once`);
  }
});

/** A random walk under the mask; checks masks against the reference on sampled ids. */
function walk(schema: unknown, rng: Generator, check: boolean): { text: string; done: boolean; checked: number } {
  const g = jsonGrammar(schema, [EOS]);
  const c = cache.constraint(g);
  const lazy = new GrammarConstraint(new GrammarMatcher(g, trie)); // never builds a mask: allows() walks bytes
  const pieces: Piece[] = [];
  let checked = 0;
  for (let step = 0; step < 300; step++) {
    const allowed = c.matcher.allowed(c.state);
    if (check && step % 3 === 0) {
      // the mask equals the reference on every special id and on 24 random text ids (and a few allowed ones)
      const ids = [...trie.special, ...Array.from({ length: 24 }, () => Math.floor(rng.uniform() * trie.V))];
      const ok = [...allowed.keys()].filter((i) => allowed[i]);
      for (let k = 0; k < 6 && ok.length; k++) ids.push(ok[Math.floor(rng.uniform() * ok.length)]);
      for (const id of ids) {
        const piece: Piece = trie.special.has(id) ? id : trie.bytesOf(id);
        if (!trie.special.has(id) && (piece as Uint8Array).length === 0) continue;
        assert.equal(lazy.allows(id), allowed[id] === 1, `allows(${id}) without a mask = the mask`);
        assert.equal(allowed[id] === 1, viablePrefix(g, [...pieces, piece]), `mask of ${JSON.stringify(tok.idToToken(id))} after ${JSON.stringify(dec.decode(Buffer.concat(pieces.filter((p): p is Uint8Array => typeof p !== 'number'))))}`);
        checked++;
      }
    }
    let ok = [...allowed.keys()].filter((i) => allowed[i]);
    assert.ok(ok.length > 0, 'some token is always allowed before the end');
    // lean towards closing as the walk grows, so most walks finish
    if (rng.uniform() < Math.min(0.9, step / 40)) {
      const closing = ok.filter((i) => i === EOS || /^[\]}"0-9,]/.test(dec.decode(trie.bytesOf(i))));
      if (closing.length) ok = closing;
    }
    const id = ok[Math.floor(rng.uniform() * ok.length)];
    c.accept(id);
    lazy.accept(id);
    if (id === EOS) return { text: dec.decode(Buffer.concat(pieces.filter((p): p is Uint8Array => typeof p !== 'number'))), done: true, checked };
    pieces.push(trie.special.has(id) ? id : trie.bytesOf(id));
  }
  return { text: '', done: false, checked };
}

test('fuzz: random walks under the mask validate with Ajv, and the mask equals the brute-force reference', () => {
  const rng = new Generator(1234);
  let finished = 0;
  let checked = 0;
  let total = 0;
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const validate = ajv.compile(schema as object);
    for (let k = 0; k < 12; k++) {
      total++;
      const r = walk(schema, rng, k < 3);
      checked += r.checked;
      if (!r.done) continue;
      finished++;
      const v = JSON.parse(r.text) as unknown;
      assert.ok(validate(v), `${name}: ${r.text} — ${ajv.errorsText(validate.errors)}`);
    }
  }
  assert.ok(finished >= total * 0.8, `most walks finish (${finished}/${total})`);
  assert.ok(checked > 1000, `mask checked on ${checked} tokens`);
});

test('json_object mode (no schema) gives any JSON object', () => {
  const rng = new Generator(7);
  for (let k = 0; k < 10; k++) {
    const r = walk(undefined, rng, false);
    if (r.done) assert.ok(typeof JSON.parse(r.text) === 'object' && !Array.isArray(JSON.parse(r.text)), r.text);
  }
});

test('moss-tiny sampled decodes through the one generation step validate', async () => {
  const { model } = loadModel(MODEL);
  const prompt = tok.encode('<|Human|>: give me JSON<eoh>\n<|MOSS|>:', { special: 'allow' });
  let ok = 0;
  for (const name of ['calc', 'nested', 'refs', 'unions']) {
    const validate = ajv.compile(SCHEMAS[name] as object);
    const g = jsonGrammar(SCHEMAS[name], [EOS]);
    for (const seed of [1, 2, 3]) {
      const { ids, stats } = await generateAll(model, [prompt], { maxNewTokens: 160, temperature: 1, seed, stopIds: [EOS], constraint: () => cache.constraint(g) });
      if (stats.finishReasons[0] !== 'stop') continue;
      const text = tok.decode(ids[0].filter((i) => i !== EOS));
      assert.ok(validate(JSON.parse(text)), `${name} seed ${seed}: ${text}`);
      ok++;
    }
  }
  assert.ok(ok >= 8, `${ok} of 12 decodes finished and validated`);
});
