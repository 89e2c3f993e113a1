/**
 * MOSS GPTQ releases wired in: a moss-a-shaped folder in the -int4/-int8 layout (qweight packed
 * along K, qzeros stored as zero - 1, f16 scales, g_idx, `wbits`/`groupsize` in config.json; wte,
 * LayerNorms and lm_head stay fp16), packed here by the same rule as dev/gptq_reference.py (whose
 * PyTorch goldens test/quant/gptq.test.ts checks the dequantization against). Its q8_0 conversion gives
 * logits close to the dequantized model's; `moss quantize` dequantizes exactly (bit-exact with the
 * reference blocks of the exact f32 weights) instead of reading packed ints as floats; loading this
 * groupsize-16 folder is refused (its 32 in-features are not a whole 128-value block; the GPTQ kernel
 * holds groups of 128, or of 32 / 64 with a scale per 32 values: test/models/gptq-golden.test.ts loads
 * those) naming the layer and `moss quantize`; a groupsize that does not divide the
 * in-features is one line naming the file and tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf, readSafetensors } from '../../src/io/index.js';
import { writeTorch, type TorchWriteTensor } from '../../src/io/torch-write.js';
import { f16ToF32, f32ToF16 } from '../../src/backends/dtype.js';
import { quantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { f32Of, quantizeModel } from '../../src/models/quantize.js';
import { loadModel } from '../../src/models/load.js';
import { FIXTURES, logitsOf } from './helpers.js';

/** GPTQ-packs W (N, K) with `bits` and groups of `gs`; returns the parts and the exact dequantized W. */
function pack(w: Float32Array, N: number, K: number, bits: number, gs: number) {
  const G = K / gs, per = 32 / bits, maxq = (1 << bits) - 1;
  const qweight = new Int32Array((K / per) * N), qzeros = new Int32Array(G * (N / per));
  const scales = new Uint16Array(G * N), deq = new Float32Array(N * K);
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      let lo = 0, hi = 0;
      for (let k = g * gs; k < (g + 1) * gs; k++) { lo = Math.min(lo, w[n * K + k]); hi = Math.max(hi, w[n * K + k]); }
      const s = f16ToF32(f32ToF16((hi - lo) / maxq || 1e-3));
      scales[g * N + n] = f32ToF16(s);
      const z = Math.min(maxq, Math.max(1, Math.round(-lo / s)));
      qzeros[g * (N / per) + Math.floor(n / per)] |= ((z - 1) & maxq) << (bits * (n % per));
      for (let k = g * gs; k < (g + 1) * gs; k++) {
        const q = Math.min(maxq, Math.max(0, Math.round(w[n * K + k] / s) + z));
        qweight[Math.floor(k / per) * N + n] |= q << (bits * (k % per));
        deq[n * K + k] = Math.fround(s * (q - z));
      }
    }
  }
  const gIdx = Int32Array.from({ length: K }, (_, k) => Math.floor(k / gs));
  return { qweight, qzeros, scales, gIdx, deq, G, per };
}

function gptqFolder(dir: string, bits: number, gs: number, groupsizeInConfig = gs): Map<string, Float32Array> {
  const st = readSafetensors(join(FIXTURES, 'moss-a', 'model.safetensors'));
  const t: TorchWriteTensor[] = [];
  const exact = new Map<string, Float32Array>();
  const b = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const [name, v] of st.tensors) {
    const w = f32Of(v);
    if (/\.h\.\d+\.(attn\.(qkv|out)_proj|mlp\.fc_(in|out))\.weight$/.test(name)) {
      const [N, K] = v.shape;
      const p = name.slice(0, -'.weight'.length);
      const q = pack(w, N, K, bits, gs);
      t.push({ name: `${p}.qweight`, dtype: 'i32', shape: [K / q.per, N], data: b(q.qweight) });
      t.push({ name: `${p}.qzeros`, dtype: 'i32', shape: [q.G, N / q.per], data: b(q.qzeros) });
      t.push({ name: `${p}.scales`, dtype: 'f16', shape: [q.G, N], data: b(q.scales) });
      t.push({ name: `${p}.g_idx`, dtype: 'i32', shape: [K], data: b(q.gIdx) });
      exact.set(name, q.deq);
    } else {
      const h = Uint16Array.from(w, (x) => f32ToF16(x));
      t.push({ name, dtype: 'f16', shape: v.shape, data: b(h) });
      exact.set(name, Float32Array.from(h, (x) => f16ToF32(x)));
    }
  }
  writeTorch(join(dir, 'pytorch_model.bin'), t);
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'moss-a', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, wbits: bits, groupsize: groupsizeInConfig }));
  return exact;
}

