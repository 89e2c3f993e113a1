/**
 * Writes a MOSS-16B-shaped checkpoint in a release layout (config keys and tensor names of
 * fnlp/moss-moon-003-*: 34 layers, n_embd 6144, 24 heads, rotary_dim 64, vocab 107008; random
 * weights, std 0.02, LayerNorms 1/0):
 * - 'fp16': `pytorch_model-0000N-of-0000M.bin` shards of ~10 GB (torch.save zip layout, ZIP64),
 *   `pytorch_model.bin.index.json`, `attn.causal_mask` (bool [1,1,2048,2048]) and `attn.masked_bias`
 *   buffers, as save_pretrained wrote them;
 * - 'int4' / 'int8': one `pytorch_model.bin` (GPTQ: qweight/qzeros/scales/g_idx per Linear,
 *   random packed integers; wte, LayerNorms and lm_head fp16), `wbits`/`groupsize` in config.json.
 * The MOSS tokenizer files from ../shared/tokenizers/moss are copied beside it when present.
 * Random bytes come from one 64 MiB block of normals reused at rotating offsets (writing 33 GB of
 * fresh normals in JS would dominate the run); the values are still N(0, 0.02^2).
 * Used by bench/moss16b.ts and dev/write_moss16b.mjs. Not part of `npm test`.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { f32ToF16 } from '../src/backends/dtype.js';
import { writeTorch, torchElemBytes, type TorchWriteTensor } from '../src/io/torch-write.js';

export type Layout = 'fp16' | 'int4' | 'int8';

/** The release's shape; `groupsize` is the GPTQ layouts' (128 in the releases; 32 / 64 are common AutoGPTQ settings). */
export const MOSS16B = { n_layer: 34, n_embd: 6144, n_head: 24, rotary_dim: 64, vocab_size: 107008, n_positions: 2048, groupsize: 128 };

/** config.json of moss-moon-003-sft (plus wbits/groupsize for the GPTQ releases). */
export function mossConfig(layout: Layout, s = MOSS16B): Record<string, unknown> {
  return {
    _name_or_path: `moss-moon-003-sft${layout === 'fp16' ? '' : `-${layout}`}`, activation_function: 'gelu_new', architectures: ['MossForCausalLM'],
    attn_pdrop: 0, bos_token_id: 106028, embd_pdrop: 0, eos_token_id: 106068, gradient_checkpointing: false, initializer_range: 0.02,
    layer_norm_epsilon: 1e-5, model_type: 'moss', n_ctx: s.n_positions, n_embd: s.n_embd, n_head: s.n_head, n_inner: null, n_layer: s.n_layer,
    n_positions: s.n_positions, resid_pdrop: 0, rotary_dim: s.rotary_dim, scale_attn_weights: true, summary_activation: null, summary_first_dropout: 0.1,
    summary_proj_to_labels: true, summary_type: 'cls_index', summary_use_proj: true, tie_word_embeddings: false, tokenizer_class: 'MossTokenizer',
    torch_dtype: 'float16', transformers_version: '4.25.1', use_cache: true, vocab_size: s.vocab_size,
    ...(layout === 'fp16' ? {} : { wbits: layout === 'int4' ? 4 : 8, groupsize: s.groupsize }),
  };
}

let block: Uint16Array | null = null;
/** 32 Mi f16 normals (std 0.02), made once. */
function normals(): Uint16Array {
  if (block) return block;
  const n = 32 * 2 ** 20;
  const u = new Uint32Array(n);
  randomFillSync(u);
  block = new Uint16Array(n);
  for (let i = 0; i < n; i += 2) {
    const a = (u[i] + 1) / 4294967297, b = u[i + 1] / 4294967296;
    const r = Math.sqrt(-2 * Math.log(a)) * 0.02;
    block[i] = f32ToF16(r * Math.cos(2 * Math.PI * b));
    block[i + 1] = f32ToF16(r * Math.sin(2 * Math.PI * b));
  }
  return block;
}

let rot = 0;
/** A producer of `size` bytes of f16 normals, starting at a rotating offset of the block. */
function halfNormals(): (off: number, n: number) => Uint8Array {
  const b = new Uint8Array(normals().buffer);
  const start = (rot = (rot + 7919 * 64) % (b.length / 2)) & ~1;
  return (off, n) => {
    const out = new Uint8Array(n);
    let p = (start + off) % b.length;
    for (let w = 0; w < n; ) {
      const k = Math.min(n - w, b.length - p);
      out.set(b.subarray(p, p + k), w);
      w += k;
      p = 0;
    }
    return out;
  };
}

const constHalf = (v: number) => (off: number, n: number) => new Uint8Array(new Uint16Array(n / 2).fill(f32ToF16(v)).buffer);
const randomBytes = () => (off: number, n: number) => randomFillSync(new Uint8Array(n));

