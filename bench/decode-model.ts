/**
 * Random-weight models for the decode bench, written straight to GGUF: LLaMA-shaped files in
 * llama.cpp's naming (so node-llama-cpp loads the same file) and MOSS-shaped files in our own `moss`
 * naming (HF tensor names + the config.json text under `moss.config`; see docs/quantization.md).
 * Quantized blocks are generated directly (no float weights): a 16 MiB pool of random bytes with a
 * fixed f16 scale patched into every block is streamed to disk with a rotating start, so a
 * 16B-parameter file is written at disk speed (f16 weights: a pool of random halves of magnitude
 * 2^-10 .. 2^-4). Norm weights are 1, biases 0.
 * Deliberately does not: produce a meaningful model (the weights are noise; only speed is measured).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeGguf, type GgufWriteTensor } from '../src/io/index.js';
import { f32ToF16 } from '../src/backends/dtype.js';
import { kmixPicker } from '../src/models/kquant-mix.js';

/** A file's weight type: one block type for every matrix (k-quants too, as llama-quantize --pure
 *  writes), or llama.cpp's Q4_K_M mix (Q4_K + Q6_K). */
export type QType = 'q8_0' | 'q4_0' | 'f16' | 'q4_k_m' | KType;
type KType = 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k';
type BlockType = 'q8_0' | 'q4_0' | 'f16' | KType;
export interface LlamaShape { C: number; L: number; H: number; Hkv: number; F: number; V: number }
export interface MossShape { C: number; L: number; H: number; V: number; rotaryDim: number }
interface Spec { name: string; dtype: 'f32' | BlockType; shape: number[]; fill: 'one' | 'zero' | 'rand' }

/** Bytes per block and values per block. */
const BB: Record<BlockType, number> = { q8_0: 34, q4_0: 18, f16: 64, q2_k: 84, q3_k: 110, q4_k: 144, q5_k: 176, q6_k: 210 };
const BS: Record<BlockType, number> = { q8_0: 32, q4_0: 32, f16: 32, q2_k: 256, q3_k: 256, q4_k: 256, q5_k: 256, q6_k: 256 };
/** k-quant f16 scale offsets in a block and the scale giving ~0.02-sized values (q2_k: d*sc*q -
 *  dmin*m, sc, m < 16, q < 4; q3_k: d*sc*q, |sc| <= 32, |q| <= 4; q4_k / q5_k: d*sc*q - dmin*m,
 *  sc, m < 64, q < 16 / 32; q6_k: d*sc*(q-32), |sc| < 128, |q-32| <= 32). */
const KSCALE: Record<KType, [number[], number]> = {
  q2_k: [[80, 82], 0.02 / (8 * 2)], q3_k: [[108], 0.02 / (16 * 2)], q4_k: [[0, 2], 0.02 / (32 * 8)],
  q5_k: [[0, 2], 0.02 / (32 * 16)], q6_k: [[208], 0.02 / (64 * 16)],
};
/** llama.cpp's general.file_type of a file whose matrices are all one k-quant type. */
const KFILE: Record<KType, number> = { q2_k: 10, q3_k: 11, q4_k: 14, q5_k: 16, q6_k: 18 };
const ALIGN = 32;

/** Bytes a tensor takes in the file (before alignment padding). */
function bytesOf(s: Spec): number {
  const n = s.shape.reduce((a, b) => a * b, 1);
  return s.dtype === 'f32' ? n * 4 : (n / BS[s.dtype]) * BB[s.dtype];
}

