/**
 * LoRA (Hu et al. 2021, as HF peft's LoraLayer): a frozen linear layer y = x W^T (+ b) gets
 * y + dropout(x) A^T B^T * (alpha / rank), A (r, in) ~ Kaiming-uniform, B (out, r) = 0, so training
 * starts from the base model exactly. Adapters are plain tensor fields `lora_A` / `lora_B` on the
 * adapted layer, so state dicts name them `<layer>.lora_A`; `mergeLora` folds B A into W and removes
 * them. Works on any Module with a 2-D `weight` and a `forward(x)` (nn.Linear, models' Dense).
 * Not here: saving adapters to files (src/train/lora-io.ts), quantized bases (QLoRA).
 */
import { Generator, noGrad, ops, rand, zeros, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export interface LoraOptions {
  rank: number;
  alpha: number;
  dropout?: number;
  /** Adapt layers whose dotted path ends with one of these names (e.g. 'qkv_proj'). */
  targets: readonly string[];
  seed?: number;
}

interface Adaptable extends Module {
  weight: Tensor;
  forward(x: Tensor): Tensor;
  lora_A?: Tensor;
  lora_B?: Tensor;
  _loraBase?: (x: Tensor) => Tensor;
  _loraScale?: number;
  _loraDropout?: number;
  _loraGen?: Generator;
}

function modules(m: Module, prefix = '', out: [string, Module][] = []): [string, Module][] {
  out.push([prefix, m]);
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  for (const [k, v] of Object.entries(m)) {
    if (k.startsWith('_')) continue;
    if (v instanceof Module) modules(v, at(k), out);
    else if (Array.isArray(v)) v.forEach((x: unknown, i) => x instanceof Module && modules(x, at(`${k}.${i}`), out));
  }
  return out;
}

/** Adds adapters to every matching layer of `root`; returns how many layers were adapted. */
export function applyLora(root: Module, o: LoraOptions): number {
  const gen = new Generator(o.seed ?? 0);
  let n = 0;
  for (const [path, m] of modules(root)) {
    const l = m as Adaptable;
    if (!o.targets.some((t) => path === t || path.endsWith(`.${t}`))) continue;
    if (!l.weight || l.weight.ndim !== 2 || typeof l.forward !== 'function' || l.lora_A) continue;
    const [out, inp] = l.weight.shape;
    const bound = 1 / Math.sqrt(inp); // kaiming_uniform_(a=sqrt(5)) as peft
    const opt = { backend: l.weight.backend, generator: gen, requiresGrad: true };
    l.lora_A = rand([o.rank, inp], { ...opt, low: -bound, high: bound }).keep();
    l.lora_B = zeros([out, o.rank], opt).keep();
    l._loraScale = o.alpha / o.rank;
    l._loraDropout = o.dropout ?? 0;
    l._loraGen = gen;
    const base = l.forward.bind(l);
    l._loraBase = base;
    l.forward = (x: Tensor) => {
      const h = l._loraDropout ? ops.dropout(x, l._loraDropout, l.training, l._loraGen) : x;
      const delta = ops.linear(ops.linear(h, l.lora_A!), l.lora_B!); // (..., out)
      return ops.add(base(x), ops.mul(delta, l._loraScale!));
    };
    n++;
  }
  return n;
}

/** The adapter tensors by dotted name (what to train and to save). */
export function loraParameters(root: Module): [string, Tensor][] {
  return root.namedParameters().filter(([n]) => n.endsWith('.lora_A') || n.endsWith('.lora_B'));
}

/** Folds every adapter into its base weight (W += scale * B A) and removes it. */
export function mergeLora(root: Module): void {
  for (const [, m] of modules(root)) {
    const l = m as Adaptable;
    if (!l.lora_A || !l.lora_B) continue;
    noGrad(() => {
      const delta = ops.mul(ops.matmul(l.lora_B!, l.lora_A!), l._loraScale!);
      const merged = ops.add(l.weight, ops.to(delta, l.weight.dtype));
      l.weight.backend.copy(l.weight, merged);
      delta.dispose();
      merged.dispose();
    });
    l.lora_A.dispose();
    l.lora_B.dispose();
    delete l.lora_A;
    delete l.lora_B;
    l.forward = l._loraBase!;
    delete l._loraBase;
  }
}
