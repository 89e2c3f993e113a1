/**
 * The served path never samples an embedding row past the tokenizer's vocabulary (MOSS has 107,008
 * rows for 106,072 tokens): a tiny MOSS folder whose padding rows win every argmax (and hold most of
 * the probability mass at temperature 1) is served by the worker engine, greedy and sampled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { WorkerEngine } from '../../src/serve/worker-engine.js';
import { paddedFolder } from '../cli/chat-helpers.js';

test('serve: padding rows past the vocabulary are never sampled (greedy and temperature 1)', async () => {
  const dir = paddedFolder();
  const tok = loadTokenizer(dir);
  const engine = await WorkerEngine.start({ modelPath: dir, tokenizer: tok, modelId: 'padded', slots: 2, ctx: 32 });
  try {
    assert.ok(engine.info.vocabSize > tok.vocabSize, 'the fixture has padding rows');
    for (const temperature of [0, 1]) {
      const ids: number[] = [];
      const stream = engine.submit({ promptIds: tok.encode('Hello'), maxNewTokens: 8, stopIds: [], sampling: { temperature, topP: 1, topK: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1, seed: 1 } });
      for await (const id of stream) ids.push(id);
      assert.equal(ids.length, 8);
      for (const id of ids) assert.ok(id < tok.vocabSize, `temperature ${temperature}: sampled padding row ${id} (vocabulary ${tok.vocabSize})`);
    }
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
