/**
 * `moss eval mmlu|cmmlu|ceval|gsm8k|humaneval` as documented (docs/eval.md), at toy sizes on the
 * tiny random checkpoint of test/fixtures/eval: the command contract (results.json with acc,
 * acc_macro, n, subjects; samples.jsonl with subject, index, prompt, loglikelihoods, pred, gold),
 * the three styles, left truncation counted, and bad input: an unknown subject lists the valid ones,
 * a malformed or missing bench file is named with its line. Needs ../shared/bench; skips plainly.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mossSync, ROOT } from './chat-helpers.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'eval', 'moss-rand');
const BENCH = join(ROOT, '..', 'shared', 'bench');
const skip = existsSync(join(BENCH, 'mmlu')) ? false : `${BENCH} is not there`;

const moss = (args: string[]) => mossSync(['eval', ...args], { cwd: ROOT });

test('moss eval mmlu / cmmlu / ceval write results.json and samples.jsonl', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'moss-eval-'));
  try {
    const out = join(tmp, 'mmlu');
    const r = moss(['mmlu', '--model', MODEL, '--bench-dir', BENCH, '--subjects', 'anatomy,abstract_algebra', '--limit', '3', '--shots', '2', '--batch-size', '2', '--out', out]);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown> & { subjects: Record<string, { acc: number; n: number }>; settings: Record<string, unknown> };
    assert.equal(res.n, 6);
    for (const k of ['acc', 'acc_macro', 'acc_norm', 'acc_stderr']) assert.equal(typeof res[k], 'number', k);
    assert.deepEqual(Object.keys(res.subjects), ['abstract_algebra', 'anatomy']);
    assert.equal(res.subjects.anatomy.n, 3);
    assert.equal(res.settings.shots, 2);
    assert.match(String((res.model as { hash: string }).hash), /^[0-9a-f]{16}$/);
    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 6);
    assert.deepEqual([lines[0].subject, lines[0].index, lines[3].subject, lines[3].index], ['abstract_algebra', 0, 'anatomy', 0]);
    assert.equal((lines[0].loglikelihoods as number[]).length, 4);
    assert.match(String(lines[0].prompt), /^The following are multiple choice questions \(with answers\) about abstract algebra\.\n\n/);
    for (const k of ['pred', 'gold']) assert.equal(typeof lines[0][k], 'number');
    // the same questions with --batch-size 1 give the same log-likelihoods
    const r1 = moss(['mmlu', '--model', MODEL, '--bench-dir', BENCH, '--subjects', 'anatomy,abstract_algebra', '--limit', '3', '--shots', '2', '--out', join(tmp, 'b1')]);
    assert.equal(r1.code, 0, r1.err);
    const l1 = readFileSync(join(tmp, 'b1', 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loglikelihoods: number[] });
    l1.forEach((s, i) => s.loglikelihoods.forEach((x, c) => assert.ok(Math.abs(x - (lines[i].loglikelihoods as number[])[c]) < 1e-4)));
    for (const [bench, style] of [['cmmlu', 'original'], ['ceval', 'harness'], ['cmmlu', 'moss-chat']]) {
      const o = join(tmp, `${bench}-${style}`);
      const q = moss([bench, '--model', MODEL, '--bench-dir', BENCH, '--limit', '2', '--subjects', bench === 'ceval' ? 'accountant' : 'agronomy', '--style', style, '--out', o]);
      assert.equal(q.code, 0, q.err);
      const s = JSON.parse(readFileSync(join(o, 'samples.jsonl'), 'utf8').split('\n')[0]) as { prompt: string };
      if (style === 'original') assert.match(s.prompt, /^以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n题目：/);
      if (style === 'moss-chat') assert.match(s.prompt, /<\|Human\|>: .*<eoh>\n<\|MOSS\|>:$/s);
      if (bench === 'ceval') assert.match(s.prompt, /^以下是中国关于注册会计师的单项选择题，请选出其中的正确答案。\n\n/);
    }
    // a context longer than the model allows: the harness's left truncation, counted
    const t = moss(['mmlu', '--model', MODEL, '--bench-dir', BENCH, '--subjects', 'anatomy', '--limit', '2', '--max-length', '48', '--out', join(tmp, 'trunc')]);
    assert.equal(t.code, 0, t.err);
    assert.equal((JSON.parse(readFileSync(join(tmp, 'trunc', 'results.json'), 'utf8')) as { truncated: number }).truncated, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('moss eval gsm8k and humaneval write their metrics', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'moss-eval-'));
  try {
    const g = moss(['gsm8k', '--model', MODEL, '--bench-dir', BENCH, '--limit', '2', '--max-new-tokens', '6', '--out', join(tmp, 'g')]);
    assert.equal(g.code, 0, g.err);
    const gr = JSON.parse(readFileSync(join(tmp, 'g', 'results.json'), 'utf8')) as { exact_match: { strict: number; flexible: number }; n: number };
    assert.equal(gr.n, 2);
    assert.equal(typeof gr.exact_match.strict, 'number');
    assert.equal(typeof gr.exact_match.flexible, 'number');
    const h = moss(['humaneval', '--model', MODEL, '--bench-dir', BENCH, '--limit', '2', '--max-new-tokens', '6', '--out', join(tmp, 'h')]);
    assert.equal(h.code, 0, h.err);
    const hr = JSON.parse(readFileSync(join(tmp, 'h', 'results.json'), 'utf8')) as Record<string, number>;
    assert.equal(hr['pass@1'], 0);
    assert.equal(hr.n, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('bad input: unknown subject, malformed and missing files', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'moss-eval-'));
  try {
    const u = moss(['mmlu', '--model', MODEL, '--bench-dir', BENCH, '--subjects', 'astrology', '--out', join(tmp, 'x')]);
    assert.equal(u.code, 1);
    assert.match(u.err, /no mmlu subject "astrology"; valid: abstract_algebra, anatomy, astronomy/);
    const bad = join(tmp, 'bench');
    mkdirSync(join(bad, 'mmlu', 'test'), { recursive: true });
    cpSync(join(BENCH, 'mmlu', 'dev'), join(bad, 'mmlu', 'dev'), { recursive: true });
    writeFileSync(join(bad, 'mmlu', 'test', 'anatomy_test.csv'), 'question,choice0,choice1,choice2,choice3,answer\nWhat?,a,b,c,d,2\nWhy?,a,b,c,d\n');
    const m = moss(['mmlu', '--model', MODEL, '--bench-dir', bad, '--out', join(tmp, 'x')]);
    assert.equal(m.code, 1);
    assert.match(m.err, /anatomy_test\.csv:3: 5 fields, expected 6/);
    writeFileSync(join(bad, 'mmlu', 'test', 'anatomy_test.csv'), 'question,choice0,choice1,choice2,choice3,answer\n"What?,a,b,c,d,2\n');
    assert.match(moss(['mmlu', '--model', MODEL, '--bench-dir', bad, '--out', join(tmp, 'x')]).err, /anatomy_test\.csv:2: unterminated quoted field/);
    writeFileSync(join(bad, 'mmlu', 'test', 'virology_test.csv'), 'question,choice0,choice1,choice2,choice3,answer\nWhat?,a,b,c,d,7\n');
    rmSync(join(bad, 'mmlu', 'test', 'anatomy_test.csv'));
    assert.match(moss(['mmlu', '--model', MODEL, '--bench-dir', bad, '--out', join(tmp, 'x')]).err, /virology_test\.csv:2: answer "7" is not one of 0, 1, 2, 3/);
    writeFileSync(join(bad, 'mmlu', 'test', 'virology_test.csv'), 'question,choice0,choice1,choice2,choice3,answer\nWhat?,a,b,c,d,3\n');
    rmSync(join(bad, 'mmlu', 'dev', 'virology_dev.csv'));
    assert.match(moss(['mmlu', '--model', MODEL, '--bench-dir', bad, '--out', join(tmp, 'x')]).err, /virology_dev\.csv: missing/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
