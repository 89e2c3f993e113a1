/**
 * `moss quantize` on the real stories260K llama2.c model (../shared): the GGUF it writes loads with
 * the models loader, keeps norms f32 and 2-d weights quantized, and its logits stay close to the
 * f32 model's (q8_0 within 3% normalised, q4_0 within 25%) on the native (quantized kernels) path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '../../src/models/quantize.js';
import { readGguf } from '../../src/io/index.js';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy } from '../../src/tensor/index.js';

const SHARED = process.env.MOSS_SHARED ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const BIN = join(SHARED, 'models', 'stories260K', 'stories260K.bin');
const skip = existsSync(BIN) ? false : `shared data not found at ${BIN} (set MOSS_SHARED)`;

function logits(path: string): Float32Array {
  const { model } = loadModel(path);
  const ids = [1, 403, 407, 261, 378, 429, 260, 1165 % 512];
  const out = tidy(() => model.forward(tensor(ids, [1, ids.length], { dtype: 'i32', backend: model.backend })).toArray());
  model.dispose();
  return Float32Array.from(out.flat(Infinity) as number[]);
}

test('quantize: stories260K .bin -> q8_0 / q4_0 GGUF that loads and runs', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-quant-'));
  try {
    const ref = logits(BIN);
    for (const [q, tol] of [['q8_0', 0.03], ['q4_0', 0.25]] as const) {
      const out = join(dir, `s-${q}.gguf`);
      quantizeModel(BIN, q, out);
      const g = readGguf(out);
      assert.equal(g.metadata['general.architecture'], 'llama');
      assert.equal(g.tensors.get('blk.0.attn_q.weight')!.dtype, q);
      assert.equal(g.tensors.get('blk.0.attn_norm.weight')!.dtype, 'f32');
      const got = logits(out);
      assert.equal(got.length, ref.length);
      let md = 0, mr = 0;
      for (let i = 0; i < ref.length; i++) { md = Math.max(md, Math.abs(got[i] - ref[i])); mr = Math.max(mr, Math.abs(ref[i])); }
      assert.ok(md / mr <= tol, `${q}: normalised logit error ${md / mr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
