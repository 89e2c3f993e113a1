/**
 * The real stories260K model (../shared/models/stories260K, llama2.c format): greedy decoding from
 * BOS for 200 steps prints expected-greedy.txt exactly (llama2.c's test_all.py expectation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { STORIES, storiesSkip } from './helpers.js';

test('stories260K greedy from BOS prints the expected text', { skip: storiesSkip() }, () => {
  const { model, format } = loadModel(join(STORIES, 'stories260K.bin'));
  assert.equal(format, 'llama2c');
  assert.deepEqual([model.info.nLayers, model.info.nKvHeads, model.info.headDim, model.info.vocabSize], [5, 4, 8, 512]);
  const tok = loadTokenizer(join(STORIES, 'tok512.bin'));
  const cache = model.newCache(1, 200);
  let id = 1;
  const out: number[] = [];
  // run.c: 200 forward steps from BOS, argmax each, stop early if BOS comes back
  for (let step = 0; step < 200; step++) {
    const prev = id;
    id = tidy(() => model.forward(tensor([prev], [1, 1], { dtype: 'i32', backend: model.backend }), { cache, logits: 'last' }).argmax(-1)).item();
    if (id === 1) break;
    out.push(id);
  }
  assert.equal(tok.decode(out), readFileSync(join(STORIES, 'expected-greedy.txt'), 'utf8'));
  cache.dispose();
  model.dispose();
});
