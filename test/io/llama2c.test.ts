/**
 * llama2.c checkpoints: stories260K's header and weight statistics computed independently by
 * dev/io/stories260k_stats.py (numpy), the HF rope permutation, and hostile headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseLlama2c, readLlama2c } from '../../src/io/llama2c.js';
import { fuzz, sharedFile, values } from './helpers.js';

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6 * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);
const asStorage = (b: Uint8Array) => ({ buffer: b.buffer as ArrayBuffer, byteOffset: b.byteOffset, byteLength: b.byteLength });

test('stories260K.bin: header and numpy-checked weights under HF names', (t) => {
  const p = sharedFile('models/stories260K/stories260K.bin');
  if (!p) return t.skip('shared data absent');
  const f = readLlama2c(p);
  assert.deepEqual(
    [f.config.dim, f.config.hiddenDim, f.config.nLayers, f.config.nHeads, f.config.nKvHeads, f.config.vocabSize, f.config.seqLen],
    [64, 172, 5, 8, 4, 512, 512],
  );
  assert.equal(f.config.sharedClassifier, true);
  assert.equal(f.config.headSize, 8);
  assert.equal(f.config.ropeInterleaved, true);
  assert.equal(f.hfConfig.num_key_value_heads, 4);
  assert.equal(f.tensors.size, 1 + 5 * 9 + 1 + 1);
  const g = (n: string) => values(f.tensors.get(n)!);
  const emb = g('model.embed_tokens.weight');
  near(sum(emb), -752.3677446640068, 'emb sum');
  assert.deepEqual(emb.slice(3 * 64, 3 * 64 + 3), [-0.294771671295166, 0.5618801712989807, 0.17545069754123688]);
  const wq2 = g('model.layers.2.self_attn.q_proj.weight');
  near(sum(wq2), 4.646763495973573, 'wq2');
  assert.deepEqual(wq2.slice(64, 67), [-0.05989250913262367, -0.06815755367279053, -0.15701216459274292]);
  assert.deepEqual(f.tensors.get('model.layers.4.self_attn.k_proj.weight')!.shape, [32, 64]);
  near(sum(g('model.layers.4.self_attn.k_proj.weight')), 2.2722628523088133, 'wk4');
  near(sum(g('model.layers.0.self_attn.v_proj.weight')), -0.02413327657859554, 'wv0');
  near(sum(g('model.layers.1.self_attn.o_proj.weight')), 8.094965314718138, 'wo1');
  assert.deepEqual(g('model.layers.3.input_layernorm.weight').slice(0, 3), [1.3719491958618164, 1.0510352849960327, 1.318687915802002]);
  near(sum([0, 1, 2, 3, 4].flatMap((l) => g(`model.layers.${l}.post_attention_layernorm.weight`))), 264.1280038356781, 'rms_ffn');
  near(sum(g('model.layers.0.mlp.gate_proj.weight')), -2.7679814874386466, 'w1');
  const w2 = g('model.layers.4.mlp.down_proj.weight');
  assert.deepEqual(f.tensors.get('model.layers.4.mlp.down_proj.weight')!.shape, [64, 172]);
  near(sum(w2), 19.543787761240765, 'w2');
  assert.deepEqual(w2.slice(64 * 172 - 2), [-0.00976563524454832, -0.0035068716388195753]);
  near(sum(g('model.layers.1.mlp.up_proj.weight')), -18.456551569409385, 'w3');
  near(sum(g('model.norm.weight')), 115.95276230573654, 'rms_final');
  assert.equal(f.tensors.get('lm_head.weight'), f.tensors.get('model.embed_tokens.weight'));
  assert.equal(f.tensors.get('model.norm.weight')!.storage.buffer, f.storage.buffer); // zero-copy

  const hf = readLlama2c(p, { hfRope: true });
  assert.equal(hf.config.ropeInterleaved, false);
  assert.deepEqual(values(hf.tensors.get('model.layers.0.self_attn.q_proj.weight')!).slice(64, 67), [0.055401116609573364, 0.08100877702236176, -0.2862856090068817]);
  assert.deepEqual(values(hf.tensors.get('model.layers.0.self_attn.k_proj.weight')!).slice(5 * 64, 5 * 64 + 3), [0.2685277760028839, 0.007721157278865576, -0.2206631600856781]);
});

test('hostile llama2.c headers and truncations are refused', (t) => {
  const hdr = (h: number[], extra = 0) => {
    const b = new Uint8Array(28 + extra);
    h.forEach((v, i) => new DataView(b.buffer).setInt32(i * 4, v, true));
    return asStorage(b);
  };
  assert.throws(() => parseLlama2c(hdr([64, 172, 5, 8, 4, 512, 512]), 'x.bin'), /x\.bin: size: header implies 1056540 bytes but the file has 28/);
  assert.throws(() => parseLlama2c(hdr([2 ** 30, 1, 1, 1, 1, 1, 1]), 'x.bin'), /x\.bin: dim: 1073741824 is out of range/);
  assert.throws(() => parseLlama2c(hdr([64, 172, -5, 8, 4, 512, 512]), 'x.bin'), /n_layers: -5 is out of range/);
  assert.throws(() => parseLlama2c(hdr([64, 172, 5, 8, 3, 512, 512]), 'x.bin'), /n_kv_heads: 3 does not divide/);
  assert.throws(() => parseLlama2c(hdr([0x616b3432, 1, 1, 1, 1, 1, 1]), 'x.bin'), /ak42/);
  assert.throws(() => parseLlama2c(asStorage(new Uint8Array(10)), 'x.bin'), /header: file is only 10 bytes/);
  const p = sharedFile('models/stories260K/stories260K.bin');
  if (!p) return t.skip('shared data absent');
  const bytes = new Uint8Array(readFileSync(p));
  const rejected = fuzz(bytes.subarray(0, 4096).slice(), 'fz.bin', (b) => parseLlama2c(asStorage(b), 'fz.bin'), 64);
  assert.ok(rejected > 200);
  // Untied classifier: negative vocab_size needs the extra wcls block.
  const untied = new Uint8Array(bytes.length + 512 * 64 * 4);
  untied.set(bytes);
  new DataView(untied.buffer).setInt32(20, -512, true);
  const u = parseLlama2c(asStorage(untied), 'u.bin');
  assert.equal(u.config.sharedClassifier, false);
  assert.notEqual(u.tensors.get('lm_head.weight'), u.tensors.get('model.embed_tokens.weight'));
  assert.throws(() => parseLlama2c(asStorage(untied.subarray(0, bytes.length)), 'u.bin'), /u\.bin: size/);
});
