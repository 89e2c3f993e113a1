/**
 * The loader: GGUF files converted from the golden HF checkpoints the way llama.cpp's
 * convert_hf_to_gguf.py does (q/k rows permuted for arch llama, not for qwen2) reproduce the
 * PyTorch logits; wrong checkpoints fail with one message naming the file and the tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { View } from '../../src/backends/backend.js';
import { availableBackends, configureEngine } from '../../src/backends/index.js';
import { readSafetensors, writeGguf, writeSafetensors } from '../../src/io/index.js';
import { viewBytes } from '../../src/io/views.js';
import { hfWeights } from '../../src/models/hf-weights.js';
import { loadModel } from '../../src/models/load.js';
import type { Module } from '../../src/nn/index.js';
import { checkWidenedSize } from '../../src/models/weights.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { assertClose, FIXTURES, golden } from './helpers.js';

/** llama.cpp's permute(): rows of each head reordered from half-split to adjacent pairs. */
function permute(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = rows / nHead / 2;
  // reshape (nHead, 2, half, cols) -> swapaxes(1, 2) -> (nHead, half, 2, cols)
  for (let h = 0; h < nHead; h++) {
    for (let two = 0; two < 2; two++) {
      for (let i = 0; i < half; i++) {
        const src = ((h * 2 + two) * half + i) * cols;
        const dst = ((h * half + i) * 2 + two) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

function f32Of(v: View): Float32Array {
  const b = viewBytes(v);
  if (v.dtype === 'f32') return new Float32Array(b.slice().buffer);
  const u = new Uint16Array(b.slice().buffer); // bf16 fixture
  const out = new Float32Array(u.length);
  const u32 = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) u32[i] = u[i] << 16;
  return out;
}

function toGguf(name: string, arch: 'llama' | 'qwen2', dir: string): string {
  const cfg = JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as Record<string, number | boolean>;
  const st = readSafetensors(join(FIXTURES, name, 'model.safetensors'));
  const H = cfg.num_attention_heads as number;
  const Hkv = cfg.num_key_value_heads as number;
  const tensors = [];
  const hfToGguf: Array<[RegExp, string]> = [
    [/^model\.embed_tokens\.weight$/, 'token_embd.weight'], [/^model\.norm\.weight$/, 'output_norm.weight'], [/^lm_head\.weight$/, 'output.weight'],
    [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'], [/^model\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(\w+)$/, 'blk.$1.attn_$2.$3'],
    [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'blk.$1.attn_output.weight'], [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
    [/^model\.layers\.(\d+)\.mlp\.(gate|up|down)_proj\.weight$/, 'blk.$1.ffn_$2.weight'],
  ];
  for (const [n, v] of st.tensors) {
    const rule = hfToGguf.find(([re]) => re.test(n));
    assert.ok(rule, n);
    let data = f32Of(v);
    if (arch === 'llama' && /self_attn\.[qk]_proj\.weight$/.test(n)) data = permute(data, v.shape[0], v.shape[1], n.includes('q_proj') ? H : Hkv);
    tensors.push({ name: n.replace(rule[0], rule[1]), dtype: 'f32', shape: v.shape, data: new Uint8Array(data.buffer) });
  }
  const path = join(dir, `${name}.gguf`);
  writeGguf(path, {
    metadata: {
      'general.architecture': arch,
      [`${arch}.context_length`]: cfg.max_position_embeddings, [`${arch}.embedding_length`]: cfg.hidden_size,
      [`${arch}.block_count`]: cfg.num_hidden_layers, [`${arch}.feed_forward_length`]: cfg.intermediate_size,
      [`${arch}.attention.head_count`]: H, [`${arch}.attention.head_count_kv`]: Hkv,
      [`${arch}.attention.layer_norm_rms_epsilon`]: cfg.rms_norm_eps, [`${arch}.rope.freq_base`]: cfg.rope_theta,
      'tokenizer.ggml.bos_token_id': cfg.bos_token_id, 'tokenizer.ggml.eos_token_id': cfg.eos_token_id,
    },
    tensors,
  });
  return path;
}

const tmp = mkdtempSync(join(tmpdir(), 'moss-models-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

for (const [name, arch] of [['llama-gqa', 'llama'], ['qwen2-tied', 'qwen2']] as const) {
  test(`GGUF (${arch}) converted from ${name} matches the PyTorch logits`, () => {
    const path = toGguf(name, arch, tmp);
    const g = golden(name);
    const { model, format } = loadModel(path);
    assert.equal(format, 'gguf');
    const [B, T] = g.shape;
    const out = tidy(() => model.forward(tensor(g.input_ids.flat(), [B, T], { dtype: 'i32' })));
    // f32 GGUF; the bf16 fixture is widened exactly, so the tolerance stays tight
    assertClose(out.toFloat32Array(), g.logits, 2e-5, 'gguf logits');
    out.dispose();
    model.dispose();
  });
}

/** A copy of fixture `name` in a temp folder, for breaking. */
function copyFixture(name: string, files: string[]): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  for (const f of files) copyFileSync(join(FIXTURES, name, f), join(dir, f));
  return dir;
}

test('unknown model_type names config.json and the type', () => {
  const dir = copyFixture('moss-a', ['model.safetensors']);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt_neox', hidden_size: 8 }));
  assert.throws(() => loadModel(dir), (e: Error) => e.message.includes(join(dir, 'config.json')) && e.message.includes("'gpt_neox'"));
});

test('a missing shard names the shard file and a tensor it holds', () => {
  const dir = copyFixture('moss-a-bin', ['config.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model.bin.index.json']);
  assert.throws(() => loadModel(dir), (e: Error) => /pytorch_model-00002-of-00002\.bin: shard listed in pytorch_model\.bin\.index\.json is missing \(it holds tensor 'transformer\./.test(e.message));
});

test('a missing tensor and a shape mismatch name the file and the tensor', () => {
  const st = readSafetensors(join(FIXTURES, 'moss-a', 'model.safetensors'));
  const dir = copyFixture('moss-a', ['config.json']);
  const file = join(dir, 'model.safetensors');
  const without = new Map(st.tensors);
  without.delete('transformer.h.1.mlp.fc_in.bias');
  writeSafetensors(file, without);
  assert.throws(() => loadModel(dir), (e: Error) => e.message.startsWith(`${file}: tensor 'transformer.h.1.mlp.fc_in.bias' is missing`));
  const wrong = new Map(st.tensors);
  const lm = st.tensors.get('lm_head.bias')!;
  wrong.set('lm_head.bias', { ...lm, shape: [lm.shape[0] - 2], strides: [1] });
  writeSafetensors(file, wrong);
  assert.throws(() => loadModel(dir), (e: Error) => e.message.startsWith(`${file}: tensor 'lm_head.bias' has shape [48], but ${join(dir, 'config.json')} implies [50]`));
});

test('a missing config field is named', () => {
  const dir = copyFixture('moss-a', ['model.safetensors']);
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'moss-a', 'config.json'), 'utf8')) as Record<string, unknown>;
  delete cfg.rotary_dim;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  assert.throws(() => loadModel(dir), (e: Error) => e.message === `${join(dir, 'config.json')}: 'rotary_dim' is missing`);
});

test('a checkpoint whose f16 weights cannot be widened in memory is refused up front, naming moss quantize', () => {
  const src = hfWeights(join(FIXTURES, 'moss-a-bin'));
  let bytes = 0;
  for (const v of src.views!()) if (v.dtype === 'f16' || v.dtype === 'bf16') bytes += v.shape.reduce((a, d) => a * d, 1) * 4;
  assert.ok(bytes > 0, 'the fixture holds f16 weights');
  assert.doesNotThrow(() => checkWidenedSize(src, bytes));
  assert.throws(() => checkWidenedSize(src, bytes - 1), (e: Error) =>
    e.message.startsWith(`${join(FIXTURES, 'moss-a-bin', 'pytorch_model.bin.index.json')}: its f16/bf16 weights become`) && e.message.includes('moss quantize'));
});

test('f16/bf16 linear weights stay half precision on a backend that multiplies them, with the logits of widened weights', () => {
  const backend = availableBackends().find((b) => b.supports('matmul_half'));
  if (!backend) return; // the ref backend widens every half weight (covered by the goldens)
  for (const [name, dtype] of [['moss-a-bin', 'f16'], ['qwen2-tied', 'bf16']] as const) {
    const g = golden(name.replace(/-bin$/, '')); // moss-a-bin holds moss-a's weights as fp16 shards
    const [B, T] = g.shape;
    const logits = (): { dtypes: Set<string>; out: Float32Array } => {
      const { model } = loadModel(join(FIXTURES, name), { backend });
      const dtypes = new Set([...(model as unknown as Module).namedParameters()].map(([, p]) => p.dtype));
      const out = tidy(() => model.forward(tensor(g.input_ids.flat(), [B, T], { dtype: 'i32', backend })).toFloat32Array());
      model.dispose();
      return { dtypes, out };
    };
    const kept = logits();
    assert.ok(kept.dtypes.has(dtype), `${name}: ${dtype} weights kept (got ${[...kept.dtypes]})`);
    const before = configureEngine({ keepHalf: false }); // what MOSS_WIDEN_HALF=1 sets at the CLI
    let widened;
    try {
      widened = logits();
    } finally {
      configureEngine(before);
    }
    assert.deepEqual([...widened.dtypes], ['f32'], `${name}: keepHalf false (MOSS_WIDEN_HALF=1) widens every weight`);
    assertClose(kept.out, widened.out, 1e-6, `${name}: half vs widened logits`);
    assertClose(kept.out, g.logits, 2e-5, `${name}: half weights vs PyTorch`);
  }
});
