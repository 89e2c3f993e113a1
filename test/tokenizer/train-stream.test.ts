/**
 * The BPE trainer (determinism, Chinese round trip, files that load back, merges applied the way the
 * encoder applies them) and streaming decode (token by token equals full decode, never a split UTF-8
 * character) for byte-level BPE and SentencePiece byte fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { ByteLevelBpe, byteLevelFromVocabFiles, parseMerges, trainBpe, trainedFiles, type Tokenizer } from '../../src/tokenizer/index.js';
import { gpt2FromEncoder, MIXED, sharedPath, skipUnless } from './shared.js';

const CORPUS = [
  '今天天气很好，我们去公园散步吧。今天的公园人很多。',
  'The quick brown fox jumps over the lazy dog. The dog sleeps.',
  'def add(a, b):\n    return a + b\n\nprint(add(1, 2))<|endoftext|>',
  '机器学习是人工智能的一个分支。深度学习是机器学习的一个分支。',
  'MOSS 是一个支持中英双语的对话语言模型。MOSS can use plugins.',
];

test('trainer: deterministic, specials last, Chinese round trip, files load back', () => {
  const a = trainBpe(CORPUS, 400, { specialTokens: ['<|endoftext|>', '<eom>'] });
  const b = trainBpe([...CORPUS], 400, { specialTokens: ['<|endoftext|>', '<eom>'] });
  assert.deepEqual(a, b);
  assert.equal(a.tokens.length, 400);
  assert.equal(a.tokens[398], '<|endoftext|>');
  assert.equal(a.tokens[399], '<eom>');
  assert.ok(a.merges.length >= 142);
  assert.ok(!a.tokens.slice(256, 398).some((t) => t.includes('<|')), 'special tokens are not learned from');
  const dir = mkdtempSync(join(tmpdir(), 'moss-bpe-'));
  for (const [name, text] of Object.entries(trainedFiles(a))) writeFileSync(join(dir, name), text);
  const tok = loadTokenizer(dir);
  assert.equal(tok.vocabSize, 400);
  for (const t of [...CORPUS, '没见过的汉字：龘靐齉。', MIXED]) assert.equal(tok.decode(tok.encode(t, { special: 'allow' })), t);
  // the corpus compresses: common Chinese words became tokens
  const zh = CORPUS[0];
  assert.ok(tok.encode(zh).length < new TextEncoder().encode(zh).length / 2);
  assert.deepEqual(tok.encode('x<eom>', { special: 'allow' }).slice(-1), [399]);
  assert.ok(readdirSync(dir).includes('merges.txt'));
  // Every merge line resolves to vocabulary tokens.
  const bpe = new ByteLevelBpe(byteLevelFromVocabFiles(JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')), parseMerges(readFileSync(join(dir, 'merges.txt'), 'utf8')), {}, {}));
  assert.equal(bpe.skippedMerges, 0);
});

test('trainer: ties break on the smaller pair ids', () => {
  // "ab" and "cd" both occur twice; 'a' (GPT-2 id 64) < 'c' (66): "ab" merges first
  const r = trainBpe(['ab cd ab cd'], 257);
  assert.deepEqual(r.merges, ['a b']);
});

function streamEquals(tok: Tokenizer, text: string): void {
  const ids = tok.encode(text);
  const d = tok.streamDecoder();
  let out = '';
  for (const id of ids) {
    const piece = d.push(id);
    assert.ok(!piece.includes('\uFFFD'), `split character in ${JSON.stringify(piece)}`);
    out += piece;
  }
  out += d.flush();
  assert.equal(out, tok.decode(ids));
  assert.equal(out, text);
}

const ZH = '我们今天学习了如何训练一个对话模型，它能够用中文和英文回答问题。🦙 你好，世界！';

test('streaming decode of Chinese, byte-level BPE (GPT-2 splits characters across tokens)', { skip: skipUnless('tokenizers/gpt2/encoder.json') }, () => {
  const tok = gpt2FromEncoder();
  const ids = tok.encode(ZH);
  assert.ok(ids.length > [...ZH].length / 2);
  streamEquals(tok, ZH);
  // an incomplete tail is flushed as U+FFFD, like a one-shot decode
  const d = tok.streamDecoder();
  const cut = tok.encode('你').slice(0, 1);
  assert.equal(d.push(cut[0]), '');
  assert.equal(d.flush(), tok.decode(cut));
});

test('streaming decode of Chinese, SentencePiece byte fallback', { skip: skipUnless('models/stories260K/tok512.bin') }, () => {
  streamEquals(loadTokenizer(sharedPath('models/stories260K/tok512.bin')), 'Lily said ' + ZH);
});
