/**
 * `moss chat --quantize q8_0` end to end through bin/moss.js on a tiny MOSS folder whose embedding
 * has padding rows past the tokenizer's vocabulary (as MOSS has 107,008 rows for 106,072 tokens)
 * with a lm_head bias that makes them the most likely: the folder is converted once into
 * moss-q8_0.gguf beside it (reused on the next run, no second conversion), the tokenizer comes
 * from the folder, and greedy chat never picks a padding row (it would fail to decode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mossSync, paddedFolder } from './chat-helpers.js';
import { withinVocab, sampleNext } from '../../src/generate/sampler.js';
import { Generator } from '../../src/tensor/index.js';

test('chat --quantize q8_0 converts once, reuses the GGUF, and never samples padding rows', () => {
  const dir = paddedFolder();
  try {
    const run = () => mossSync(['chat', '--model', dir, '--quantize', 'q8_0', '--message', 'Hello', '--max-new-tokens', '4', '--temperature', '0', '--json'], { env: { ...process.env, NO_COLOR: '1' } });
    const a = run();
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, /converting .* to q8_0 once: .*moss-q8_0\.gguf/);
    const gguf = join(dir, 'moss-q8_0.gguf');
    const t = statSync(gguf).mtimeMs;
    const b = run();
    assert.equal(b.code, 0, b.err);
    assert.doesNotMatch(b.err, /converting/);
    assert.equal(statSync(gguf).mtimeMs, t);
    assert.deepEqual(JSON.parse(b.out), JSON.parse(a.out));
    const bad = mossSync(['chat', '--model', dir, '--quantize', 'q5_k', '--message', 'x']);
    assert.match(bad.err, /^moss: --quantize: "q5_k" is not q4_0 or q8_0\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(existsSync(dir), false);
});

test('every sampler leaves the rows past vocabSize alone', () => {
  const logits = new Float32Array([0, 1, 2, 50, 60]);
  assert.equal(withinVocab(logits, 3).length, 3);
  for (const temperature of [0, 1]) {
    for (let s = 0; s < 20; s++) assert.ok(sampleNext(logits.slice(), { temperature, vocabSize: 3 }, new Generator(s), [], new Map()) < 3);
  }
});
