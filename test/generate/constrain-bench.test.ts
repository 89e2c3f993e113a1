/** The documented `npm run bench -- constrain` runs (toy size) and reports both modes (docs/serve.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test('bench constrain: unconstrained and constrained decode tok/s, as JSON', () => {
  const out = execFileSync(process.execPath, [join(process.cwd(), 'dist/bench/main.js'), 'constrain', '--tokens', '24', '--reps', '1', '--no-big', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const j = JSON.parse(out.trim().split('\n').pop()!) as { rows: { mode: string; decodeTps: number; ratio: number }[] };
  assert.deepEqual(j.rows.map((r) => r.mode), ['none', 'cold', 'warm']);
  for (const r of j.rows) assert.ok(r.decodeTps > 0 && r.ratio > 0, JSON.stringify(r));
  assert.match(out, /constrained decode, moss-tiny/);
});
