/**
 * Every pre-tokenizer llama.cpp's vocab tests cover, against independent goldens: llama.cpp's
 * .inp/.out vectors (made by HF tokenizers) for each vocab-only GGUF in ../shared (the pre-tokenizer
 * chosen by `tokenizer.ggml.pre`), gpt-neox (no pre key; MPT ships the GPT-NeoX-20B tokenizer, so
 * MPT's vectors apply), and the real Llama 3.1 / Qwen2 tokenizer.json files (the pre-tokenizer read
 * from their `pre_tokenizer`), whose .out files are byte-identical to llama.cpp's llama-bpe/qwen2 ones.
 * Plus: unknown names are refused with the supported list; the HF files round-trip through GGUF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import {
  ByteLevelBpe, GPT2_PRE, SUPPORTED_PRE_TOKENIZERS, byteLevelFromTokenizerJson, preTokenizerByName, preTokenizerFromHf, tokenizerFromGgufMetadata, type Tokenizer,
} from '../../src/tokenizer/index.js';
import { llamaGoldens, sharedPath, skipUnless } from './shared.js';

const G = 'tokenizers/llamacpp-goldens';

/** Asserts all cases, listing every failing one. */
function checkAll(tok: Tokenizer, cases: { text: string; ids: number[] }[], what: string, roundTrip = true): void {
  const bad: string[] = [];
  for (const c of cases) {
    const ids = tok.encode(c.text);
    if (ids.join(' ') !== c.ids.join(' ')) bad.push(`${JSON.stringify(c.text)}: got ${ids.join(' ')}, expected ${c.ids.join(' ')}`);
    else if (roundTrip && tok.decode(ids) !== c.text) bad.push(`${JSON.stringify(c.text)}: decodes as ${JSON.stringify(tok.decode(ids))}`);
  }
  assert.equal(cases.length, 47, what);
  assert.deepEqual(bad, [], `${what}: ${bad.length} of ${cases.length} cases fail`);
}

const GGUFS: { file: string; pre: string; roundTrip?: boolean }[] = [
  { file: 'ggml-vocab-gpt-2.gguf', pre: 'gpt-2' },
  { file: 'ggml-vocab-deepseek-llm.gguf', pre: 'deepseek-llm' },
  { file: 'ggml-vocab-deepseek-coder.gguf', pre: 'deepseek-coder' },
  // Falcon's vocabulary lacks a few control-byte symbols: such bytes are dropped (as HF does), so no round trip
  { file: 'ggml-vocab-falcon.gguf', pre: 'falcon', roundTrip: false },
  { file: 'ggml-vocab-starcoder.gguf', pre: 'starcoder' },
  { file: 'ggml-vocab-refact.gguf', pre: 'refact' },
  { file: 'ggml-vocab-mpt.gguf', pre: 'mpt' },
  { file: 'ggml-vocab-llama-spm.gguf', pre: 'default' },
  { file: 'ggml-vocab-phi-3.gguf', pre: 'default' },
];

for (const g of GGUFS) {
  test(`llama.cpp goldens: ${g.file} (pre ${g.pre}), all 47`, { skip: skipUnless(`${G}/${g.file}`, `${G}/${g.file}.out`) }, () => {
    const tok = loadTokenizer(sharedPath(`${G}/${g.file}`));
    if (tok instanceof ByteLevelBpe) assert.equal(tok.preTokenizer.name, g.pre);
    // SPM files: the text is matched by SentencePiece's own rules; decoding drops the prefix space
    checkAll(tok, llamaGoldens(g.file), g.file, g.roundTrip ?? true);
  });
}

test('gpt-neox (no tokenizer.ggml.pre: GPT-2 regex) passes MPT\'s vectors (same GPT-NeoX-20B tokenizer)', { skip: skipUnless(`${G}/ggml-vocab-gpt-neox.gguf`, `${G}/ggml-vocab-mpt.gguf.out`) }, () => {
  const tok = loadTokenizer(sharedPath(`${G}/ggml-vocab-gpt-neox.gguf`)) as ByteLevelBpe;
  const mpt = loadTokenizer(sharedPath(`${G}/ggml-vocab-mpt.gguf`)) as ByteLevelBpe;
  for (let id = 0; id < 50254; id++) assert.equal(tok.idToToken(id), mpt.idToToken(id), `token ${id}`);
  assert.equal(tok.preTokenizer.name, 'gpt-2');
  checkAll(tok, llamaGoldens('ggml-vocab-mpt.gguf'), 'gpt-neox');
});

const HF = [
  { name: 'llama3', pre: 'llama-bpe', bos: 128000, eos: 128009, hello: [9906, 1917] },
  { name: 'qwen2', pre: 'qwen2', bos: null, eos: 151645, hello: [9707, 1879] },
];
const hfCache = new Map<string, ByteLevelBpe>();
const hfTok = (name: string): ByteLevelBpe => {
  let t = hfCache.get(name);
  if (t === undefined) hfCache.set(name, (t = loadTokenizer(sharedPath(`tokenizers/hf/${name}`)) as ByteLevelBpe));
  return t;
};

