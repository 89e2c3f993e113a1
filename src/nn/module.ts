/**
 * Module: the base of every layer and model. Parameters, buffers and submodules are plain fields;
 * `namedParameters()` / `stateDict()` find them by walking the fields (arrays of modules become
 * `h.0.…`), so a checkpoint key is the path of field names. Fields listed in `buffers` are state
 * but not trainable; fields starting with `_` or holding non-tensors are ignored.
 */
import { Tensor } from '../tensor/index.js';

export abstract class Module {
  training = true;
  /** Names of tensor fields that are buffers (saved in the state dict, not trained). */
  protected readonly _buffers = new Set<string>();

  private *walk(prefix: string): Generator<[string, Tensor, boolean, Module, string]> {
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      const name = prefix + key;
      if (value instanceof Tensor) yield [name, value, this._buffers.has(key), this, key];
      else if (value instanceof Module) yield* value.walk(`${name}.`);
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const v: unknown = value[i];
          if (v instanceof Module) yield* v.walk(`${name}.${i}.`);
        }
      }
    }
  }

  /** Trainable tensors by dotted name. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t, isBuffer] of this.walk('')) if (!isBuffer) out.push([name, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every tensor (parameters and buffers) by dotted name. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.walk('')) out.set(name, t);
    return out;
  }

  /**
   * Replaces fields with the given tensors (no copy). Shapes must match; with `strict` (default)
   * every key must be known and every field provided. Returns the keys that were not used.
   */
  loadStateDict(tensors: Map<string, Tensor>, opts: { strict?: boolean; source?: string } = {}): string[] {
    const strict = opts.strict ?? true;
    const src = opts.source ? ` (${opts.source})` : '';
    const fields = new Map<string, [Module, string, Tensor]>();
    for (const [name, t, , owner, key] of this.walk('')) fields.set(name, [owner, key, t]);
    const unused: string[] = [];
    for (const [name, t] of tensors) {
      const f = fields.get(name);
      if (!f) {
        unused.push(name);
        continue;
      }
      const [owner, key, old] = f;
      if (old.shape.length !== t.shape.length || old.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`loadStateDict${src}: tensor ${name} has shape [${t.shape}], the model expects [${old.shape}]`);
      }
      if (old !== t) old.dispose();
      t.name = name;
      t.requiresGrad = old.requiresGrad && t.dtype !== 'q8_0' && t.dtype !== 'q4_0';
      (owner as unknown as Record<string, Tensor>)[key] = t;
      fields.delete(name);
    }
    if (strict && unused.length) throw new Error(`loadStateDict${src}: unexpected tensor ${unused[0]}${unused.length > 1 ? ` (and ${unused.length - 1} more)` : ''}`);
    if (strict && fields.size) throw new Error(`loadStateDict${src}: missing tensor ${[...fields.keys()][0]}${fields.size > 1 ? ` (and ${fields.size - 1} more)` : ''}`);
    return unused;
  }

  /** Sets training mode here and in every submodule. */
  train(on = true): this {
    const visit = (m: Module) => {
      m.training = on;
      for (const v of Object.values(m)) {
        if (v instanceof Module) visit(v);
        else if (Array.isArray(v)) for (const x of v) if (x instanceof Module) visit(x);
      }
    };
    visit(this);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Marks every float parameter trainable (or frozen). */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) if (p.dtype === 'f32' || p.dtype === 'bf16' || p.dtype === 'f16') p.requiresGrad_(on);
    return this;
  }

  /** Number of elements over all parameters. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  /** Frees every tensor this module holds: the state dict, and what `disposeExtras` frees in it and its submodules. */
  dispose(): void {
    for (const t of this.stateDict().values()) {
      t.grad?.dispose();
      t.dispose();
    }
    const visit = (m: Module) => {
      m.disposeExtras();
      for (const [k, v] of Object.entries(m)) {
        if (k.startsWith('_')) continue;
        if (v instanceof Module) visit(v);
        else if (Array.isArray(v)) for (const x of v) if (x instanceof Module) visit(x);
      }
    };
    visit(this);
  }

  /** Frees tensors held outside the state dict (fields starting with `_`); nothing by default. */
  protected disposeExtras(): void {}
}
