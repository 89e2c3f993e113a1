/**
 * Reverse-mode autograd: the tape node each differentiable op attaches to its output, grad mode
 * (no-grad scopes), and `backward()` — a topological walk that sums gradients per tensor and
 * accumulates into leaf `.grad`. The vjp rules themselves live beside each op's forward.
 * Does not do higher-order gradients (vjps run with grad recording off).
 */
import type { Tensor } from './tensor.js';
import { tidy } from './scope.js';

/** One recorded op: its inputs and the vjp mapping the output gradient to input gradients. */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Returns one gradient (or null) per input; shapes equal the inputs' shapes. */
  readonly vjp: (grad: Tensor) => (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording off (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Sets grad mode and returns the previous value (for async code that cannot use a callback). */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/** True when an op with these inputs must be recorded. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/**
 * Back-propagates from `root` (a scalar unless `grad` is given). Leaf tensors with
 * requiresGrad get `.grad` accumulated (summed onto an existing grad: gradient accumulation).
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward: tensor does not require grad');
  if (!grad && root.numel !== 1) throw new Error(`backward: grad must be given for a non-scalar output of shape [${root.shape}]`);
  // --- topological order (iterative DFS: graphs are deep) ---
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradNode?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  // --- reverse sweep ---
  const grads = new Map<Tensor, Tensor>();
  const prev = setGradEnabled(false);
  try {
    grads.set(root, grad ?? root.onesLike());
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradNode;
      if (!node) {
        // a leaf: accumulate into .grad
        if (g.dtype !== t.dtype) throw new Error(`backward: grad dtype ${g.dtype} != ${t.dtype}`);
        if (t.grad) {
          const sum = t.grad.add(g);
          t.grad.dispose();
          g.dispose();
          t.grad = sum.keep();
        } else {
          t.grad = (g.isContiguous() && g.ownsWholeStorage() ? g : g.contiguousCopy()).keep();
          if (t.grad !== g) g.dispose();
        }
        continue;
      }
      const gin = tidy(() => node.vjp(g)); // intermediates of the vjp are freed here
      g.dispose();
      for (let j = 0; j < node.inputs.length; j++) {
        const x = node.inputs[j];
        const gx = gin[j];
        if (!gx) continue;
        if (!x.requiresGrad) {
          gx.dispose();
          continue;
        }
        if (gx.shape.length !== x.shape.length || gx.shape.some((d, a) => d !== x.shape[a])) {
          throw new Error(`vjp of ${node.name}: grad shape [${gx.shape}] != input shape [${x.shape}]`);
        }
        const acc = grads.get(x);
        if (acc) {
          grads.set(x, acc.add(gx));
          acc.dispose();
          gx.dispose();
        } else grads.set(x, gx);
      }
    }
  } finally {
    setGradEnabled(prev);
  }
}