function pool(q: BlockType): Uint8Array {
  const bb = BB[q];
  const blocks = Math.floor((16 << 20) / bb);
  const p = new Uint8Array(blocks * bb);
  let x = 0x9e3779b9;
  const w = new Uint32Array(p.buffer, 0, p.length >> 2);
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    w[i] = x >>> 0;
  }
  if (q === 'f16') {
    const h = new Uint16Array(p.buffer, 0, p.length >> 1);
    for (let i = 0; i < h.length; i++) h[i] = (h[i]! & 0x83ff) | ((5 + (h[i]! >> 10) % 6) << 10); // sign, exponent 5..10, mantissa
    return p;
  }
  if (q in KSCALE) {
    const [offs, scale] = KSCALE[q as KType];
    const h = f32ToF16(scale);
    for (let b = 0; b < blocks; b++) for (const o of offs) { p[b * bb + o] = h & 0xff; p[b * bb + o + 1] = h >> 8; }
    return p;
  }
  // scale ~ 0.02 / 64 (q8_0) or 0.02 / 4 (q4_0) so weights are ~N(0, 0.02)-sized: f16 bits
  const d = q === 'q8_0' ? 0x0d3e : 0x1d1f;
  for (let b = 0; b < blocks; b++) {
    p[b * bb] = d & 0xff;
    p[b * bb + 1] = d >> 8;
  }
  return p;
}

/** Streams a GGUF with `specs` (random quantized blocks, f32 ones/zeros) to `path`. */
function writeStreaming(path: string, metadata: Record<string, unknown>, specs: Spec[]): void {
  const maxBytes = Math.max(...specs.map(bytesOf));
  const fake = new Uint8Array(maxBytes); // never touched: encodeGguf only checks lengths here
  const tensors: GgufWriteTensor[] = specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.shape, data: fake.subarray(0, bytesOf(s)) }));
  const header = encodeGguf({ metadata, tensors })[0];
  const pools = new Map<BlockType, Uint8Array>();
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    let rot = 0;
    for (const s of specs) {
      const n = bytesOf(s);
      if (s.dtype === 'f32') {
        const v = new Float32Array(n / 4).fill(s.fill === 'one' ? 1 : 0);
        writeSync(fd, new Uint8Array(v.buffer));
      } else {
        const q = s.dtype;
        const rnd = pools.get(q) ?? pools.set(q, pool(q)).get(q)!;
        let left = n;
        while (left > 0) {
          const start = ((rot * 7919) % (rnd.length / BB[q])) * BB[q];
          const take = Math.min(left, rnd.length - start);
          writeSync(fd, rnd, start, take);
          left -= take;
          rot++;
        }
      }
      const pad = (ALIGN - (n % ALIGN)) % ALIGN;
      if (pad) writeSync(fd, new Uint8Array(pad));
    }
  } finally {
    closeSync(fd);
  }
}

/** A SentencePiece-style vocabulary llama.cpp accepts: <unk> <s> </s>, 256 byte tokens, fillers. */
function llamaVocab(V: number): Record<string, unknown> {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (let i = tokens.length; i < V; i++) {
    tokens.push(`▁t${i}`);
    types.push(1);
  }
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': new Float32Array(V).map((_, i) => -i),
    'tokenizer.ggml.token_type': Int32Array.from(types),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
  };
}

