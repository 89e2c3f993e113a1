/**
 * The streaming quantizer (src/models/quantize.ts) on a MOSS release-shaped folder: fp16 torch
 * shards + pytorch_model.bin.index.json + attn.causal_mask buffers (written by our torch writer,
 * which torch 1.13 reads — dev/io/torch_write_check.sh). Read in pieces of a few rows, every 2-d
 * weight must equal ggml's reference quantizer over the same f16 values bit for bit; progress
 * reaches the total; bad input (truncated shard, index naming a tensor no shard has, shard missing)
 * fails with one line naming file and tensor, and leaves no output or temp file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf, readSafetensors } from '../../src/io/index.js';
import { writeTorch, type TorchWriteTensor } from '../../src/io/torch-write.js';
import { f16ToF32, f32ToF16 } from '../../src/backends/dtype.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { f32Of, quantizeModel } from '../../src/models/quantize.js';
import { FIXTURES } from './helpers.js';

/** moss-a as the fp16 release writes it: two shards, an index, causal_mask buffers. */
function releaseFolder(dir: string): Map<string, Uint16Array> {
  const st = readSafetensors(join(FIXTURES, 'moss-a', 'model.safetensors'));
  const half = new Map<string, Uint16Array>();
  const shards: TorchWriteTensor[][] = [[], []];
  const index: Record<string, string> = {};
  for (const [name, v] of st.tensors) {
    const w = f32Of(v);
    const h = Uint16Array.from(w, (x) => f32ToF16(x));
    half.set(name, h);
    const s = name.startsWith('transformer.h.1') || name.startsWith('lm_head') ? 1 : 0;
    shards[s].push({ name, dtype: 'f16', shape: v.shape, data: new Uint8Array(h.buffer) });
    index[name] = `pytorch_model-0000${s + 1}-of-00002.bin`;
  }
  for (const l of [0, 1]) {
    const name = `transformer.h.${l}.attn.causal_mask`;
    shards[l].push({ name, dtype: 'bool', shape: [1, 1, 64, 64], data: new Uint8Array(64 * 64).fill(1) });
    index[name] = `pytorch_model-0000${l + 1}-of-00002.bin`;
  }
  shards.forEach((t, i) => writeTorch(join(dir, `pytorch_model-0000${i + 1}-of-00002.bin`), t));
  writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: index }));
  writeFileSync(join(dir, 'config.json'), readFileSync(join(FIXTURES, 'moss-a', 'config.json'), 'utf8'));
  return half;
}

test('moss quantize streams an fp16 sharded release: every weight bit-exact with ggml reference blocks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-qs-'));
  try {
    const half = releaseFolder(dir);
    for (const q of ['q4_0', 'q8_0'] as const) {
      const out = join(dir, `m-${q}.gguf`);
      const seen: number[] = [];
      const r = quantizeModel(dir, q, out, { chunkBytes: 200, onProgress: (p) => seen.push(p.done / p.total) });
      assert.equal(r.arch, 'moss');
      assert.equal(seen.at(-1), 1);
      assert.ok(seen.every((x, i) => i === 0 || x >= seen[i - 1]));
      const g = readGguf(out);
      assert.equal(g.tensorInfos.some((t) => t.name.includes('causal_mask')), false);
      assert.equal(g.tensorInfos.length, half.size);
      for (const [name, h] of half) {
        const info = g.tensorInfos.find((t) => t.name === name)!;
        const bytes = new Uint8Array(g.storage.buffer, g.storage.byteOffset + info.byteOffset, info.byteLength);
        const f = Float32Array.from(h, (x) => f16ToF32(x));
        if (info.shape.length === 2) {
          assert.equal(info.typeName, q.toUpperCase());
          assert.deepEqual(bytes, q === 'q4_0' ? quantizeQ4_0(f) : quantizeQ8_0(f), name);
        } else {
          assert.equal(info.typeName, 'F32');
          assert.deepEqual(new Float32Array(bytes.slice().buffer), f, name);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad release folders fail with one line naming file and tensor, leaving nothing behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-qs-bad-'));
  try {
    releaseFolder(dir);
    const out = join(dir, 'out.gguf');
    const clean = () => readdirSync(dir).filter((f) => f.includes('.gguf'));
    // a shard truncated in the middle of a tensor
    const shard2 = join(dir, 'pytorch_model-00002-of-00002.bin');
    const full = statSync(shard2).size;
    truncateSync(shard2, Math.floor(full / 2));
    assert.throws(() => quantizeModel(dir, 'q4_0', out), (e: Error) => /pytorch_model-00002-of-00002\.bin: tensor '[\w.]+': truncated: the file ends at byte \d+/.test(e.message) && !e.message.includes('\n'));
    assert.deepEqual(clean(), []);
    // the index names a tensor that no shard has
    releaseFolder(dir);
    const idx = JSON.parse(readFileSync(join(dir, 'pytorch_model.bin.index.json'), 'utf8'));
    idx.weight_map['transformer.h.9.mlp.fc_in.weight'] = 'pytorch_model-00001-of-00002.bin';
    writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify(idx));
    assert.throws(() => quantizeModel(dir, 'q4_0', out), /pytorch_model-00001-of-00002\.bin: tensor 'transformer\.h\.9\.mlp\.fc_in\.weight': listed in pytorch_model\.bin\.index\.json but not in this shard/);
    assert.deepEqual(clean(), []);
    // a shard the index names is missing
    delete idx.weight_map['transformer.h.9.mlp.fc_in.weight'];
    writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify(idx));
    rmSync(shard2);
    assert.throws(() => quantizeModel(dir, 'q4_0', out), /pytorch_model-00002-of-00002\.bin: shard listed in pytorch_model\.bin\.index\.json is missing \(it holds tensor 'transformer\./);
    assert.deepEqual(clean(), []);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
