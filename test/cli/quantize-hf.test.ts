/**
 * `moss quantize` on HF folders: a LLaMA GQA folder becomes a llama.cpp-named GGUF (q/k rows permuted
 * as convert_hf_to_gguf does) whose logits stay close to the f32 model's; a MOSS folder becomes arch
 * `moss` with HF names and the config text, quantized weights close to the originals. Also: the
 * tokenizer travels as GGUF metadata and rebuilds to the same ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantizeModel } from '../../src/models/quantize.js';
import { openHfFolder, readGguf } from '../../src/io/index.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { dequantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { tokenizerFromGgufMetadata } from '../../src/tokenizer/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { logitsOf, normErr } from '../models/helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIX = join(root, 'test', 'fixtures', 'models');
const SHARED = process.env.MOSS_SHARED ?? join(root, '..', 'shared');

const logits = (path: string): Float32Array => logitsOf(path, [1, 5, 9, 3, 7, 2, 11, 4]);

test('quantize: HF LLaMA (GQA) folder -> llama.cpp GGUF with the same logits (q8_0)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-qhf-'));
  try {
    const src = join(FIX, 'llama-gqa');
    const out = join(dir, 'l.gguf');
    quantizeModel(src, 'q8_0', out);
    const g = readGguf(out);
    assert.equal(g.metadata['general.architecture'], 'llama');
    assert.equal(g.metadataTypes['llama.rope.freq_base'], 'f32', 'llama.cpp reads rope.freq_base as f32');
    assert.equal(g.tensors.get('blk.0.attn_k.weight')!.dtype, 'q8_0');
    const err = normErr(logits(out), logits(src));
    assert.ok(err < 0.03, `normalised logit error ${err}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantize: HF MOSS folder -> arch moss GGUF (HF names, config text, buffers dropped)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-qhf-'));
  try {
    const src = join(FIX, 'moss-a-bin');
    const out = join(dir, 'm.gguf');
    quantizeModel(src, 'q8_0', out);
    const g = readGguf(out);
    const hf = openHfFolder(src);
    assert.equal(g.metadata['general.architecture'], 'moss');
    assert.deepEqual(JSON.parse(String(g.metadata['moss.config'])), hf.config);
    assert.ok(![...g.tensors.keys()].some((n) => /causal_mask|masked_bias/.test(n)), 'buffers are not weights');
    const name = 'transformer.h.0.attn.qkv_proj.weight';
    const q = g.tensors.get(name)!;
    assert.equal(q.dtype, 'q8_0');
    const bytes = new Uint8Array(q.storage.buffer, q.storage.byteOffset, q.storage.byteLength);
    const deq = dequantizeQ8_0(bytes, q.shape[0] * q.shape[1]);
    const orig = Tensor.fromView(refBackend, hf.get(name)).toFloat32Array();
    assert.ok(normErr(deq, orig) < 0.01, 'q8_0 weights within a block step of the originals');
    assert.equal(g.tensors.get('transformer.h.0.ln_1.weight')!.dtype, 'f32');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const gpt2 = join(SHARED, 'tokenizers', 'gpt2');
const tok512 = join(SHARED, 'models', 'stories260K', 'tok512.bin');
test('tokenizers export GGUF metadata that rebuilds to the same ids', { skip: !existsSync(gpt2) && 'shared data not found' }, () => {
  const text = 'Hello world! 你好，世界。  def f(x):\n\treturn x**2 <|endoftext|>';
  for (const path of [gpt2, tok512]) {
    const a = loadTokenizer(path);
    const md = (a as unknown as { ggufMetadata(): Record<string, unknown> }).ggufMetadata();
    const b = tokenizerFromGgufMetadata(md);
    assert.equal(b.vocabSize, a.vocabSize, path);
    for (const special of ['allow', 'none'] as const) {
      assert.deepEqual(b.encode(text, { special }), a.encode(text, { special }), `${path} special=${special}`);
    }
  }
});
