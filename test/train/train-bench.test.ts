/**
 * `npm run bench -- train --toy`: the lm, dpo and pm rows at toy size, without PyTorch. The peer is
 * either one explicit `unavailable` row (no python) or, through a stub interpreter that prints
 * dev/train_bench_torch.py's JSON line, rows whose ratio column is ours over the best peer row.
 * Parameter counts are checked against what PyTorch's model (dev/train_bench_torch.py --toy) counts:
 * 41,728 for the LM (vocab 256, width 32, 2 layers, lm_head with bias); the PM drops the lm_head
 * (256 x 32 + 256) and adds the 1 x 32 score head: 33,312. No timing is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Row { bench: string; mode: string; engine: string; params: number | null; threads: number | null; tokens_per_s: number | null; note?: string; vs_pytorch: number | null }
const BENCH = join(process.cwd(), 'dist/bench/main.js');
const PARAMS: Record<string, number> = { lm: 41728, dpo: 41728, pm: 33312 };

function bench(python: string): Row[] {
  const out = execFileSync(process.execPath, [BENCH, 'train', '--toy', '--steps', '1', '--json'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, MOSS_BENCH_PYTHON: python } });
  return out.trim().split('\n').map((l) => JSON.parse(l) as Row);
}

function checkOurs(rows: Row[], mode: string): Row[] {
  const ours = rows.filter((r) => r.mode === mode && r.engine.startsWith('moss-ts'));
  assert.ok(ours.length >= 1 && ours.length <= 2, `${mode}: ${JSON.stringify(ours)}`);
  assert.deepEqual(ours.map((r) => r.threads), ours.length === 2 ? [1, 2] : [1]);
  for (const r of ours) {
    assert.equal(r.bench, 'train');
    assert.equal(r.params, PARAMS[mode], `${mode} params`);
    assert.ok(typeof r.tokens_per_s === 'number' && r.tokens_per_s > 0, JSON.stringify(r));
  }
  return ours;
}

test('bench train --toy without python: lm, dpo and pm rows of ours, the peer an explicit unavailable row', () => {
  const rows = bench(join(tmpdir(), 'no-such-python'));
  assert.deepEqual([...new Set(rows.map((r) => r.mode))], ['lm', 'dpo', 'pm']);
  for (const mode of ['lm', 'dpo', 'pm']) {
    const peer = rows.filter((r) => r.mode === mode && r.engine === 'pytorch');
    assert.equal(peer.length, 1);
    assert.equal(peer[0].tokens_per_s, null);
    assert.match(peer[0].note ?? '', /^unavailable: .*no-such-python/);
    for (const r of checkOurs(rows, mode)) assert.equal(r.vs_pytorch, null);
  }
});

test('bench train --toy with a peer: pytorch rows at 1 and 2 threads first, our ratio against the best of them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-train-bench-'));
  const stub = join(dir, 'python');
  // prints dev/train_bench_torch.py's last line; 1,000 tokens/s at 1 thread, 2,000 at 2
  writeFileSync(stub, '#!/bin/sh\nt=1\n[ "$3" = 2 ] && t=2\necho "{\\"engine\\": \\"pytorch\\", \\"threads\\": $t, \\"params\\": 41728, \\"tokens_per_s\\": ${t}000.0}"\n');
  chmodSync(stub, 0o755);
  const rows = bench(stub);
  for (const mode of ['lm', 'dpo', 'pm']) {
    const mine = rows.filter((r) => r.mode === mode);
    assert.deepEqual(mine.slice(0, 2).map((r) => [r.engine, r.threads, r.tokens_per_s, r.vs_pytorch]), [['pytorch', 1, 1000, 0.5], ['pytorch', 2, 2000, 1]]);
    // the ratio is taken before tokens/s is rounded to an integer and is itself rounded to 3 decimals
    for (const r of checkOurs(rows, mode)) assert.ok(Math.abs(r.vs_pytorch! - r.tokens_per_s! / 2000) < 1e-3, JSON.stringify(r));
  }
  rmSync(dir, { recursive: true });
});
