/**
 * A tiny causal LM for loop tests (embedding, one parallel attention+MLP block as MOSS, head), any
 * batch and length. A stand-in so the loop is tested without the full MOSS model.
 */
import { Dropout, Embedding, LayerNorm, Linear, Module } from '../../src/nn/index.js';
import { Generator, ops, tensor, type Tensor } from '../../src/tensor/index.js';
import type { DType } from '../../src/backends/dtype.js';
import type { Backend } from '../../src/backends/backend.js';

export class TinyLM extends Module {
  wte: Embedding;
  ln: LayerNorm;
  qkv: Linear;
  proj: Linear;
  fc: Linear;
  out: Linear;
  head: Linear;
  drop: Dropout;

  constructor(readonly V = 17, readonly C = 16, readonly H = 2, seed = 1234, dtype: DType = 'f32', dropout = 0, backend?: Backend) {
    super();
    const o = { generator: new Generator(seed), dtype, backend };
    this.wte = Embedding.init(V, C, { ...o, std: 0.5 });
    this.ln = LayerNorm.init(C, 1e-5, o);
    this.qkv = Linear.init(C, 3 * C, o);
    this.proj = Linear.init(C, C, o);
    this.fc = Linear.init(C, 2 * C, o);
    this.out = Linear.init(2 * C, C, o);
    this.head = Linear.init(C, V, o);
    this.drop = new Dropout(dropout);
  }

  forward(ids: Tensor): Tensor {
    const [B, T] = ids.shape;
    const { C, H } = this;
    const x = this.wte.forward(ids); // (B, T, C)
    const h = this.ln.forward(x);
    const qkv = this.qkv.forward(h).reshape(B, T, 3, H, C / H);
    const pos = tensor([...Array(T).keys()], [T], { dtype: 'i32', backend: ids.backend });
    const rp = { rotaryDim: 4, interleaved: true, base: 10000 };
    const q = ops.rope(ops.squeeze(ops.slice(qkv, 2, 0, 1), 2), pos, rp).transpose(1, 2);
    const k = ops.rope(ops.squeeze(ops.slice(qkv, 2, 1, 2), 2), pos, rp).transpose(1, 2);
    const v = ops.squeeze(ops.slice(qkv, 2, 2, 3), 2).transpose(1, 2);
    const a = ops.sdpa(q, k, v).transpose(1, 2).reshape(B, T, C);
    const mlp = this.out.forward(this.drop.forward(ops.gelu(this.fc.forward(h))));
    const y = ops.add(ops.add(x, this.proj.forward(a)), mlp);
    return this.head.forward(y);
  }
}
