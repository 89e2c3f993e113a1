/**
 * The README's alignment commands, run as written at toy sizes through bin/moss.js on models/moss-tiny:
 * moss data pairs → moss train dpo / pm → moss score → moss train steer (with the PM scoring the responses)
 * → moss chat --quality.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOSS_BIN, ROOT } from './chat-helpers.js';

const TINY = join(ROOT, 'models', 'moss-tiny');

function moss(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [MOSS_BIN, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `moss ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('README align walkthrough at toy size: pairs, dpo, pm, score, steer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-align-'));
  writeFileSync(join(dir, 'pairs.jsonl'), moss(dir, 'data', 'pairs', '--n', '12', '--seed', '101', '--no-meta'));
  writeFileSync(join(dir, 'held.jsonl'), moss(dir, 'data', 'pairs', '--n', '4', '--seed', '102', '--no-meta'));
  const far = moss(dir, 'data', 'pairs', '--n', '6', '--seed', '101', '--no-meta', '--far', '1').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string });
  for (const p of far) {
    const [a, b] = [p.chosen, p.rejected].map((t) => t.match(/-?\d+(\.\d+)?/g)!.at(-1)!);
    assert.ok(a !== b && a.length === b.length && a.replace(/\d/g, '0') === b.replace(/\d/g, '0'), `${a} vs ${b}`);
  }
  const seeds = moss(dir, 'data', 'pairs', '--n', '3', '--seed', '104', '--solve', '--prompts').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; category: string });
  assert.ok(seeds.length > 0 && seeds.every((x) => x.category === 'tool' && x.prompt.length > 0 && !/<\|Human\|>|<eoh>/.test(x.prompt)), JSON.stringify(seeds));
  const toy = ['--steps', '2', '--batch-size', '2', '--eval-every', '0', '--ckpt-every', '0'];
  moss(dir, 'train', 'dpo', '--init', TINY, '--data', 'pairs.jsonl', '--eval-data', 'held.jsonl', '--out', 'runs/dpo', ...toy, '--lr', '2e-5', '--dtype', 'bf16');
  moss(dir, 'train', 'pm', '--init', TINY, '--data', 'pairs.jsonl', '--eval-data', 'held.jsonl', '--out', 'runs/pm', ...toy, '--lr', '3e-4');
  writeFileSync(join(dir, 'one.jsonl'), readFileSync(join(dir, 'held.jsonl'), 'utf8').split('\n')[0] + '\n');
  const scored = JSON.parse(moss(dir, 'score', '--model', 'runs/pm/final', '--data', 'one.jsonl', '--json')) as Record<string, number>;
  assert.deepEqual(Object.keys(scored), ['chosen', 'rejected']);
  writeFileSync(join(dir, 'responses.jsonl'), moss(dir, 'data', 'pairs', '--n', '8', '--seed', '103', '--no-meta', '--responses'));
  moss(dir, 'train', 'steer', '--init', TINY, '--data', 'responses.jsonl', '--pm', 'runs/pm/final', '--out', 'runs/steer', '--tags', '4', ...toy);
  assert.equal(JSON.parse(readFileSync(join(dir, 'runs/steer/final/generation_config.json'), 'utf8')).quality_tags, 4);
  // the rule judge's reward instead of a PM; tool-use pairs; the end-to-end check script on the steer model
  const rewarded = moss(dir, 'data', 'pairs', '--n', '4', '--seed', '103', '--no-meta', '--responses', '--reward').trim().split('\n').map((l) => JSON.parse(l) as { reward: number });
  assert.deepEqual(rewarded.map((r) => r.reward), rewarded.map((_, i) => (i % 2 === 0 ? 1 : 0)));
  const tool = moss(dir, 'data', 'pairs', '--n', '3', '--seed', '105', '--solve', '--tool-use').trim().split('\n').map((l) => JSON.parse(l) as { chosen: { Commands: string }; rejected: { Commands: string } });
  assert.ok(tool.length > 0 && tool.every((p) => /^<\|Commands\|>: (Calculate|Solve)\(/.test(p.chosen.Commands) && p.rejected.Commands === '<|Commands|>: None<eoc>\n'));
  writeFileSync(join(dir, 'tool-pairs.jsonl'), moss(dir, 'data', 'pairs', '--n', '6', '--seed', '105', '--solve', '--tool-use', '--no-meta'));
  moss(dir, 'train', 'dpo', '--init', TINY, '--data', 'tool-pairs.jsonl', '--eval-fraction', '0.3', '--out', 'runs/dpo-tools', ...toy, '--lr', '1e-4', '--dtype', 'bf16');
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'align-check.mjs'), '--held', 'held.jsonl', '--steer', 'runs/steer/final', '--n', '2', '--policy', 'runs/dpo-tools/final', '--tools', '1'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  assert.equal(check.status, 0, check.stderr);
  const steer = (JSON.parse(check.stdout) as { steer: { pm: string; perTag: { tag: number; ruleScore: number }[] } }).steer;
  assert.equal(steer.pm, 'rule judge');
  assert.deepEqual(steer.perTag.map((t) => t.tag), [1, 2, 3, 4]);
  assert.equal((JSON.parse(check.stdout) as { toolsWrongAnswer: Record<string, { of: number }> }).toolsWrongAnswer['runs/dpo-tools/final'].of, 1);
  // decoding with a tag: the best by default, any 1..K, none; a bad tag or a model without tags is refused
  const turns = JSON.parse(moss(dir, 'chat', '--model', 'runs/steer/final', '--quality', '2', '--message', 'What is 2+3?', '--max-new-tokens', '4', '--temperature', '0', '--json')) as unknown[];
  assert.equal(turns.length, 1);
  const bad = spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', 'runs/steer/final', '--quality', '5', '--message', 'hi', '--json'], { cwd: dir, encoding: 'utf8' });
  assert.match(bad.stderr, /--quality: "5" is not best, none or an integer tag in 1\.\.4/);
  const none = spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', TINY, '--quality', '2', '--message', 'hi', '--json'], { cwd: dir, encoding: 'utf8' });
  assert.match(none.stderr, /--quality: .*moss-tiny has no quality tags/);
});
