/**
 * HF folders built in a temp dir: single-file and sharded safetensors, sharded pytorch .bin (the
 * candle fixtures as shards), lazy shard loading, and the errors: missing shard, path in weight_map,
 * tensor missing from its shard, missing config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHfFolder, openHfFolder } from '../../src/io/hf.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import type { View } from '../../src/backends/backend.js';
import { sharedFile, tmp, values } from './helpers.js';

const f32 = (xs: number[], shape: number[]): View => {
  const a = new Float32Array(xs);
  return { storage: { buffer: a.buffer, byteOffset: 0, byteLength: a.byteLength }, dtype: 'f32', shape, strides: shape.length === 2 ? [shape[1], 1] : [1], offset: 0 };
};

test('single and sharded safetensors folders, loaded lazily', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 2 }));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2 }));
  writeSafetensors(join(dir, 'model.safetensors'), { a: f32([1, 2], [2]) });
  let m = loadHfFolder(dir);
  assert.deepEqual(m.config, { model_type: 'llama', hidden_size: 2 });
  assert.deepEqual(m.generationConfig, { eos_token_id: 2 });
  assert.deepEqual(m.files, ['model.safetensors']);
  assert.deepEqual(values(m.tensors.get('a')!), [1, 2]);

  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: f32([1, 2], [2]) });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { b: f32([3, 4, 5, 6], [2, 2]) });
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{}');
  assert.deepEqual(openHfFolder(dir).files, ['model.safetensors'], 'model.safetensors comes before the index, as in from_pretrained');
  rmSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  const lazy = openHfFolder(dir);
  assert.deepEqual(lazy.names(), ['a', 'b']);
  rmSync(join(dir, 'model-00001-of-00002.safetensors')); // shard 1 gone after the up-front check...
  assert.deepEqual(values(lazy.get('b')), [3, 4, 5, 6]); // ...shard 2 still loads on its own: lazy
  assert.throws(() => lazy.get('a'), /model-00001-of-00002\.safetensors/);
  assert.throws(() => openHfFolder(dir), /model-00001-of-00002\.safetensors: shard listed in model\.safetensors\.index\.json is missing \(it holds tensor 'a'\)/);
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: f32([1, 2], [2]) });
  m = loadHfFolder(dir);
  assert.deepEqual(m.files, ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.deepEqual([...m.tensors.keys()].sort(), ['a', 'b']);

  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../x.safetensors' } }));
  assert.throws(() => openHfFolder(dir), /weight_map 'a': shard "\.\.\/x\.safetensors" is not a plain file name/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { zz: 'model-00001-of-00002.safetensors' } }));
  assert.throws(() => openHfFolder(dir).get('zz'), /tensor 'zz': listed in model\.safetensors\.index\.json but not in this shard/);
  rmSync(join(dir, 'config.json'));
  assert.throws(() => openHfFolder(dir), /config\.json: missing/);
  const empty = tmp();
  writeFileSync(join(empty, 'config.json'), '{}');
  assert.throws(() => openHfFolder(empty), /weights: none of model\.safetensors, model\.safetensors\.index\.json/);
});

test('sharded pytorch_model.bin folder (candle fixtures as shards)', (t) => {
  const a = sharedFile('formats/test.pt');
  const b = sharedFile('formats/fortran_tensor_3d.pth');
  if (!a || !b) return t.skip('shared data absent');
  const dir = join(tmp(), 'm');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"model_type":"moss"}');
  copyFileSync(a, join(dir, 'pytorch_model-00001-of-00002.bin'));
  copyFileSync(b, join(dir, 'pytorch_model-00002-of-00002.bin'));
  writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { test: 'pytorch_model-00001-of-00002.bin', tensor_fortran: 'pytorch_model-00002-of-00002.bin' } }));
  const m = loadHfFolder(dir);
  assert.equal(m.format, 'pytorch');
  assert.equal(m.generationConfig, null);
  assert.deepEqual(values(m.tensors.get('test')!), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(m.tensors.get('tensor_fortran')!.strides, [1, 2, 6]);
});