/** The tensors of one release layout, in the order save_pretrained writes them. */
export function mossTensors(layout: Layout, s = MOSS16B): TorchWriteTensor[] {
  const C = s.n_embd, F = 4 * C, V = s.vocab_size;
  const t: TorchWriteTensor[] = [];
  const half = (name: string, shape: number[], data = halfNormals()) => t.push({ name, dtype: 'f16', shape, data });
  const linear = (p: string, N: number, K: number, bias: boolean) => {
    if (layout === 'fp16') half(`${p}.weight`, [N, K]);
    else {
      const bits = layout === 'int4' ? 4 : 8, per = 32 / bits, gs = s.groupsize, G = K / gs;
      t.push({ name: `${p}.qweight`, dtype: 'i32', shape: [K / per, N], data: randomBytes() });
      t.push({ name: `${p}.qzeros`, dtype: 'i32', shape: [G, N / per], data: randomBytes() });
      // scale so that (q - zero) * scale has std ~0.02: 4-bit steps of ~0.01, 8-bit of ~0.0006
      half(`${p}.scales`, [G, N], constHalf(bits === 4 ? 0.01 : 0.0006));
      t.push({ name: `${p}.g_idx`, dtype: 'i32', shape: [K], data: (off, n) => {
        const a = new Int32Array(n / 4);
        for (let i = 0; i < a.length; i++) a[i] = Math.floor((off / 4 + i) / gs);
        return new Uint8Array(a.buffer);
      } });
    }
    if (bias) half(`${p}.bias`, [N], constHalf(0));
  };
  half('transformer.wte.weight', [V, C]);
  for (let l = 0; l < s.n_layer; l++) {
    const p = `transformer.h.${l}`;
    half(`${p}.ln_1.weight`, [C], constHalf(1));
    half(`${p}.ln_1.bias`, [C], constHalf(0));
    if (layout === 'fp16') {
      const S = s.n_positions;
      t.push({ name: `${p}.attn.causal_mask`, dtype: 'bool', shape: [1, 1, S, S], data: (off, n) => {
        const a = new Uint8Array(n);
        for (let i = 0; i < n; i++) { const e = off + i; a[i] = e % S <= Math.floor(e / S) % S ? 1 : 0; }
        return a;
      } });
      t.push({ name: `${p}.attn.masked_bias`, dtype: 'f32', shape: [], data: new Uint8Array(new Float32Array([-1e9]).buffer) });
    }
    linear(`${p}.attn.qkv_proj`, 3 * C, C, false);
    linear(`${p}.attn.out_proj`, C, C, false);
    linear(`${p}.mlp.fc_in`, F, C, true);
    linear(`${p}.mlp.fc_out`, C, F, true);
  }
  half('transformer.ln_f.weight', [C], constHalf(1));
  half('transformer.ln_f.bias', [C], constHalf(0));
  half('lm_head.weight', [V, C]);
  half('lm_head.bias', [V], constHalf(0));
  return t;
}

const bytesOf = (x: TorchWriteTensor) => x.shape.reduce((a, b) => a * b, 1) * torchElemBytes(x.dtype);

/**
 * Writes the layout into `dir` (created): fp16 in shards of at most `shardBytes`, GPTQ as one file.
 * @example writeMoss16b('/tmp/moss16b', 'fp16', (done, total) => console.log(done / total))
 */
export function writeMoss16b(dir: string, layout: Layout, onBytes?: (done: number, total: number) => void, s = MOSS16B, shardBytes = 10e9): { bytes: number; files: string[] } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(mossConfig(layout, s), null, 2));
  const tok = join(process.env.MOSS_SHARED ?? join(import.meta.dirname, '..', '..', '..', 'shared'), 'tokenizers', 'moss');
  if (existsSync(tok)) for (const f of readdirSync(tok)) if (f !== 'config.json' && (f.endsWith('.json') || f.endsWith('.txt'))) copyFileSync(join(tok, f), join(dir, f));
  const all = mossTensors(layout, s);
  const total = all.reduce((a, x) => a + bytesOf(x), 0);
  const shards: TorchWriteTensor[][] = [];
  if (layout === 'fp16') {
    let cur: TorchWriteTensor[] = [];
    let size = 0;
    for (const x of all) {
      if (size + bytesOf(x) > shardBytes && cur.length) { shards.push(cur); cur = []; size = 0; }
      cur.push(x);
      size += bytesOf(x);
    }
    shards.push(cur);
  } else shards.push(all);
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  let base = 0;
  shards.forEach((sh, i) => {
    const f = shards.length === 1 ? 'pytorch_model.bin' : `pytorch_model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.bin`;
    for (const x of sh) weightMap[x.name] = f;
    writeTorch(join(dir, f), sh, { archive: f.replace(/\.bin$/, ''), onTensor: (_n, done) => onBytes?.(base + done, total) });
    base += sh.reduce((a, x) => a + bytesOf(x), 0);
    files.push(f);
  });
  if (shards.length > 1) writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return { bytes: total, files };
}
