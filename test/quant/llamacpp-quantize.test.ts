/**
 * Our k-quant quantizer (native/src/kquant/quantize.cc, `moss quantize --type q4_k_m|q5_k_m|q6_k`)
 * against llama.cpp's own: test/fixtures/kquant/llamacpp-quantized.json holds f32 rows of a
 * Gaussian-weight LLaMA model and the Q4_K / Q5_K / Q6_K blocks llama.cpp's llama-quantize wrote for
 * them (no imatrix; made by `LLAMA_QUANTIZE=... GOLDENS=... node dev/llamacpp_kquant_check.mjs`,
 * see that script). Our blocks must equal them byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeBackend } from '../../src/backends/native/index.js';
import { quantizedBytes, quantizeInto } from '../../src/io/quantize-rows.js';
import { fixtures } from '../io/helpers.js';

interface Golden { source: string; tensors: { name: string; type: 'q4_k' | 'q5_k' | 'q6_k'; rows: number; rowLength: number; f32: string; blocks: string }[] }

const FILES = ['llamacpp-quantized-q4_k_m.json', 'llamacpp-quantized-q5_k_m.json'];

test('our q4_K / q5_K / q6_K blocks equal llama-quantize\'s byte for byte', { skip: loadNativeBackend() ? false : 'native addon not built' }, () => {
  const seen = new Set<string>();
  for (const file of FILES) {
    const g = JSON.parse(readFileSync(join(fixtures, '..', 'kquant', file), 'utf8')) as Golden;
    assert.match(g.source, /^llama\.cpp llama-quantize/);
    for (const t of g.tensors) {
      const src = new Uint8Array(Buffer.from(t.f32, 'base64'));
      const want = new Uint8Array(Buffer.from(t.blocks, 'base64'));
      assert.equal(src.length, t.rows * t.rowLength * 4);
      const got = new Uint8Array(quantizedBytes(t.type, t.rows * t.rowLength));
      quantizeInto(t.type, src, 'f32', got);
      let i = 0;
      while (i < want.length && got[i] === want[i]) i++;
      assert.equal(i, want.length, `${file} ${t.name} (${t.type}): first differing byte ${i} of ${want.length}`);
      seen.add(t.type);
    }
  }
  assert.deepEqual([...seen].sort(), ['q4_k', 'q5_k', 'q6_k']);
});
