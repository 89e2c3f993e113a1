/**
 * Where model weights come from: a name -> View map over one or more checkpoint files, and the
 * loader step that turns views into engine tensors with one clear error per problem ("<file>:
 * tensor '<name>' has shape [..], config.json implies [..]"). Weights stay in the storage io gave
 * (zero-copy, memory-mapped when the addon maps files). f16/bf16 linear weights stay half precision
 * on backends that multiply them with f32 activations (supports('matmul_half'): the native one);
 * other f16/bf16 tensors, and all of them elsewhere, are widened to f32 once at load (a checkpoint
 * whose widened weights cannot fit in memory is refused up front, naming `moss quantize`).
 * Quantized (q8_0/q4_0) linear weights stay quantized when the backend multiplies them directly, and
 * quantized embedding tables always do (quant-embedding.ts dequantizes the rows a lookup selects).
 * Not here: reading file formats (src/io), dequantizing GPTQ (later).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Backend, View } from '../backends/backend.js';
import { DTYPES } from '../backends/dtype.js';
import { engineOptions } from '../backends/options.js';
import { Tensor } from '../tensor/index.js';

/** A checkpoint as a flat name -> view map, each tensor knowing its file. */
export interface WeightSource {
  /** What the weights are, for messages (a folder or file path). */
  readonly origin: string;
  has(name: string): boolean;
  /** The view of `name`, and the file it lives in; undefined when absent. */
  get(name: string): { view: View; file: string } | undefined;
  /** Where a tensor that is absent should have been (the file or index that lists names). */
  whereMissing(name: string): string;
  /** The name as the file spells it, for messages (when the source renames tensors). */
  nameOf?(name: string): string;
  /** Every tensor's view (for the memory estimate before loading), when the source knows them all. */
  views?(): Iterable<View>;
  /**
   * For a Linear weight `name` stored with its in-features permuted (act-order GPTQ, models/gptq.ts):
   * in-feature j of the stored weight is in-feature order[j] of the model, so the Linear multiplies
   * x[..., order]. Undefined for weights in model order.
   */
  inputOrder?(name: string): Int32Array | undefined;
}

/** A WeightSource over in-memory maps (one per file). */
export function mapSource(origin: string, files: ReadonlyArray<{ file: string; tensors: ReadonlyMap<string, View> }>, missingIn?: (name: string) => string): WeightSource {
  const byName = new Map<string, { view: View; file: string }>();
  for (const f of files) for (const [n, v] of f.tensors) byName.set(n, { view: v, file: f.file });
  return {
    origin,
    has: (n) => byName.has(n),
    get: (n) => byName.get(n),
    whereMissing: (n) => (missingIn ? missingIn(n) : files.length === 1 ? files[0].file : origin),
    views: () => [...byName.values()].map((e) => e.view),
  };
}

/** RAM + swap of this machine in bytes (swap from /proc/meminfo where there is one). */
export function machineMemory(): number {
  let swap = 0;
  try {
    const m = /SwapTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) swap = Number(m[1]) * 1024;
  } catch {
    // no /proc: RAM only
  }
  return totalmem() + swap;
}

/** True when 2-D f16/bf16 weights stay half precision on `backend` (engine switch keepHalf; MOSS_WIDEN_HALF=1 turns it off). */
export function keepsHalf(backend: Backend): boolean {
  return backend.supports('matmul_half') && engineOptions().keepHalf;
}

/**
 * Refuses, before anything is allocated, a checkpoint whose f16/bf16 weights cannot be widened to f32
 * in this machine's memory (a 16B fp16 MOSS needs ~64 GB), instead of being killed part way through
 * loading. `memory` defaults to RAM + swap. With `keepHalf` (backends that multiply half weights
 * directly) linear weights stay as they are: only 1-D tensors and the largest 2-D one (the embedding
 * table, which is widened) are counted.
 */
export function checkWidenedSize(src: WeightSource, memory = machineMemory(), keepHalf = false): void {
  if (!src.views) return;
  let bytes = 0, largest2d = 0;
  for (const v of src.views()) {
    if (v.dtype !== 'f16' && v.dtype !== 'bf16') continue;
    const n = v.shape.reduce((a, d) => a * d, 1) * 4;
    if (keepHalf && v.shape.length === 2) largest2d = Math.max(largest2d, n);
    else bytes += n;
  }
  bytes += largest2d;
  if (bytes > memory) {
    const gib = (b: number): string => (b / 2 ** 30).toFixed(1);
    throw new Error(
      `${src.origin}: its f16/bf16 weights become ${gib(bytes)} GiB of f32 when loaded, more than this machine's ${gib(memory)} GiB of memory; ` +
        'quantize it first (moss quantize --model <this model> --type q4_0|q8_0 --out <file.gguf> widens one tensor at a time) and load the GGUF',
    );
  }
}

export interface TakeOptions {
  /** Keep a quantized or f16/bf16 weight as is (for linear layers, when the backend multiplies it directly). */
  allowQuant?: boolean;
  /** Keep a quantized weight as is on every backend (embedding tables: only rows are dequantized). */
  keepQuant?: boolean;
  /** Name to look up instead of the field name (one of the few renames). */
  key?: string;
}

/** Turns views into tensors on `backend`, checking names and shapes. */
export class WeightLoader {
  readonly used = new Set<string>();

  constructor(readonly src: WeightSource, readonly backend: Backend, readonly configFile: string) {
    checkWidenedSize(src, machineMemory(), keepsHalf(backend));
  }

  /** Tensor `name` with exactly `shape`, as f32 (or quantized when allowed). Throws when absent. */
  take(name: string, shape: readonly number[], o: TakeOptions = {}): Tensor {
    const key = o.key ?? name;
    const got = this.src.get(key);
    const shown = this.src.nameOf ? this.src.nameOf(key) : key;
    if (!got) throw new Error(`${this.src.whereMissing(key)}: tensor '${shown}' is missing (needed for [${shape.join(', ')}])`);
    const { view, file } = got;
    if (view.shape.length !== shape.length || view.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${file}: tensor '${shown}' has shape [${view.shape.join(', ')}], but ${this.configFile} implies [${shape.join(', ')}]`);
    }
    this.used.add(key);
    const t = Tensor.fromView(this.backend, view).keep();
    const info = DTYPES[view.dtype];
    if (view.dtype === 'f32') return t;
    if (info.isQuant) {
      if (o.keepQuant || (o.allowQuant && shape.length === 2 && this.backend.supports('matmul_quant'))) return t;
      const d = t.dequantize().keep();
      t.dispose();
      return d;
    }
    if (!info.isFloat) throw new Error(`${file}: tensor '${shown}' has dtype ${view.dtype}, expected a float tensor`);
    if (o.allowQuant && shape.length === 2 && keepsHalf(this.backend)) return t; // f16/bf16 linear weight, multiplied as is
    const w = t.to('f32').keep();
    t.dispose();
    return w;
  }

  /** Like `take` but returns null when the tensor is absent. */
  maybe(name: string, shape: readonly number[], o: TakeOptions = {}): Tensor | null {
    return this.src.has(o.key ?? name) ? this.take(name, shape, o) : null;
  }
}
