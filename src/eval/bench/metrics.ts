/**
 * Aggregates for benchmark reports: mean with the harness's standard error (sample standard
 * deviation over sqrt(n), lm_eval.api.metrics.mean_stderr), micro (every item weighs the same, the
 * harness's `weight_by_size` group average) and macro (every subject weighs the same, CMMLU's own
 * overall), and the unbiased pass@k estimator of the Codex paper.
 * Not here: which metric a benchmark reports (./mc.ts, ./gsm8k.ts, ./humaneval.ts).
 */

export interface Mean {
  value: number;
  stderr: number;
  n: number;
}

/** Mean and its standard error (sample std / sqrt(n); 0 for n < 2). */
export function mean(xs: readonly number[]): Mean {
  const n = xs.length;
  if (!n) return { value: NaN, stderr: NaN, n: 0 };
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: m, stderr: 0, n };
  const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1);
  return { value: m, stderr: Math.sqrt(v / n), n };
}

/** Per-group means plus micro and macro over the groups. */
export function groupMeans(items: readonly { group: string; x: number }[]): { groups: Record<string, Mean>; micro: Mean; macro: number } {
  const by = new Map<string, number[]>();
  for (const it of items) {
    if (!by.has(it.group)) by.set(it.group, []);
    by.get(it.group)!.push(it.x);
  }
  const groups = Object.fromEntries([...by.entries()].map(([g, xs]) => [g, mean(xs)]));
  const vals = Object.values(groups).map((g) => g.value);
  return { groups, micro: mean(items.map((i) => i.x)), macro: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN };
}

/**
 * Unbiased pass@k for one problem with n samples of which c pass: 1 - C(n-c, k) / C(n, k),
 * computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i) (numerically stable). Needs k <= n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || c < 0 || c > n || k < 1) throw new Error(`pass@k: bad (n=${n}, c=${c}, k=${k})`);
  if (k > n) throw new Error(`pass@${k} needs at least ${k} samples per problem, got ${n}`);
  if (n - c < k) return 1;
  let p = 1;
  for (let i = n - c + 1; i <= n; i++) p *= 1 - k / i;
  return 1 - p;
}
