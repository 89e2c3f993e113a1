/**
 * The MOSS vocabulary reconstruction (DESIGN.md §5): the rule "256 byte symbols in GPT-2 order, then
 * each new merge result in merge order, then <|endoftext|>" reproduces GPT-2's encoder.json exactly
 * from vocab.bpe (the evidence), and the MOSS folder loads with the published special ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { parseMerges, vocabFromMerges, type Tokenizer } from '../../src/tokenizer/index.js';
import { readJson, sharedPath, skipUnless } from './shared.js';

test('vocabFromMerges(GPT-2 vocab.bpe) + <|endoftext|> reproduces encoder.json exactly', { skip: skipUnless('tokenizers/gpt2/encoder.json', 'tokenizers/gpt2/vocab.bpe') }, () => {
  const enc = readJson<Record<string, number>>('tokenizers/gpt2/encoder.json');
  const tokens = vocabFromMerges(parseMerges(readFileSync(sharedPath('tokenizers/gpt2/vocab.bpe'), 'utf8')));
  tokens.push('<|endoftext|>');
  assert.equal(tokens.length, Object.keys(enc).length);
  const rebuilt: Record<string, number> = {};
  tokens.forEach((t, i) => (rebuilt[t] = i));
  assert.deepEqual(rebuilt, enc);
});

const MOSS = ['tokenizers/moss/merges.txt', 'tokenizers/moss/added_tokens.json', 'tokenizers/moss/special_tokens_map.json'];
let moss: Tokenizer | undefined;
const mossTok = (): Tokenizer => (moss ??= loadTokenizer(sharedPath('tokenizers/moss')));

test('MOSS: reconstructed vocabulary size and special ids', { skip: skipUnless(...MOSS) }, () => {
  const tok = mossTok();
  assert.equal(tok.vocabSize, 106072);
  assert.equal(tok.tokenToId('<|endoftext|>'), 106028);
  const added = readJson<Record<string, number>>('tokenizers/moss/added_tokens.json');
  for (const [content, id] of Object.entries(added)) {
    assert.equal(tok.tokenToId(content), id, JSON.stringify(content));
    assert.equal(tok.idToToken(id), content);
  }
  assert.equal(tok.bosId, 106028);
  assert.equal(tok.eosId, 106068);
  for (const s of ['<eoh>', '<eom>', '<eot>', '<eoc>', '<eor>', '<|endoftext|>']) assert.ok(tok.isSpecial(tok.tokenToId(s)!), s);
  assert.equal(tok.isSpecial(106058), false); // two spaces: a plain added token
  // GPT-2's first 50000 merges are MOSS's first: byte and GPT-2 merge ids coincide
  assert.equal(tok.tokenToId('Ġthe'), 262);
});

test('MOSS: <eoh> is a control token only with special "allow"', { skip: skipUnless(...MOSS) }, () => {
  const tok = mossTok();
  const text = '<|Human|>: 你好<eoh>\n<|MOSS|>: 您好！<eom>';
  const allowed = tok.encode(text, { special: 'allow' });
  assert.ok(allowed.includes(106067) && allowed.includes(106068));
  const plain = tok.encode(text);
  assert.ok(!plain.some((i) => tok.isSpecial(i)));
  assert.ok(!plain.includes(106067) && !plain.includes(106068));
  assert.equal(tok.decode(plain), text);
  assert.equal(tok.decode(allowed), text);
  assert.equal(tok.decode(allowed, { skipSpecial: true }), '<|Human|>: 你好\n<|MOSS|>: 您好！');
});

test('MOSS: whitespace-run added tokens match in plain text (HF semantics), leftmost-longest', { skip: skipUnless(...MOSS) }, () => {
  const tok = mossTok();
  const code = 'def f():\n    return 1\n\t\tx';
  for (const special of ['allow', 'none'] as const) {
    const ids = tok.encode(code, { special });
    assert.ok(ids.includes(106056), 'four spaces -> 106056'); // "    "
    assert.ok(ids.includes(106066), 'two tabs -> 106066');
    assert.equal(tok.decode(ids), code);
  }
  assert.deepEqual(tok.encode(' '.repeat(33)), [106029, 106058]); // 31 spaces then 2
});
