/**
 * HumanEval execution (src/eval/bench/sandbox.ts, humaneval.ts) and pass@k: the canonical
 * solutions pass 164/164, empty completions 0/164; completions that loop forever, allocate without
 * bound, fork, open a socket or write a huge file all fail within the timeout; pass@k equals
 * 1 - C(n-c, k)/C(n, k) computed exactly with BigInt on a table of (n, c, k).
 * The 164-problem checks need ../shared/bench and python3; they skip plainly without them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCompletions, loadHumanEval } from '../../src/eval/bench/humaneval.js';
import { passAtK } from '../../src/eval/bench/metrics.js';
import { defaultPython, runPython } from '../../src/eval/bench/sandbox.js';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'bench', 'humaneval');
const hasPython = spawnSync(defaultPython(), ['-c', 'pass']).status === 0;
const skip = !hasPython ? 'python3 is not there' : existsSync(BENCH) ? false : `${BENCH} is not there`;

test('canonical solutions pass 164/164 and empty completions 0/164', { skip }, async () => {
  const problems = loadHumanEval(BENCH);
  assert.equal(problems.length, 164);
  const canon = await checkCompletions(problems, problems.map((p, i) => ({ problem: i, completion: p.canonical_solution })), { parallel: 4 });
  const failed = canon.flatMap((r, i) => (r.passed ? [] : [`${problems[i].task_id}: ${r.result}`]));
  assert.deepEqual(failed, []);
  const empty = await checkCompletions(problems, problems.map((_, i) => ({ problem: i, completion: '' })), { parallel: 4 });
  assert.equal(empty.filter((r) => r.passed).length, 0);
});

test('hostile programs are contained and fail within the timeout', { skip: hasPython ? false : 'python3 is not there' }, async () => {
  const cases: Record<string, string> = {
    'loops forever': 'while True:\n    pass\n',
    'allocates without bound': 'xs = []\nwhile True:\n    xs.append(bytearray(10**8))\n',
    forks: 'import os\npid = os.fork()\nwhile True:\n    pass\n',
    'forks via _posixsubprocess/ctypes': 'import ctypes\nlibc = ctypes.CDLL(None)\nfor _ in range(50):\n    libc.fork()\nwhile True:\n    pass\n',
    'opens a socket': 'import socket\ns = socket.create_connection(("1.1.1.1", 80), timeout=5)\n',
    'opens a raw _socket': 'import _socket\ns = _socket.socket()\ns.settimeout(5)\ns.connect(("1.1.1.1", 80))\n',
    'writes a huge file': 'with open("big", "wb") as f:\n    f.write(b"x" * (1 << 30))\n',
  };
  const results = await Promise.all(Object.entries(cases).map(async ([name, prog]) => [name, await runPython(prog, { timeout: 1.5 })] as const));
  for (const [name, r] of results) {
    assert.equal(r.passed, false, `${name}: passed`);
    assert.ok(r.seconds < 4, `${name}: took ${r.seconds.toFixed(2)} s`);
  }
  const ok = await runPython('assert 1 + 1 == 2\n', { timeout: 3 });
  assert.equal(ok.passed, true, ok.result);
});

function choose(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

test('pass@k equals the closed form 1 - C(n-c,k)/C(n,k)', () => {
  for (const [n, c, k] of [[1, 0, 1], [1, 1, 1], [5, 2, 1], [5, 2, 3], [10, 0, 5], [10, 10, 10], [20, 3, 10], [200, 13, 1], [200, 13, 10], [200, 13, 100], [50, 49, 2]]) {
    const exact = 1 - Number((choose(n - c, k) * 10n ** 15n) / choose(n, k)) / 1e15;
    assert.ok(Math.abs(passAtK(n, c, k) - exact) < 1e-12, `(n=${n}, c=${c}, k=${k}): ${passAtK(n, c, k)} vs ${exact}`);
  }
  assert.throws(() => passAtK(3, 1, 5), /at least 5 samples/);
});
