/**
 * GPTQ (MOSS int4/int8 layout) against tiny checkpoints written by dev/gptq_reference.py (PyTorch's
 * own float32 dequantization of randomly packed weights; one layer per file with act-order g_idx):
 * dequantization must match EXACTLY (bit for bit), the q8_0/q4_0 repack must stay within the
 * (q4_0: one step of amax/8 when the side opposite the block's extreme clips at +7)
 * documented loss, gptqSource exposes `<p>.weight`, and bad shapes get a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTorch } from '../../src/io/index.js';
import { dequantizeQ4_0, dequantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { dequantizeGptq, gptqShape, gptqSource, gptqToGgml, type GptqParts } from '../../src/models/gptq.js';
import { mapSource } from '../../src/models/weights.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'quant');

function load(bits: number) {
  const file = join(FIX, `gptq_w${bits}.bin`);
  const t = readTorch(file).tensors;
  const expected = readFileSync(join(FIX, `gptq_w${bits}_expected.txt`), 'utf8').trim().split('\n').map((l) => {
    const [name, n, k, fn] = l.split(' ');
    const b = readFileSync(join(FIX, fn));
    return { name, N: Number(n), K: Number(k), w: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
  });
  const parts = (p: string): GptqParts => ({ qweight: t.get(`${p}.qweight`)!, qzeros: t.get(`${p}.qzeros`)!, scales: t.get(`${p}.scales`)!, gIdx: t.get(`${p}.g_idx`)! });
  return { file, t, expected, parts };
}

for (const bits of [4, 8]) {
  test(`gptq w${bits}: dequantization equals PyTorch's float32 result exactly`, () => {
    const { expected, parts } = load(bits);
    assert.equal(expected.length, 2);
    for (const e of expected) {
      const p = e.name.slice(0, -'.weight'.length);
      assert.deepEqual(gptqShape(parts(p)), { bits, K: e.K, N: e.N, G: Math.ceil(e.K / 128) });
      const got = dequantizeGptq(parts(p), p);
      let bad = 0;
      for (let i = 0; i < got.length; i++) if (!Object.is(got[i], e.w[i])) bad++;
      assert.equal(bad, 0, `${p}: ${bad} of ${got.length} values differ`);
    }
  });

  test(`gptq w${bits}: repack into q8_0 / q4_0 within the documented loss; gptqSource`, () => {
    const { file, t, expected, parts } = load(bits);
    for (const e of expected) {
      const p = e.name.slice(0, -'.weight'.length);
      let maxAbs = 0;
      for (const v of e.w) maxAbs = Math.max(maxAbs, Math.abs(v));
      for (const [type, deq, bound] of [['q8_0', dequantizeQ8_0, 1 / 200], ['q4_0', dequantizeQ4_0, 1 / 7]] as const) {
        const w = deq(gptqToGgml(parts(p), type, p), e.N * e.K);
        let err = 0;
        for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(w[i] - e.w[i]));
        assert.ok(err <= bound * maxAbs, `${p} ${type}: max error ${err} vs ${bound} * ${maxAbs}`);
      }
      const src = gptqSource(mapSource(file, [{ file, tensors: t }]));
      assert.ok(src.has(e.name));
      const v = src.get(e.name)!.view;
      assert.deepEqual([v.dtype, ...v.shape], ['f32', e.N, e.K]);
      assert.ok(src.get(`${p}.bias`), 'other tensors pass through');
      const q = gptqSource(mapSource(file, [{ file, tensors: t }]), 'q4_0').get(e.name)!.view;
      assert.deepEqual([q.dtype, ...q.shape], ['q4_0', e.N, e.K]);
    }
  });
}

test('gptq: inconsistent shapes are refused with the layer name', () => {
  const { parts } = load(4);
  const p = parts('transformer.h.0.mlp.fc_in');
  assert.throws(() => dequantizeGptq({ ...p, scales: { ...p.scales, shape: [3, 64], strides: [64, 1] } }, 'L'), /L: scales \[3,64\] should be \[2, 64\]/);
  assert.throws(() => dequantizeGptq({ ...p, gIdx: { ...p.gIdx!, shape: [100], strides: [1] } }, 'L'), /L: g_idx/);
});