for (const bits of [4, 8]) {
  test(`GPTQ int${bits} MOSS folder, groupsize 16: quantizes exactly; loading refuses by name and the q8_0 it names is close to the exact weights`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'moss-gptq-'));
    try {
      const exact = gptqFolder(dir, bits, 16);
      const out = join(dir, 'q.gguf');
      quantizeModel(dir, 'q8_0', out);
      const g = readGguf(out);
      assert.equal(g.tensorInfos.some((x) => /qweight|qzeros|scales|g_idx/.test(x.name)), false);
      for (const [name, w] of exact) {
        const info = g.tensorInfos.find((x) => x.name === name)!;
        assert.ok(info, name);
        const bytes = new Uint8Array(g.storage.buffer, g.storage.byteOffset + info.byteOffset, info.byteLength);
        if (info.shape.length === 2) assert.deepEqual(bytes, quantizeQ8_0(w), name);
        else assert.deepEqual(new Float32Array(bytes.slice().buffer), w, name);
      }
      // groups of 16 cannot sit in the GPTQ kernel's 128-value blocks exactly: refused, naming the field
      // and the conversion above (exact dequantization, then q8_0) instead of re-quantizing silently
      assert.throws(() => loadModel(dir), /pytorch_model\.bin: GPTQ layer 'transformer\.h\.0\.attn\.qkv_proj': 32 in-features are not a multiple of 128, .*`moss quantize --type q8_0`/);
      // that q8_0: logits near those of the f32 model holding the exact dequantized weights
      const ids = [1, 5, 9, 3, 7];
      const got = logitsOf(out, ids);
      const refDir = mkdtempSync(join(dir, 'ref'));
      const tensors = new Map([...exact].map(([k, v]) => [k, { name: k, dtype: 'f32' as const, shape: readSafetensors(join(FIXTURES, 'moss-a', 'model.safetensors')).tensors.get(k)!.shape, data: new Uint8Array(v.buffer) }]));
      writeTorch(join(refDir, 'pytorch_model.bin'), [...tensors.values()]);
      writeFileSync(join(refDir, 'config.json'), readFileSync(join(FIXTURES, 'moss-a', 'config.json')));
      const want = logitsOf(refDir, ids);
      // the GGUF's blocks equal a plain q8_0 conversion of the exact weights (checked above), so its
      // logits lose what that conversion loses
      const plain = join(refDir, 'plain.gguf');
      quantizeModel(refDir, 'q8_0', plain);
      const base = logitsOf(plain, ids);
      const maxDiff = (a: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - want[i])), 0);
      assert.ok(maxDiff(got) <= maxDiff(base) + 1e-4, `GPTQ -> q8_0 max |diff| ${maxDiff(got)} vs plain q8_0 ${maxDiff(base)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a GPTQ groupsize that does not divide the in-features is one line naming file and tensor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-gptq-bad-'));
  try {
    gptqFolder(dir, 4, 16, 24);
    assert.throws(() => quantizeModel(dir, 'q4_0', join(dir, 'x.gguf')), /: tensor 'transformer\.h\.0\.attn\.qkv_proj\.qweight': groupsize 24 does not divide the 32 in-features$/);
    assert.throws(() => loadModel(dir), /pytorch_model\.bin: tensor 'transformer\.h\.0\.attn\.qkv_proj\.qweight': groupsize 24 does not divide the 32 in-features/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
