/**
 * The plugins' own size caps (#14 item 6): big-number arithmetic is refused before the BigInt work
 * (perm/comb like the factorial cap, exact operands beyond 40 000 bits fall back to doubles, solver
 * coefficients beyond 4096 bits), and the solver answers an error, never `NaN` roots, at high degree.
 * Each hostile input here ran for seconds to a minute on the main thread before the caps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculate, solve, PluginError } from '../../src/plugins/index.js';

const fails = (f: () => unknown, code: string, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof PluginError && e.code === code && re.test(e.message));
const fast = (ms: number, f: () => void) => { const t = performance.now(); f(); const dt = performance.now() - t; assert.ok(dt < ms, `took ${dt.toFixed(0)} ms`); };

test('calculator: perm/comb results are capped before any BigInt work; small ones stay exact', () => {
  fast(1000, () => fails(() => calculate('perm(100000,100000)'), 'too-large', /perm result above 40000 bits/));
  fast(1000, () => fails(() => calculate('comb(100000,50000)'), 'too-large', /comb result above/));
  assert.equal(calculate('perm(100000,3)'), '999970000200000');
  assert.equal(calculate('comb(100000,99998)'), '4999950000');
  assert.equal(calculate('comb(52,5)'), '2598960');
});

test('calculator: exact arithmetic on huge operands falls back to doubles (result size cap)', () => {
  fast(1000, () => fails(() => calculate('(3^20000+1)/(7^14000+3)*(5^17000+1)/(11^11000+3)'), 'too-large', /out of range/));
  assert.equal(calculate('(2^100+1)-2^100'), '1');
});

test('solver: huge coefficients are refused fast; high degree gives roots or an error, never NaN', () => {
  fast(2000, () => fails(() => solve('(x+1e4000)^64=(x+1e-4000)^64'), 'too-large', /coefficient exceeds 4096 bits/));
  const r = solve('x^40+x+1=0');
  assert.equal(r.length, 40);
  assert.ok(r.every((l) => !/NaN|Infinity/.test(l)), r.join('\n'));
  assert.deepEqual(solve('(x-1)^60=0'), ['x = 1'], 'repeated roots: the square-free part is solved');
  assert.deepEqual(solve('(x-1)^3*(x+2)^2=0'), ['x_0 = -2', 'x_1 = 1']);
  fails(() => solve('x^34=1e320'), 'no-result', /degree-34 polynomial could not be computed in double precision/);
});
