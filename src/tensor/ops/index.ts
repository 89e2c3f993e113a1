/** Every op, by PyTorch name where TypeScript allows (camelCase otherwise). */
export * from './elementwise.js';
export * from './shape.js';
export * from './reduce.js';
export * from './linalg.js';
export * from './indexing.js';
export * from './fused.js';
