/**
 * Deterministic disposal of intermediates. `tidy(fn)` disposes every tensor created inside `fn`
 * except what it returns and what was `keep()`-ed; tensors also support `using` (Symbol.dispose).
 * Scopes are synchronous (an async function would interleave scopes): `tidy` refuses a Promise.
 */
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

/** Called by every new Tensor: registers it in the innermost scope. */
export function track(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** Removes `t` from every open scope (it outlives them). */
export function untrack(t: Tensor): void {
  for (const s of stack) s.delete(t);
}

function collect(x: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  if (isTensor(x)) out.add(x);
  else if (Array.isArray(x)) for (const v of x) collect(v, out, isTensor);
  else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, out, isTensor);
}

let isTensorFn: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
/** Set once by tensor.ts (avoids an import cycle at module load). */
export function setTensorCheck(fn: (v: unknown) => v is Tensor): void {
  isTensorFn = fn;
}

/** Runs `fn`; tensors it returns (directly, or in arrays / plain objects) are kept, the rest freed. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
    if (result && typeof (result as { then?: unknown }).then === 'function') {
      throw new Error('tidy: the function returned a Promise; scopes are synchronous');
    }
  } finally {
    stack.pop();
  }
  const keep = new Set<Tensor>();
  collect(result, keep, isTensorFn);
  for (const t of scope) {
    if (keep.has(t)) {
      if (stack.length) stack[stack.length - 1].add(t);
    } else t.dispose();
  }
  return result;
}
