/**
 * SentencePiece BPE against independent goldens: llama.cpp's llama-spm vectors (made by HF tokenizers),
 * transformers.js's Llama-2 cases (BOS included), llama.cpp server-test prompt counts for stories260K's
 * llama2.c tokenizer; plus GPT-2 from GGUF giving the same ids as from encoder.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { gpt2FromEncoder, llamaGoldens, MIXED, readJson, sharedPath, skipUnless } from './shared.js';

const SPM = 'tokenizers/llamacpp-goldens/ggml-vocab-llama-spm.gguf';
const GPT2_GGUF = 'tokenizers/llamacpp-goldens/ggml-vocab-gpt-2.gguf';

test('llama.cpp llama-spm goldens (all 47)', { skip: skipUnless(SPM, `${SPM}.out`) }, () => {
  const tok = loadTokenizer(sharedPath(SPM));
  const cases = llamaGoldens('ggml-vocab-llama-spm.gguf');
  assert.equal(cases.length, 47);
  for (const c of cases) {
    const ids = tok.encode(c.text);
    assert.deepEqual(ids, c.ids, JSON.stringify(c.text));
  }
});

test('transformers.js Llama-2 cases (with BOS): ids, tokens, decoded', { skip: skipUnless(SPM, 'tokenizers/goldens/transformersjs_llama2_cases.json') }, () => {
  const tok = loadTokenizer(sharedPath(SPM));
  const { cases } = readJson<{ cases: Record<string, { text: string; tokens: string[]; ids: number[]; decoded: string }> }>('tokenizers/goldens/transformersjs_llama2_cases.json');
  assert.equal(Object.keys(cases).length, 37);
  for (const [name, c] of Object.entries(cases)) {
    const ids = tok.encode(c.text, { addBos: true, special: 'allow' });
    assert.deepEqual(ids, c.ids, name);
    assert.deepEqual(ids.slice(1).map((i) => tok.idToToken(i)), c.tokens, name);
    assert.equal(tok.decode(ids), c.decoded, name);
    // round trip (a literal "▁" in the text decodes as a space: SentencePiece's own ambiguity)
    if (!c.text.includes('\u2581')) assert.equal(tok.decode(ids, { skipSpecial: true }), c.text, name);
  }
});

test('GPT-2 from GGUF equals GPT-2 from encoder.json/vocab.bpe', { skip: skipUnless(GPT2_GGUF, 'tokenizers/gpt2/encoder.json') }, () => {
  const a = gpt2FromEncoder();
  const b = loadTokenizer(sharedPath(GPT2_GGUF));
  assert.equal(b.vocabSize, a.vocabSize);
  const texts = [MIXED, '<|endoftext|> x', ...llamaGoldens('ggml-vocab-gpt-2.gguf').map((c) => c.text)];
  for (const t of texts) {
    for (const special of ['allow', 'none'] as const) assert.deepEqual(b.encode(t, { special }), a.encode(t, { special }));
  }
  assert.deepEqual(b.encode('<|endoftext|>', { special: 'allow' }), [50256]);
});

test('stories260K tok512.bin: llama.cpp server prompt token counts', { skip: skipUnless('models/stories260K/tok512.bin', 'models/stories260K/llama2c_and_llamacpp_expectations.json') }, () => {
  const tok = loadTokenizer(sharedPath('models/stories260K/tok512.bin'));
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.bosId, 1);
  const exp = readJson<{ stories260K_prompt_token_counts: { cases: { prompt: string; prompt_tokens_incl_bos: number }[] } }>('models/stories260K/llama2c_and_llamacpp_expectations.json');
  for (const c of exp.stories260K_prompt_token_counts.cases) {
    const ids = tok.encode(c.prompt, { addBos: true });
    assert.equal(ids.length, c.prompt_tokens_incl_bos, c.prompt);
    assert.equal(ids[0], 1);
    assert.equal(tok.decode(ids, { skipSpecial: true }), c.prompt);
  }
  // byte fallback: characters outside the 512 pieces become <0xNN> tokens and decode back
  const t = 'Lily 你好 🦙';
  const ids = tok.encode(t);
  assert.ok(ids.some((i) => /^<0x[0-9A-F]{2}>$/.test(tok.idToToken(i)!)));
  assert.equal(tok.decode(ids), t);
});
