/**
 * GPT-2 byte-level BPE against independent goldens: llama.cpp's test vectors (made by HF tokenizers),
 * transformers.js's GPT-2 cases, tiktoken's and GPT-3-Encoder's cases; tokenizer.json and
 * encoder.json builds agree; the pre-tokenizer scanner equals the GPT-2 regex.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ByteLevelBpe, byteLevelFromTokenizerJson, gpt2PreTokens, GPT2_PATTERN } from '../../src/tokenizer/index.js';
import { gpt2FromEncoder, llamaGoldens, MIXED, readJson, sharedPath, skipUnless } from './shared.js';

const GPT2 = ['tokenizers/gpt2/encoder.json', 'tokenizers/gpt2/vocab.bpe'];

/** HF's clean_up_tokenization (transformers' decode default then), test-only. */
function hfCleanUp(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',').replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

test('llama.cpp gpt-2 goldens (all 47)', { skip: skipUnless(...GPT2, 'tokenizers/llamacpp-goldens/ggml-vocab-gpt-2.gguf.out') }, () => {
  const tok = gpt2FromEncoder();
  const cases = llamaGoldens('ggml-vocab-gpt-2.gguf');
  assert.equal(cases.length, 47);
  for (const c of cases) {
    assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
    assert.equal(tok.decode(c.ids), c.text);
  }
});

test('transformers.js GPT-2 cases: ids, tokens, decoded', { skip: skipUnless(...GPT2, 'tokenizers/goldens/transformersjs_gpt2_cases.json') }, () => {
  const tok = gpt2FromEncoder();
  const { cases } = readJson<{ cases: Record<string, { text: string; tokens: string[]; ids: number[]; decoded: string }> }>('tokenizers/goldens/transformersjs_gpt2_cases.json');
  assert.equal(Object.keys(cases).length, 26);
  for (const [name, c] of Object.entries(cases)) {
    // HF matches special tokens in text by default: that is 'allow' here.
    const ids = tok.encode(c.text, { special: 'allow' });
    assert.deepEqual(ids, c.ids, name);
    assert.deepEqual(ids.map((i) => tok.idToToken(i)), c.tokens, name);
    assert.equal(tok.decode(ids), c.text, name);
    assert.equal(hfCleanUp(tok.decode(ids)), c.decoded, name);
  }
});

test('tiktoken and GPT-3-Encoder GPT-2 cases', { skip: skipUnless(...GPT2, 'tokenizers/goldens/tiktoken_gpt3encoder_cases.json') }, () => {
  const tok = gpt2FromEncoder();
  const d = readJson<Record<string, { cases: { text: string; ids: number[]; allowed_special?: string }[] }>>('tokenizers/goldens/tiktoken_gpt3encoder_cases.json');
  let n = 0;
  for (const suite of Object.values(d)) {
    for (const c of suite.cases) {
      assert.deepEqual(tok.encode(c.text, { special: c.allowed_special ? 'allow' : 'none' }), c.ids, JSON.stringify(c.text));
      n++;
    }
  }
  assert.equal(n, 27);
});

test('<|endoftext|> is plain text unless allowed', { skip: skipUnless(...GPT2) }, () => {
  const tok = gpt2FromEncoder();
  assert.deepEqual(tok.encode('<|endoftext|>', { special: 'allow' }), [50256]);
  const plain = tok.encode('<|endoftext|>');
  assert.ok(!plain.includes(50256));
  assert.equal(tok.decode(plain), '<|endoftext|>');
  assert.equal(tok.decode([31373, 50256], { skipSpecial: true }), 'hello');
  assert.equal(tok.isSpecial(50256), true);
});

test('tokenizer.json and encoder.json/vocab.bpe give identical ids', { skip: skipUnless(...GPT2, 'tokenizers/gpt2/tokenizer.json') }, () => {
  const a = gpt2FromEncoder();
  const b = new ByteLevelBpe(byteLevelFromTokenizerJson(JSON.parse(readFileSync(sharedPath('tokenizers/gpt2/tokenizer.json'), 'utf8'))));
  assert.equal(b.vocabSize, a.vocabSize);
  const texts = [MIXED, ...llamaGoldens('ggml-vocab-gpt-2.gguf').map((c) => c.text)];
  for (const t of texts) assert.deepEqual(b.encode(t, { special: 'allow' }), a.encode(t, { special: 'allow' }));
});

test('pre-tokenizer scanner equals the GPT-2 regex (outside U+0085/U+FEFF)', () => {
  const texts = [MIXED, "I'm here, you're there; they'll've 's 'S 'd't'''x", '  a\n\n b \t\t\n x  ', '1 2 ３४ 😀😀 a😀b \u2028\u3000x', ''];
  // random strings over a small alphabet with every class
  const alpha = [' ', ' ', '\n', '\t', 'a', 'B', 'é', '中', '1', '٣', '!', "'", 's', 'l', '😀', '\u2003'];
  let seed = 7;
  for (let k = 0; k < 300; k++) {
    let s = '';
    const len = k % 23;
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      s += alpha[seed % alpha.length];
    }
    texts.push(s);
  }
  for (const t of texts) assert.deepEqual(gpt2PreTokens(t), [...t.matchAll(GPT2_PATTERN)].map((m) => m[0]), JSON.stringify(t));
});
