/**
 * LoRA (Hu et al. 2021, as HF peft's LoraLayer) as a module swap (mlx-lm's LoRALinear.from_base): a
 * frozen Linear y = x W^T (+ b) is replaced in its parent by a LoraLinear holding the same weight and
 * bias plus A (r, in) ~ Kaiming-uniform and B (out, r) = 0, computing y + dropout(x) A^T B^T *
 * (alpha / rank), so training starts from the base model exactly and every caller of the parent's
 * forward (training, op-by-op inference, the decode plan captured from it) sees the adapter.
 * State dicts name the adapters `<layer>.lora_A` / `<layer>.lora_B` beside `<layer>.weight`;
 * `mergeLora` folds B A into W and swaps a plain Linear back.
 * Not here: saving adapters to files (src/train/lora-io.ts), quantized bases (QLoRA).
 */
import { Generator, noGrad, ops, rand, zeros, type Tensor } from '../tensor/index.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

export interface LoraOptions {
  rank: number;
  alpha: number;
  dropout?: number;
  /** Adapt layers whose dotted path ends with one of these names (e.g. 'qkv_proj'). */
  targets: readonly string[];
  seed?: number;
}

/** A Linear with a low-rank adapter: y = x W^T (+ b) + dropout(x) A^T B^T * scale. */
export class LoraLinear extends Linear {
  constructor(weight: Tensor, bias: Tensor | null, public lora_A: Tensor, public lora_B: Tensor, private readonly _scale: number,
    private readonly _dropout = 0, private readonly _gen = new Generator(0)) {
    super(weight, bias);
  }

  /** Wraps `base` (its tensors are shared, not copied) with fresh adapters: A Kaiming-uniform as peft, B = 0. */
  static from(base: Linear, o: { rank: number; alpha: number; dropout?: number; generator?: Generator }): LoraLinear {
    const [out, inp] = base.weight.shape;
    const bound = 1 / Math.sqrt(inp); // kaiming_uniform_(a=sqrt(5)) as peft
    const gen = o.generator ?? new Generator(0);
    const opt = { backend: base.weight.backend, generator: gen, requiresGrad: true };
    const A = rand([o.rank, inp], { ...opt, low: -bound, high: bound }).keep();
    const B = zeros([out, o.rank], opt).keep();
    const l = new LoraLinear(base.weight, base.bias, A, B, o.alpha / o.rank, o.dropout ?? 0, gen);
    l._inputOrder = base._inputOrder; // the base product only; the adapter sees x in model order
    l.training = base.training;
    return l;
  }

  override forward(x: Tensor): Tensor {
    const h = this._dropout ? ops.dropout(x, this._dropout, this.training, this._gen) : x;
    const delta = ops.linear(ops.linear(h, this.lora_A), this.lora_B); // (..., out)
    return ops.add(super.forward(x), ops.mul(delta, this._scale));
  }

  /** A plain Linear with W + scale * B A folded in (written into W in place); the adapters are freed. */
  merge(): Linear {
    if (this._inputOrder) throw new Error('lora: cannot merge an adapter into a weight stored with permuted in-features (act-order GPTQ)');
    noGrad(() => {
      const delta = ops.mul(ops.matmul(this.lora_B, this.lora_A), this._scale);
      const merged = ops.add(this.weight, ops.to(delta, this.weight.dtype));
      this.weight.backend.copy(this.weight, merged);
      delta.dispose();
      merged.dispose();
    });
    this.lora_A.dispose();
    this.lora_B.dispose();
    const l = new Linear(this.weight, this.bias);
    l.training = this.training;
    return l;
  }
}

/** Every (parent, field, child, dotted path) below `m`; array elements have a numeric field. */
function* children(m: Module, prefix = ''): IterableIterator<[Record<string | number, unknown>, string | number, Module, string]> {
  const at = (k: string): string => (prefix ? `${prefix}.${k}` : k);
  for (const [k, v] of Object.entries(m)) {
    if (k.startsWith('_')) continue;
    if (v instanceof Module) {
      yield [m as unknown as Record<string, unknown>, k, v, at(k)];
      yield* children(v, at(k));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (!(x instanceof Module)) continue;
        yield [v as unknown as Record<number, unknown>, i, x, at(`${k}.${i}`)];
        yield* children(x, at(`${k}.${i}`));
      }
    }
  }
}

/** Swaps every matching Linear of `root` for a LoraLinear; returns how many layers were adapted. */
export function applyLora(root: Module, o: LoraOptions): number {
  const generator = new Generator(o.seed ?? 0);
  const swaps = [...children(root)].filter(([, , m, path]) => m instanceof Linear && !(m instanceof LoraLinear) && m.weight.ndim === 2
    && o.targets.some((t) => path === t || path.endsWith(`.${t}`)));
  for (const [parent, key, m] of swaps) parent[key] = LoraLinear.from(m as Linear, { ...o, generator });
  return swaps.length;
}

/** The adapter tensors by dotted name (what to train and to save). */
export function loraParameters(root: Module): [string, Tensor][] {
  return root.namedParameters().filter(([n]) => n.endsWith('.lora_A') || n.endsWith('.lora_B'));
}

/** Folds every adapter into its base weight (W += scale * B A) and swaps a plain Linear back. */
export function mergeLora(root: Module): void {
  for (const [parent, key, m] of [...children(root)]) if (m instanceof LoraLinear) parent[key] = m.merge();
}
