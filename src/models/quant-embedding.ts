/**
 * Token embeddings that stay quantized (q8_0/q4_0, as a GGUF stores them, memory-mapped) or, when large, f16: a lookup
 * dequantizes just the selected rows, so a 107k x 6144 table costs its file bytes instead of 2.5 GiB
 * of f32. Follows llama.cpp, which keeps token_embd quantized and dequantizes rows in its get_rows op.
 * The same weight tensor can serve as a tied lm_head (the quantized matmul reads it in place).
 * Deliberately does not: support gradients into the table (quantized weights are frozen), or
 * de-duplicate repeated ids in a batch (a row is at most a few KB).
 */
import { DTYPES } from '../backends/dtype.js';
import { ops, tidy, type Tensor } from '../tensor/index.js';
import { Embedding } from '../nn/index.js';
import type { WeightLoader } from './weights.js';

/** An Embedding whose weight (V, C) is quantized: forward gathers and dequantizes rows. */
export class QuantEmbedding extends Embedding {
  override forward(ids: Tensor): Tensor {
    const [V, C] = this.weight.shape;
    const list = ids.toArray();
    return tidy(() => {
      const rows = list.map((id) => {
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`embedding: token id ${id} is out of range [0, ${V})`);
        return this.weight.narrow(0, id, 1).dequantize();
      });
      const out = rows.length === 1 ? rows[0] : ops.cat(rows, 0);
      return out.reshape(...ids.shape, C);
    });
  }
}

/** Tables of at least this many values stay f16/bf16 when the backend keeps half weights (a 16B MOSS's
 *  107008 x 6144 table: 1.2 GiB as stored instead of 2.5 GiB of f32); smaller ones (tests, training) widen. */
const HALF_TABLE_MIN = 64 * 2 ** 20;

/** The embedding table `name` (V, C): quantized (and large half) tables stay as stored (row gather), others as f32. */
export function loadEmbedding(w: WeightLoader, name: string, shape: [number, number]): Embedding {
  const t = w.take(name, shape, { keepQuant: true, allowQuant: shape[0] * shape[1] >= HALF_TABLE_MIN });
  return DTYPES[t.dtype].isQuant || t.dtype !== 'f32' ? new QuantEmbedding(t) : new Embedding(t);
}
