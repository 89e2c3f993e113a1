/**
 * The README's training walkthrough, every `$ npx moss …` line between the walkthrough markers run
 * as written (bash, `npx moss` = bin/moss.js) in a fresh folder beside a `../shared` link, as a new
 * user on a fresh clone would: pretrain → SFT → preference data → PM → steer / DPO → eval, each
 * step reading the previous step's folder with no extra flags. Also: a NaN run fails loudly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MOSS_BIN, ROOT } from './chat-helpers.js';

const SHARED = resolve(process.env.MOSS_SHARED ?? join(ROOT, '..', 'shared'));

/** The walkthrough's command lines, from README.md. */
export function walkthroughLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- training-walkthrough -->([\s\S]*?)<!-- \/training-walkthrough -->/.exec(readme);
  assert.ok(m, 'README.md has no training walkthrough markers');
  return m[1].split('\n').filter((l) => l.startsWith('$ npx moss ')).map((l) => l.slice(2));
}

function sandbox(): string {
  const top = mkdtempSync(join(tmpdir(), 'moss-walk-'));
  const cwd = join(top, 'moss');
  mkdirSync(cwd);
  symlinkSync(SHARED, join(top, 'shared'));
  symlinkSync(join(ROOT, 'docs'), join(cwd, 'docs'));
  return cwd;
}

const run = (cwd: string, line: string) => spawnSync('bash', ['-c', `set -eo pipefail; ${line.replace(/^npx moss /, `"${process.execPath}" "${MOSS_BIN}" `)}`], { cwd, encoding: 'utf8', timeout: 600_000 });

test('README training walkthrough runs as written: pretrain → sft → sample/annotate/pairs → pm → steer, dpo → eval', { skip: !existsSync(join(SHARED, 'data', 'moss-sft')) && `no ${SHARED}/data/moss-sft` }, () => {
  const lines = walkthroughLines();
  assert.deepEqual(lines.map((l) => l.split(' ').slice(2, 4).join(' ')), [
    'train pretrain', 'train sft', 'sample --model', 'annotate --in', 'data pairs', 'train pm', 'data pairs', 'train steer', 'train dpo', 'eval tools',
  ]);
  const cwd = sandbox();
  let out = '';
  for (const line of lines) {
    const r = run(cwd, line);
    assert.equal(r.status, 0, `${line}\n${r.stderr}`);
    out += r.stdout + r.stderr;
  }
  // the tokenizer travels with every model folder; each step's output is the next one's input
  for (const d of ['pt', 'sft', 'pm', 'steer', 'dpo']) assert.ok(existsSync(join(cwd, 'runs', d, 'final', 'merges.txt')), `runs/${d}/final has its tokenizer`);
  for (const d of ['pt', 'sft']) assert.ok(readdirSync(join(cwd, 'runs', d)).some((n) => n.startsWith('step-')), `runs/${d} has a checkpoint`);
  assert.match(out, /done: step 10; model in runs\/sft\/final/);
  // SFT keeps the turns that fit (meta instruction kept) and names the real length of what it skips
  const kept = /(\d+) conversations; \d+ truncated to the turns that fit; skipped \d+ item\(s\): \d+× conversation too long: the meta instruction and first turn are N tokens, the context holds N/.exec(out);
  assert.ok(kept && Number(kept[1]) > 170, out);
  assert.match(out, /plugins\.equation_solver\.jsonl:\d+: conversation too long: the meta instruction and first turn are 1\d\d\d tokens, the context holds 1025/);
  assert.match(out, /moss eval tools: runs\/steer\/final, 20 held-out synthetic prompts/);
  assert.match(out, /overlap with training prompts: checked against/);
});

test('a diverging run (--lr 1e6) exits non-zero naming the step and leaves no NaN checkpoint', { skip: !existsSync(join(SHARED, 'data', 'moss-sft')) && `no ${SHARED}/data/moss-sft` }, () => {
  const cwd = sandbox();
  const r = run(cwd, 'npx moss train pretrain --data ../shared/data/moss-sft/plugins.calculator.jsonl --out runs/nan --vocab-size 300 --n-embd 32 --n-layer 1 --n-head 4 --rotary-dim 8 --context 64 --steps 12 --batch-size 2 --ckpt-every 1 --lr 1e6 --warmup-steps 0 --clip 0');
  assert.notEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /step \d+: .*(non-finite step|is not finite)/);
  assert.doesNotMatch(r.stderr, /^done:/m);
  assert.ok(!existsSync(join(cwd, 'runs', 'nan', 'final')));
});
