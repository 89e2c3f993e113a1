/**
 * `moss quantize --type q4_k_m|q5_k_m|q6_k`: llama.cpp's per-tensor choice (kquant-mix.ts) on a
 * 32-layer LLaMA (the Q6_K layers of attn_v / ffn_down are those real Llama-2-7B Q4_K_M files show:
 * 0-3, 6, 9, ..., 27, 28-31), and a whole conversion of a small random LLaMA GGUF (rows of 256 and
 * 512): the written types, the k-quant blocks decoding close to the source weights, the
 * quantized model's logits close to the f32 model's, and the CLI command as the README gives it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { View } from '../../src/backends/backend.js';
import { kmixPicker, useMoreBits } from '../../src/models/kquant-mix.js';
import { quantizeModel, f32Of } from '../../src/models/quantize.js';
import { loadModel } from '../../src/models/load.js';
import { readGguf, writeGguf } from '../../src/io/index.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { repoRoot, tmp } from '../io/helpers.js';

function llamaNames(L: number, tied = false): string[] {
  const n = ['token_embd.weight', 'output_norm.weight', ...(tied ? [] : ['output.weight'])];
  for (let i = 0; i < L; i++) for (const t of ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']) n.push(`blk.${i}.${t}.weight`);
  return n;
}

test("llama.cpp's Q4_K_M / Q5_K_M / Q6_K choice on a 32-layer LLaMA", () => {
  const more = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
  assert.deepEqual([...Array(32).keys()].filter((i) => useMoreBits(i, 32)), more);
  const names = llamaNames(32);
  const p = kmixPicker('q4_k_m', names);
  const W = [4096, 4096];
  for (let i = 0; i < 32; i++) {
    const hi = more.includes(i) ? 'q6_k' : 'q4_k';
    assert.equal(p(`blk.${i}.attn_v.weight`, W), hi, `attn_v ${i}`);
    assert.equal(p(`blk.${i}.ffn_down.weight`, [4096, 11008]), hi, `ffn_down ${i}`);
    for (const t of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.equal(p(`blk.${i}.${t}.weight`, W), 'q4_k');
  }
  assert.equal(p('output.weight', [32000, 4096]), 'q6_k');
  assert.equal(p('token_embd.weight', [32000, 4096]), 'q4_k');
  // tied head: token_embd is the output and gets its type; rows that are not whole super-blocks: q8_0
  assert.equal(kmixPicker('q4_k_m', llamaNames(32, true))('token_embd.weight', [32000, 4096]), 'q6_k');
  assert.equal(p('blk.0.ffn_down.weight', [4096, 11000]), 'q8_0');
  const p5 = kmixPicker('q5_k_m', names);
  assert.equal(p5('blk.4.attn_v.weight', W), 'q5_k');
  assert.equal(p5('blk.6.attn_v.weight', W), 'q6_k');
  assert.equal(kmixPicker('q6_k', names)('blk.4.attn_q.weight', W), 'q6_k');
  // HF / MOSS names: the fused qkv gets Q5_K in Q4_K_M (llama.cpp's attn_qkv rule), fc_out is ffn_down
  const moss = ['transformer.wte.weight', 'lm_head.weight', 'transformer.h.0.attn.qkv_proj.weight', 'transformer.h.0.mlp.fc_out.weight'];
  const pm = kmixPicker('q4_k_m', moss);
  assert.equal(pm('transformer.h.0.attn.qkv_proj.weight', [768, 256]), 'q5_k');
  assert.equal(pm('transformer.h.0.mlp.fc_out.weight', [256, 1024]), 'q6_k');
  assert.equal(pm('lm_head.weight', [1000, 256]), 'q6_k');
});

let seed = 7;
function normal(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  const u = (seed + 1) / 2 ** 32;
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * seed) / 2 ** 32);
}

/** A random f32 LLaMA GGUF (C 256, F 512, 2 layers, V 64). */
function writeTiny(path: string): void {
  const C = 256, F = 512, L = 2, V = 64, H = 4, Hkv = 2, D = C / H;
  const t = (name: string, shape: number[], std: number | 'one'): { name: string; dtype: 'f32'; shape: number[]; data: Uint8Array } => {
    const n = shape.reduce((a, b) => a * b, 1);
    const f = Float32Array.from({ length: n }, () => (std === 'one' ? 1 : normal() * std));
    return { name, dtype: 'f32', shape, data: new Uint8Array(f.buffer) };
  };
  const tensors = [t('token_embd.weight', [V, C], 0.5), t('output_norm.weight', [C], 'one'), t('output.weight', [V, C], 0.06)];
  for (let i = 0; i < L; i++) {
    tensors.push(t(`blk.${i}.attn_norm.weight`, [C], 'one'), t(`blk.${i}.attn_q.weight`, [C, C], 0.06), t(`blk.${i}.attn_k.weight`, [Hkv * D, C], 0.06),
      t(`blk.${i}.attn_v.weight`, [Hkv * D, C], 0.06), t(`blk.${i}.attn_output.weight`, [C, C], 0.06), t(`blk.${i}.ffn_norm.weight`, [C], 'one'),
      t(`blk.${i}.ffn_gate.weight`, [F, C], 0.06), t(`blk.${i}.ffn_up.weight`, [F, C], 0.06), t(`blk.${i}.ffn_down.weight`, [C, F], 0.04));
  }
  writeGguf(path, {
    metadata: {
      'general.architecture': 'llama', 'llama.context_length': 64, 'llama.embedding_length': C, 'llama.block_count': L,
      'llama.feed_forward_length': F, 'llama.attention.head_count': H, 'llama.attention.head_count_kv': Hkv,
      'llama.attention.layer_norm_rms_epsilon': 1e-5, 'llama.rope.dimension_count': D, 'llama.rope.freq_base': 10000,
    },
    tensors,
  });
}

