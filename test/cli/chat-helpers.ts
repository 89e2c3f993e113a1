/**
 * Builds a tiny random MOSS checkpoint folder for the `moss chat` tests: a byte-level BPE trained
 * (by src/tokenizer) on the meta instruction and a few chat lines, with MOSS's control tokens
 * (`<|endoftext|>` `<eoh>` `<eom>` `<eot>` `<eoc>` `<eor>`) as special tokens; config.json of a
 * 2-layer MOSS; model.safetensors with seeded Normal(0, 0.02) weights (zero biases, unit norms).
 * The text it writes is garbage; the tests check structure, not words.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metaInstruction } from '../../src/chat/meta.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { f32Of } from '../../src/models/quantize.js';
import { viewOf } from '../../src/io/views.js';
import { trainBpe, trainedFiles } from '../../src/tokenizer/index.js';
import type { View } from '../../src/backends/backend.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const MOSS_BIN = join(ROOT, 'bin', 'moss.js');

/** `moss <args>` run to its end (120 s at most): exit code, stdout, stderr. */
export function mossSync(args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MOSS_BIN, ...args], { encoding: 'utf8', timeout: 120_000, ...o });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SPECIALS = ['<|endoftext|>', '<eoh>', '<eom>', '<eot>', '<eoc>', '<eor>'];

/** Seeded standard normals (mulberry32 + Box-Muller). */
function normals(n: number, seed: number, std: number): Float32Array {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** Writes the folder and returns its path. */
export function tinyMossFolder(opts: { nPositions?: number; seed?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'moss-chat-'));
  const corpus = [
    metaInstruction({ innerThoughts: true, search: true, calculator: true, solver: true, text2image: true }),
    '<|Human|>: 2+2 是多少？<eoh>\n<|Inner Thoughts|>: None<eot>\n<|Commands|>: Calculate("2+2")<eoc>\n<|Results|>:\nCalculate("2+2") => \'4\'\n<eor>\n<|MOSS|>: 等于 4。<eom>\n',
    'Hello, how are you today? 你好，今天天气很好。',
  ];
  const tok = trainBpe(corpus, 600, { specialTokens: SPECIALS });
  for (const [name, text] of Object.entries(trainedFiles(tok))) writeFileSync(join(dir, name), text);
  const V = tok.tokens.length;
  const C = 32;
  const L = 2;
  const inner = 64;
  const eos = V - SPECIALS.length; // <|endoftext|>
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    architectures: ['MossForCausalLM'], model_type: 'moss', activation_function: 'gelu_new', vocab_size: V, n_embd: C, n_layer: L, n_head: 4,
    rotary_dim: 4, n_positions: opts.nPositions ?? 1024, n_ctx: opts.nPositions ?? 1024, n_inner: inner, layer_norm_epsilon: 1e-5, bos_token_id: eos, eos_token_id: eos,
    tie_word_embeddings: false, torch_dtype: 'float32',
  }));
  let seed = opts.seed ?? 1;
  const w = new Map<string, View>();
  const randn = (name: string, shape: number[]): void => void w.set(name, viewOf(normals(shape.reduce((a, b) => a * b), seed++, 0.02), 'f32', shape));
  const fill = (name: string, n: number, v: number): void => void w.set(name, viewOf(new Float32Array(n).fill(v), 'f32', [n]));
  randn('transformer.wte.weight', [V, C]);
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    fill(`${p}.ln_1.weight`, C, 1);
    fill(`${p}.ln_1.bias`, C, 0);
    randn(`${p}.attn.qkv_proj.weight`, [3 * C, C]);
    randn(`${p}.attn.out_proj.weight`, [C, C]);
    randn(`${p}.mlp.fc_in.weight`, [inner, C]);
    fill(`${p}.mlp.fc_in.bias`, inner, 0);
    randn(`${p}.mlp.fc_out.weight`, [C, inner]);
    fill(`${p}.mlp.fc_out.bias`, C, 0);
  }
  fill('transformer.ln_f.weight', C, 1);
  fill('transformer.ln_f.bias', C, 0);
  randn('lm_head.weight', [V, C]);
  fill('lm_head.bias', V, 0);
  writeSafetensors(join(dir, 'model.safetensors'), w);
  return dir;
}

/** Padding rows added by `paddedFolder`. */
export const PAD = 32;

/**
 * `tinyMossFolder` with PAD embedding rows past the tokenizer's vocabulary (as MOSS has 107,008 rows
 * for 106,072 tokens) and a lm_head bias that makes them win every argmax.
 */
export function paddedFolder(): string {
  const dir = tinyMossFolder();
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const V = cfg.vocab_size as number;
  const st = readSafetensors(join(dir, 'model.safetensors'));
  const out = new Map([...st.tensors].map(([k, v]) => [k, viewOf(f32Of(v), 'f32', v.shape)]));
  const grow = (name: string, fillv: number) => {
    const v = out.get(name)!;
    const cols = v.shape.length === 2 ? v.shape[1] : 1;
    const a = new Float32Array((V + PAD) * cols).fill(fillv);
    a.set(f32Of(v));
    out.set(name, viewOf(a, 'f32', v.shape.length === 2 ? [V + PAD, cols] : [V + PAD]));
  };
  grow('transformer.wte.weight', 0.01);
  grow('lm_head.weight', 0.01);
  grow('lm_head.bias', 0);
  const bias = f32Of(out.get('lm_head.bias')!);
  bias.fill(100, V); // the padding rows would win every argmax
  out.set('lm_head.bias', viewOf(bias, 'f32', [V + PAD]));
  writeSafetensors(join(dir, 'model.safetensors'), out);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, vocab_size: V + PAD }));
  return dir;
}
