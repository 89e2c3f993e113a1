/**
 * The tensor layer's public surface: Tensor, creation, ops (PyTorch names), autograd and scopes.
 *
 * @example
 *   import { tensor, tidy, ops } from './tensor/index.js';
 *   const x = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
 *   const loss = tidy(() => ops.sum(ops.mul(x, x)));
 *   loss.backward(); // x.grad = 2x
 */
export { Tensor } from './tensor.js';
export { tensor, zeros, ones, full, arange, randn, rand, randint, type CreateOptions } from './create.js';
export { noGrad, isGradEnabled, setGradEnabled, backward } from './autograd.js';
export { tidy } from './scope.js';
export { Generator, defaultGenerator, manualSeed } from './random.js';
export * as ops from './ops/index.js';