/** Writes a random LLaMA model (llama.cpp names); returns the bytes of matmul weights read per token. */
export function writeLlamaGguf(path: string, s: LlamaShape, q: QType): number {
  const D = s.C / s.H;
  const names = ['token_embd.weight', 'output.weight'];
  for (let l = 0; l < s.L; l++) for (const t of ['attn_v', 'ffn_down']) names.push(`blk.${l}.${t}.weight`);
  const pick = kmixPicker('q4_k_m', names);
  const W = (name: string, shape: number[]): Spec => ({ name, dtype: q === 'q4_k_m' ? (pick(name, shape) as BlockType) : q, shape, fill: 'rand' });
  const specs: Spec[] = [W('token_embd.weight', [s.V, s.C])];
  for (let l = 0; l < s.L; l++) {
    const p = `blk.${l}.`;
    specs.push(
      { name: `${p}attn_norm.weight`, dtype: 'f32', shape: [s.C], fill: 'one' },
      W(`${p}attn_q.weight`, [s.C, s.C]),
      W(`${p}attn_k.weight`, [s.Hkv * D, s.C]),
      W(`${p}attn_v.weight`, [s.Hkv * D, s.C]),
      W(`${p}attn_output.weight`, [s.C, s.C]),
      { name: `${p}ffn_norm.weight`, dtype: 'f32', shape: [s.C], fill: 'one' },
      W(`${p}ffn_gate.weight`, [s.F, s.C]),
      W(`${p}ffn_up.weight`, [s.F, s.C]),
      W(`${p}ffn_down.weight`, [s.C, s.F]),
    );
  }
  specs.push({ name: 'output_norm.weight', dtype: 'f32', shape: [s.C], fill: 'one' }, W('output.weight', [s.V, s.C]));
  const md: Record<string, unknown> = {
    'general.architecture': 'llama',
    'general.name': `moss-bench-random-${q}`,
    'general.file_type': q === 'q8_0' ? 7 : q === 'q4_0' ? 2 : q === 'q4_k_m' ? 15 : q in KFILE ? KFILE[q as KType] : 1,
    'llama.context_length': 2048,
    'llama.embedding_length': s.C,
    'llama.block_count': s.L,
    'llama.feed_forward_length': s.F,
    'llama.attention.head_count': s.H,
    'llama.attention.head_count_kv': s.Hkv,
    'llama.attention.layer_norm_rms_epsilon': 1e-5,
    'llama.rope.dimension_count': D,
    'llama.vocab_size': s.V,
    ...llamaVocab(s.V),
  };
  writeStreaming(path, md, specs);
  return specs.filter((t) => t.dtype !== 'f32' && t.name !== 'token_embd.weight').reduce((a, t) => a + bytesOf(t), 0);
}

/** Writes a random MOSS (CodeGen) model in our `moss` GGUF naming; returns matmul weight bytes per token. */
export function writeMossGguf(path: string, s: MossShape, qt: QType): number {
  if (qt === 'q4_k_m') throw new Error('decode bench: the MOSS-shaped files are written in q8_0, q4_0 or f16');
  const q: BlockType = qt;
  const C = s.C, I = 4 * C;
  const specs: Spec[] = [{ name: 'transformer.wte.weight', dtype: q, shape: [s.V, C], fill: 'rand' }];
  for (let l = 0; l < s.L; l++) {
    const p = `transformer.h.${l}.`;
    specs.push(
      { name: `${p}ln_1.weight`, dtype: 'f32', shape: [C], fill: 'one' },
      { name: `${p}ln_1.bias`, dtype: 'f32', shape: [C], fill: 'zero' },
      { name: `${p}attn.qkv_proj.weight`, dtype: q, shape: [3 * C, C], fill: 'rand' },
      { name: `${p}attn.out_proj.weight`, dtype: q, shape: [C, C], fill: 'rand' },
      { name: `${p}mlp.fc_in.weight`, dtype: q, shape: [I, C], fill: 'rand' },
      { name: `${p}mlp.fc_in.bias`, dtype: 'f32', shape: [I], fill: 'zero' },
      { name: `${p}mlp.fc_out.weight`, dtype: q, shape: [C, I], fill: 'rand' },
      { name: `${p}mlp.fc_out.bias`, dtype: 'f32', shape: [C], fill: 'zero' },
    );
  }
  specs.push(
    { name: 'transformer.ln_f.weight', dtype: 'f32', shape: [C], fill: 'one' },
    { name: 'transformer.ln_f.bias', dtype: 'f32', shape: [C], fill: 'zero' },
    { name: 'lm_head.weight', dtype: q, shape: [s.V, C], fill: 'rand' },
    { name: 'lm_head.bias', dtype: 'f32', shape: [s.V], fill: 'zero' },
  );
  const config = { model_type: 'moss', n_embd: C, n_layer: s.L, n_head: s.H, rotary_dim: s.rotaryDim, n_positions: 2048, vocab_size: s.V,
    layer_norm_epsilon: 1e-5, n_inner: null, activation_function: 'gelu_new', bos_token_id: 106028, eos_token_id: 106068 };
  writeStreaming(path, { 'general.architecture': 'moss', 'general.name': `moss-bench-random-${q}`, 'moss.config': JSON.stringify(config) }, specs);
  return specs.filter((t) => t.dtype !== 'f32' && t.name !== 'transformer.wte.weight').reduce((a, t) => a + bytesOf(t), 0);
}
