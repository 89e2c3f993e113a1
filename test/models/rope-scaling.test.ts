/**
 * Rope scaling (src/models/llama/rope-scaling.ts and its plumbing): the HF 'linear' / 'llama3' factors,
 * refusals of position-dependent schemes, and the GGUF route — `moss quantize` writes llama.cpp's
 * rope_freqs tensor, the loader reads it back (and linear `rope.scaling.*` keys), and refuses YaRN
 * and partial rotary. The llama3 logits themselves are checked against PyTorch in goldens.test.ts
 * (fixture llama3-rope, made by dev/moss_reference.py); here the quantized GGUF of that fixture
 * must stay within q8_0 error of the f32 model, which it cannot if its factors were lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '../../src/models/quantize.js';
import { readGguf } from '../../src/io/index.js';
import { ggufWriteInput, writeGguf } from '../../src/io/gguf-write.js';
import type { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { loadModel } from '../../src/models/load.js';
import { hfRopeFactors, llama3Factors } from '../../src/models/llama/rope-scaling.js';
import { FIXTURES, logitsOf, normErr } from './helpers.js';

const DIR = join(FIXTURES, 'llama3-rope');

test('HF rope_scaling: linear, llama3, default; position-dependent schemes refused', () => {
  assert.equal(hfRopeFactors(undefined, 8, 1e4, 'c.json'), null);
  assert.equal(hfRopeFactors({ rope_type: 'default' }, 8, 1e4, 'c.json'), null);
  assert.deepEqual(hfRopeFactors({ type: 'linear', factor: 2 }, 8, 1e4, 'c.json'), [2, 2, 2, 2]);
  // theta 100, head dim 8: wavelengths 2pi * 100^(i/4) = 6.28, 19.9, 62.8, 199 against 32/4 = 8 and 32/1 = 32
  const f = llama3Factors(8, 100, 8, 1, 4, 32);
  assert.equal(f[0], 1);
  const smooth = (32 / (2 * Math.PI * Math.sqrt(10)) - 1) / 3;
  assert.ok(Math.abs(f[1] - 1 / ((1 - smooth) / 8 + smooth)) < 1e-12);
  assert.deepEqual(f.slice(2), [8, 8]);
  for (const type of ['dynamic', 'yarn', 'longrope']) {
    assert.throws(() => hfRopeFactors({ rope_type: type, factor: 2 }, 8, 1e4, 'c.json'), new RegExp(`c.json: rope_scaling type '${type}' is not supported`));
  }
  assert.throws(() => hfRopeFactors({ rope_type: 'linear', factor: -1 }, 8, 1e4, 'c.json'), /rope_scaling.factor must be a positive number/);
  assert.throws(() => hfRopeFactors({ rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 32 }, 8, 1e4, 'c.json'), /must exceed/);
  const m = loadModel(DIR).model as LlamaForCausalLM;
  assert.deepEqual(m.config.ropeFactors, f);
});

const logits = (path: string): Float32Array => logitsOf(path, [3, 17, 5, 9, 30, 2, 11, 7, 25, 1, 12, 19]);

test('GGUF: quantize writes rope_freqs, the loader applies it; linear keys, YaRN and partial rotary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-rope-'));
  try {
    const gguf = join(dir, 'l3.gguf');
    quantizeModel(DIR, 'q8_0', gguf);
    const g = readGguf(gguf);
    const freqs = g.tensors.get('rope_freqs.weight')!;
    assert.deepEqual([freqs.dtype, freqs.shape], ['f32', [4]]);
    const want = (loadModel(DIR).model as LlamaForCausalLM).config.ropeFactors!;
    const got = (loadModel(gguf).model as LlamaForCausalLM).config.ropeFactors!;
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= 1e-6 * want[i], `factor ${i}`));
    const ref = logits(DIR);
    const e = normErr(logits(gguf), ref);
    assert.ok(e < 0.03, `q8_0 GGUF vs f32 model: ${e}`);

    // the same file without rope_freqs is a different model: its logits leave the q8_0 band
    const base = ggufWriteInput(g);
    const rewrite = (name: string, md: Record<string, unknown>, drop = false): string => {
      const p = join(dir, name);
      writeGguf(p, { metadata: { ...base.metadata, ...md }, tensors: base.tensors.filter((t) => !drop || t.name !== 'rope_freqs.weight') });
      return p;
    };
    const plain = rewrite('plain.gguf', {}, true);
    assert.equal((loadModel(plain).model as LlamaForCausalLM).config.ropeFactors, null);
    assert.ok(normErr(logits(plain), ref) > 5 * e, 'dropping rope_freqs must change the logits');

    const lin = rewrite('linear.gguf', { 'llama.rope.scaling.type': 'linear', 'llama.rope.scaling.factor': 2 });
    assert.deepEqual((loadModel(lin).model as LlamaForCausalLM).config.ropeFactors, got.map((x) => x * 2));
    assert.throws(() => loadModel(rewrite('yarn.gguf', { 'llama.rope.scaling.type': 'yarn' })), /yarn\.gguf: rope scaling 'yarn' is not supported/);
    assert.throws(() => loadModel(rewrite('partial.gguf', { 'llama.rope.dimension_count': 4 })), /partial rotary/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
