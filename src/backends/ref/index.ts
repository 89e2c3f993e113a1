/**
 * The reference backend `ref`: the whole Backend contract (src/backends/backend.ts) in plain
 * TypeScript loops — the oracle every other backend is checked against (test/backends/
 * conformance.test.ts), and a usable CPU fallback for tiny models. Each method lives in a small
 * file: memory, strided access, elementwise, reduce, matmul, indexing, quant, and the fused ops.
 * Deliberately not fast: no threads, no SIMD, no blocking.
 */
import type { Backend, FusedOp } from '../backend.js';
import { adamw } from './adamw.js';
import { attention, attentionBackward } from './attention.js';
import { crossEntropy } from './crossEntropy.js';
import { binary, copy, dequantize, fill, unary, where } from './elementwise.js';
import { gather, indexSelect, scatterAdd } from './indexing.js';
import { matmul } from './matmul.js';
import { alloc, free } from './memory.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from './norm.js';
import { argreduce, reduce } from './reduce.js';
import { rope } from './rope.js';
import { logSoftmax, softmax } from './softmax.js';

const FUSED: ReadonlySet<FusedOp> = new Set<FusedOp>([
  'softmax', 'logSoftmax', 'layerNorm', 'rmsNorm', 'rope', 'attention', 'attentionBackward', 'crossEntropy', 'adamw',
  'matmul_quant',
]);

export const refBackend: Backend = {
  name: 'ref',
  alloc,
  free,
  copy,
  dequantize,
  fill,
  unary,
  binary,
  where,
  reduce,
  argreduce,
  matmul,
  indexSelect,
  gather,
  scatterAdd,
  supports: (op) => FUSED.has(op),
  softmax,
  logSoftmax,
  layerNorm,
  layerNormBackward,
  rmsNorm,
  rmsNormBackward,
  rope,
  attention,
  attentionBackward,
  crossEntropy,
  adamw,
};

export { quantizeQ8_0, quantizeQ4_0, dequantizeQ8_0, dequantizeQ4_0 } from './quant.js';
export { readF32, readNum, write } from './strided.js';