/** The .inp/.out pair of an HF folder, in llama.cpp's format. */
function hfGoldens(name: string): { text: string; ids: number[] }[] {
  const inp = readFileSync(sharedPath(`tokenizers/hf/${name}/${name}.inp`), 'utf8').split('\n__ggml_vocab_test__\n');
  const out = readFileSync(sharedPath(`tokenizers/hf/${name}/${name}.out`), 'utf8').split('\n');
  assert.equal(inp.length, out.length);
  return inp.map((text, i) => ({ text, ids: out[i].trim() === '' ? [] : out[i].trim().split(/\s+/).map(Number) }));
}

for (const h of HF) {
  const files = [`tokenizers/hf/${h.name}/tokenizer.json`, `tokenizers/hf/${h.name}/${h.name}.out`];
  test(`${h.name} tokenizer.json: pre-tokenizer from pre_tokenizer, all 47 llama.cpp/HF cases`, { skip: skipUnless(...files) }, () => {
    const tok = hfTok(h.name);
    assert.equal(tok.preTokenizer.name, h.pre);
    assert.equal(tok.bosId, h.bos);
    assert.equal(tok.eosId, h.eos);
    assert.deepEqual(tok.encode('Hello world'), h.hello);
    checkAll(tok, hfGoldens(h.name), h.name);
  });

  test(`${h.name}: the same tokenizer written as GGUF metadata (pre "${h.pre}") encodes the same`, { skip: skipUnless(...files) }, () => {
    const tok = hfTok(h.name);
    const md = tok.ggufMetadata();
    assert.equal(md['tokenizer.ggml.pre'], h.pre);
    const back = tokenizerFromGgufMetadata(md) as ByteLevelBpe;
    assert.equal(back.ignoreMerges, tok.ignoreMerges);
    // NFC is not in GGUF (llama.cpp does not normalize either); the test strings are all NFC
    checkAll(back, hfGoldens(h.name), `${h.name} via GGUF`);
  });
}

test('qwen2: NFC normalization (tokenizer.json normalizer) and control tokens only when allowed', { skip: skipUnless('tokenizers/hf/qwen2/tokenizer.json') }, () => {
  const tok = hfTok('qwen2');
  assert.deepEqual(tok.encode('cafe\u0301'), tok.encode('caf\u00e9'));
  assert.deepEqual(tok.encode('<|im_end|>', { special: 'allow' }), [151645]);
  assert.ok(!tok.encode('<|im_end|>').includes(151645));
});

test('a GPT-2 split of the Llama 3 vocabulary gets cases wrong (why the pre-tokenizer matters)', { skip: skipUnless('tokenizers/hf/llama3/tokenizer.json') }, () => {
  const spec = byteLevelFromTokenizerJson(JSON.parse(readFileSync(sharedPath('tokenizers/hf/llama3/tokenizer.json'), 'utf8')));
  const wrong = new ByteLevelBpe({ ...spec, preTokenizer: GPT2_PRE, ignoreMerges: false });
  const cases = hfGoldens('llama3');
  const ok = cases.filter((c) => wrong.encode(c.text).join(' ') === c.ids.join(' ')).length;
  assert.ok(ok < cases.length - 5, `GPT-2 split matched ${ok}/${cases.length}`);
});

test('an unknown pre-tokenizer is refused with its name and the supported list', () => {
  assert.throws(() => preTokenizerByName('tekken', 'x.gguf'), (e: Error) => {
    assert.match(e.message, /^x\.gguf: pre-tokenizer "tekken" is not supported \(supported: default, gpt-2, .*llama-bpe.*qwen2.*deepseek-llm.*deepseek-coder.*falcon.*starcoder.*refact.*command-r/);
    return true;
  });
  for (const n of ['llama-bpe', 'qwen2', 'deepseek-llm', 'deepseek-coder', 'falcon', 'starcoder', 'refact', 'command-r', 'mpt', 'gpt-2']) assert.ok(SUPPORTED_PRE_TOKENIZERS.includes(n), n);
  assert.throws(() => preTokenizerFromHf({ type: 'Metaspace' }), /pre-tokenizer Metaspace is not byte-level/);
  assert.throws(() => preTokenizerFromHf({ type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'ByteLevel' }] }), /pre-tokenizer WhitespaceSplit is not supported .*supported: ByteLevel/);
  assert.throws(() => preTokenizerFromHf({ type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: "a++" }, behavior: 'Isolated' }, { type: 'ByteLevel', use_regex: false }] }), /possessive quantifier/);
  const md = { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'kimi-k2', 'tokenizer.ggml.tokens': ['a'], 'tokenizer.ggml.merges': [] };
  assert.throws(() => tokenizerFromGgufMetadata(md, 'm.gguf'), /m\.gguf: pre-tokenizer "kimi-k2" is not supported \(supported: /);
});

test('command-r uses the StarCoder split (digits one by one)', () => {
  const { pre } = preTokenizerByName('command-r');
  const parts: string[] = [];
  const s = "I've 1234 apples";
  pre.split(s, (a, b) => parts.push(s.slice(a, b)));
  assert.deepEqual(parts, ['I', "'ve", ' ', '1', '2', '3', '4', ' apples']);
});