function logitsOf(path: string, ids: number[]): Float32Array {
  const { model } = loadModel(path);
  return tidy(() => model.forward(tensor(ids, [1, ids.length], { dtype: 'i32', backend: model.backend })).toFloat32Array());
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

test('quantize --type q4_k_m|q5_k_m|q6_k: types, blocks and logits close to the f32 model', () => {
  const dir = tmp();
  const src = join(dir, 'f32.gguf');
  writeTiny(src);
  const ids = [1, 5, 9, 33, 2, 60, 7];
  const want = logitsOf(src, ids);
  const g0 = readGguf(src);
  // measured on this model: weight error (blk.0.attn_q) Q4_K 0.072, Q5_K 0.036, Q6_K 0.018 (q4_0: 0.086);
  // logits error Q4_K_M 0.172, Q5_K_M 0.091, Q6_K 0.055 (q4_0: 0.243, q8_0: 0.019) — random weights amplify it
  for (const [mix, wErr, lErr] of [['q4_k_m', 0.09, 0.21], ['q5_k_m', 0.045, 0.11], ['q6_k', 0.025, 0.07]] as const) {
    const out = join(dir, `${mix}.gguf`);
    quantizeModel(src, mix, out);
    const g = readGguf(out);
    const types = Object.fromEntries(g.tensorInfos.map((t) => [t.name, t.typeName]));
    const base = mix === 'q4_k_m' ? 'Q4_K' : mix === 'q5_k_m' ? 'Q5_K' : 'Q6_K';
    // 2 layers: use_more_bits(i, 2) holds for layer 1 only (i >= 7n/8), so its attn_v and ffn_down are Q6_K
    assert.deepEqual(
      [types['output.weight'], types['token_embd.weight'], types['blk.0.attn_q.weight'], types['blk.1.ffn_up.weight'], types['blk.0.attn_v.weight'],
        types['blk.1.attn_v.weight'], types['blk.0.ffn_down.weight'], types['blk.1.ffn_down.weight'], types['blk.0.attn_norm.weight']],
      ['Q6_K', base, base, base, base, 'Q6_K', base, 'Q6_K', 'F32'], mix);
    assert.equal(g.metadata['general.file_type'], { q4_k_m: 15, q5_k_m: 17, q6_k: 18 }[mix]);
    for (const name of ['blk.0.attn_q.weight', 'blk.1.ffn_down.weight', 'output.weight']) {
      const e = relErr(f32Of(g.tensors.get(name) as View), f32Of(g0.tensors.get(name) as View));
      const bound = types[name] === 'Q6_K' ? 0.025 : wErr;
      assert.ok(e < bound, `${mix} ${name} (${types[name]}): weight error ${e.toFixed(4)} >= ${bound}`);
    }
    const got = logitsOf(out, ids);
    const le = relErr(got, want);
    assert.ok(le < lErr, `${mix}: logits error ${le.toFixed(4)} >= ${lErr}`);
  }
  // the CLI as documented
  const out = execFileSync('node', [join(repoRoot, 'bin/moss.js'), 'quantize', '--model', src, '--type', 'q4_k_m', '--out', join(dir, 'cli.gguf'), '--quiet'], { encoding: 'utf8' });
  assert.match(out, /^wrote .*cli\.gguf: 21 tensors, arch llama, q4_k_m;/);
  assert.throws(() => execFileSync('node', [join(repoRoot, 'bin/moss.js'), 'quantize', '--model', src, '--type', 'q3_k_m', '--out', join(dir, 'x.gguf')], { stdio: 'pipe' }),
    /--type: "q3_k_m" is not q8_0, q4_0, q4_k_m, q5_k_m or q6_k/);
});
