/**
 * `moss chat --quantize q8_0` end to end through bin/moss.js on a tiny MOSS folder whose embedding
 * has padding rows past the tokenizer's vocabulary (as MOSS has 107,008 rows for 106,072 tokens)
 * with a lm_head bias that makes them the most likely: the folder is converted once into
 * moss-q8_0.gguf beside it (reused on the next run, no second conversion), the tokenizer comes
 * from the folder, and greedy chat never picks a padding row (it would fail to decode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MOSS_BIN, paddedFolder } from './chat-helpers.js';
import { withinVocab, sampleNext } from '../../src/generate/sampler.js';
import { Generator } from '../../src/tensor/index.js';

test('chat --quantize q8_0 converts once, reuses the GGUF, and never samples padding rows', () => {
  const dir = paddedFolder();
  try {
    const run = () => spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', dir, '--quantize', 'q8_0', '--message', 'Hello', '--max-new-tokens', '4', '--temperature', '0', '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    const a = run();
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stderr, /converting .* to q8_0 once: .*moss-q8_0\.gguf/);
    const gguf = join(dir, 'moss-q8_0.gguf');
    const t = statSync(gguf).mtimeMs;
    const b = run();
    assert.equal(b.status, 0, b.stderr);
    assert.doesNotMatch(b.stderr, /converting/);
    assert.equal(statSync(gguf).mtimeMs, t);
    assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout));
    const bad = spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', dir, '--quantize', 'q5_k', '--message', 'x'], { encoding: 'utf8' });
    assert.match(bad.stderr, /^moss: --quantize: "q5_k" is not q4_0 or q8_0\n$/);
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
