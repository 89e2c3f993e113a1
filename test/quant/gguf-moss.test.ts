/**
 * GGUF arch `moss` (HF tensor names + `moss.config`, docs/quantization.md) through the normal loader,
 * and quantized token embeddings that stay quantized (row gather):
 *  - the moss-a golden checkpoint written as an f32 `moss` GGUF reproduces the PyTorch logits;
 *  - written with q8_0/q4_0 2-D weights (wte included), wte stays quantized (QuantEmbedding), a
 *    lookup equals the ref backend's dequantization of those rows exactly, the logits equal those of
 *    the same model with the table fully dequantized (exactly), and (q8_0) stay near PyTorch's;
 *  - a quantized LLaMA GGUF keeps token_embd quantized too; out-of-range ids and a missing or broken
 *    `moss.config` fail with clear messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { View } from '../../src/backends/backend.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { readSafetensors, writeGguf, type GgufWriteTensor } from '../../src/io/index.js';
import { viewBytes } from '../../src/io/views.js';
import { loadModel } from '../../src/models/load.js';
import { Embedding } from '../../src/nn/index.js';
import type { MossForCausalLM } from '../../src/models/moss/model.js';
import type { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { QuantEmbedding } from '../../src/models/quant-embedding.js';
import { Tensor, tensor, tidy } from '../../src/tensor/index.js';
import { assertClose, FIXTURES, golden } from '../models/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'moss-gguf-moss-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

type Q = 'f32' | 'q8_0' | 'q4_0';

/** moss-a as a `moss` GGUF; 2-D weights stored as `q`, 1-D tensors f32. */
function mossGguf(q: Q, metadata?: Record<string, unknown>): string {
  const cfgText = readFileSync(join(FIXTURES, 'moss-a', 'config.json'), 'utf8');
  const st = readSafetensors(join(FIXTURES, 'moss-a', 'model.safetensors'));
  const tensors: GgufWriteTensor[] = [];
  for (const [n, v] of st.tensors) {
    assert.equal(v.dtype, 'f32');
    const f = new Float32Array(viewBytes(v).slice().buffer);
    const quant = q !== 'f32' && v.shape.length === 2;
    const data = !quant ? new Uint8Array(f.buffer) : q === 'q8_0' ? quantizeQ8_0(f) : quantizeQ4_0(f);
    tensors.push({ name: n, dtype: quant ? q : 'f32', shape: v.shape, data });
  }
  const path = join(tmp, `moss-a-${q}-${tensors.length}-${metadata ? 'custom' : 'std'}.gguf`);
  writeGguf(path, { metadata: metadata ?? { 'general.architecture': 'moss', 'moss.config': cfgText }, tensors });
  return path;
}

function logits(model: { forward(ids: Tensor): Tensor }, ids: number[][]): Float32Array {
  return tidy(() => model.forward(tensor(ids.flat(), [ids.length, ids[0].length], { dtype: 'i32' })).toFloat32Array());
}

test('moss GGUF (f32) loads through loadModel and matches the PyTorch logits', () => {
  const g = golden('moss-a');
  const { model, format } = loadModel(mossGguf('f32'));
  assert.equal(format, 'gguf');
  assertClose(logits(model, g.input_ids), g.logits, 2e-5, 'moss gguf logits');
  model.dispose();
});

for (const q of ['q8_0', 'q4_0'] as const) {
  test(`moss GGUF (${q}): wte stays quantized, rows gathered exactly, logits as with a dequantized table`, () => {
    const g = golden('moss-a');
    const model = loadModel(mossGguf(q)).model as MossForCausalLM;
    const wte = model.transformer.wte;
    assert.ok(wte instanceof QuantEmbedding, 'quantized table kept (no f32 copy)');
    assert.equal(wte.weight.dtype, q);
    // rows vs the ref backend's dequantization of the same bytes (independent kernel)
    const w = wte.weight;
    const full = new Float32Array(w.numel);
    const v: View = { storage: w.storage, dtype: q, shape: w.shape, strides: w.strides, offset: w.offset };
    refBackend.dequantize({ storage: { buffer: full.buffer, byteOffset: 0, byteLength: full.byteLength }, dtype: 'f32', shape: w.shape, strides: w.strides, offset: 0 }, v);
    const ids = [[3, 0, 49], [7, 7, 1]];
    const got = tidy(() => wte.forward(tensor(ids.flat(), [2, 3], { dtype: 'i32' })).toFloat32Array());
    const C = w.shape[1];
    ids.flat().forEach((id, i) => assert.deepEqual(got.subarray(i * C, (i + 1) * C), full.subarray(id * C, (id + 1) * C), `row ${id}`));
    assert.throws(() => tidy(() => wte.forward(tensor([50], [1, 1], { dtype: 'i32' }))), /token id 50 is out of range \[0, 50\)/);
    // the whole model: same logits as with the table dequantized up front
    const a = logits(model, g.input_ids);
    const deq = new Embedding(tensor(full, w.shape).keep());
    model.transformer.wte = deq;
    assert.deepEqual(logits(model, g.input_ids), a);
    // and near PyTorch's for q8_0 (weights rounded to q8 blocks; q4_0 on this tiny random model is
    // ~30% off by nature, so it is checked only through the exact equalities above and qmatmul.test)
    if (q === 'q8_0') assertClose(a, g.logits, 3e-2, `${q} logits vs f32 golden`);
    deq.weight.dispose();
    model.dispose();
  });
}

test('quantized LLaMA GGUF keeps token_embd quantized', () => {
  // a tiny random LLaMA in llama.cpp naming (the bench writer), q4_0 everywhere
  return import('../../bench/decode-model.js').then(({ writeLlamaGguf }) => {
    const path = join(tmp, 'tiny-llama-q4.gguf');
    writeLlamaGguf(path, { C: 64, L: 1, H: 2, Hkv: 1, F: 96, V: 300 }, 'q4_0');
    const model = loadModel(path).model as LlamaForCausalLM;
    assert.ok(model.model.embed_tokens instanceof QuantEmbedding);
    assert.equal(model.model.embed_tokens.weight.dtype, 'q4_0');
    const out = logits(model, [[1, 5, 299]]);
    assert.equal(out.length, 3 * 300);
    assert.ok(out.every(Number.isFinite));
    model.dispose();
  });
});

test('moss GGUF without a usable moss.config fails naming the file and the key', () => {
  const missing = mossGguf('f32', { 'general.architecture': 'moss' });
  assert.throws(() => loadModel(missing), (e: Error) => e.message.includes(missing) && e.message.includes("'moss.config'") && e.message.includes('missing'));
  const broken = mossGguf('f32', { 'general.architecture': 'moss', 'moss.config': '{"n_embd": 32,' });
  assert.throws(() => loadModel(broken), (e: Error) => e.message.includes(broken) && /not valid JSON/.test(e.message));
});
