/**
 * `npm run build:tiny` (scripts/build-tiny.mjs, the moss-tiny v2 recipe) end to end at micro scale
 * (MOSS_TINY_SCALE=0.002, MOSS_TINY_MICRO=1: every stage — data with its overlap check, BPE,
 * pretrain, SFT, dense SFT, moss sample + moss annotate --judge rule + calculator pairs, DPO):
 * two runs give bit-identical weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../cli/chat-helpers.js';

function build(): { sha: string; summary: Record<string, unknown> } {
  const work = mkdtempSync(join(tmpdir(), 'moss-build-tiny-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-tiny.mjs')], {
    env: { ...process.env, MOSS_TINY_SCALE: '0.002', MOSS_TINY_MICRO: '1', MOSS_TINY_WORK: work }, encoding: 'utf8', timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = join(work, 'out');
  return { sha: createHash('sha256').update(readFileSync(join(out, 'model.safetensors'))).digest('hex'), summary: JSON.parse(readFileSync(join(out, 'build-summary.json'), 'utf8')) };
}

test('build:tiny (v2 recipe) at micro scale runs every stage and is bit-identical on two runs', () => {
  const a = build();
  const b = build();
  assert.equal(a.sha, b.sha);
  assert.deepEqual(Object.keys(a.summary.stages as object), ['pretrain', 'sft', 'sft-dense', 'copy', 'copy-hard', 'small', 'dpo']);
  assert.ok(a.summary.preference);
  // every SFT stage reports its copy probe (held-out drill strings)
  for (const st of ['sft', 'sft-dense', 'copy', 'copy-hard', 'small']) {
    const p = (a.summary.stages as Record<string, { copyProbe?: { n: number; exact: number } }>)[st].copyProbe;
    assert.ok(p && p.n === 4 && p.exact >= 0 && p.exact <= p.n, `${st}: ${JSON.stringify(p)}`);
  }
  assert.deepEqual(b.summary.stages && Object.keys(b.summary.stages), ['pretrain', 'sft', 'sft-dense', 'copy', 'copy-hard', 'small', 'dpo']);
});
