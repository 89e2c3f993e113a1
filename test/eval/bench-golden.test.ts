/**
 * `moss eval` against dev/eval_reference.py (PyTorch, written from lm-evaluation-harness's task
 * files and HFLM code, independent of src/): harness prompts are byte-identical (sha256), the
 * continuation tokens match the harness's _encode_pair split, and per-choice log-likelihoods on
 * two tiny random checkpoints (MOSS and LLaMA) agree within 1e-3 with the same argmax — through
 * the shared-prefix path, the naive path, several questions per batch, multi-token choices and
 * left truncation. GSM8K / HumanEval prompts and the GSM8K answer extraction table too.
 * Needs ../shared/bench (the prompts are rebuilt from it); skips plainly without it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadMc, type McBenchName, type McSubject } from '../../src/eval/bench/data.js';
import { exactMatch, flexibleExtract, gsm8kPrompt, loadGsm8k, strictExtract } from '../../src/eval/bench/gsm8k.js';
import { loadHumanEval } from '../../src/eval/bench/humaneval.js';
import { encodeChoices, scoreNaive, scoreShared, type Encoded } from '../../src/eval/bench/loglik.js';
import { harnessPrompt } from '../../src/eval/bench/prompts.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { loadModel } from '../../src/models/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'eval');
const BENCH = join(ROOT, '..', 'shared', 'bench');
const skip = existsSync(join(BENCH, 'mmlu')) ? false : `${BENCH} is not there (the prompts are rebuilt from it)`;

interface Item {
  bench: McBenchName;
  subject: string;
  index: number;
  shots: number;
  maxLength: number;
  kind: 'letters' | 'texts' | 'truncated';
  prompt_sha256: string;
  prompt_head: string;
  ctx_len: number;
  cont_ids: number[][];
  lls: Record<string, number[]>;
}
interface Golden {
  items: Item[];
  gsm8k: { index: number; prompt_sha256: string; gold: string }[];
  gsm8k_extraction: { output: string; gold: string; strict: string; flexible: string; strict_em: number; flexible_em: number }[];
  humaneval: { task_id: string; prompt_sha256: string }[];
}

const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const argmax = (xs: number[]): number => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);

test('harness prompts and log-likelihoods match the PyTorch reference (MOSS and LLaMA)', { skip }, () => {
  const g = JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8')) as Golden;
  const tok = loadTokenizer(join(FIX, 'moss-rand'));
  const subjects = new Map<string, McSubject>();
  const subject = (b: McBenchName, s: string): McSubject => {
    const k = `${b}/${s}`;
    if (!subjects.has(k)) subjects.set(k, loadMc(b, join(BENCH, b), [s])[0]);
    return subjects.get(k)!;
  };
  const enc: Encoded[] = g.items.map((it) => {
    const s = subject(it.bench, it.subject);
    const d = s.test[it.index];
    const p = harnessPrompt(it.bench, s, d, it.shots);
    const conts = it.kind === 'texts' ? d.choices.map((c) => ` ${c}`) : p.continuations;
    assert.equal(sha(p.context), it.prompt_sha256, `${it.bench}/${it.subject}#${it.index} (${it.kind}): prompt differs; reference starts ${JSON.stringify(it.prompt_head)}`);
    const e = encodeChoices(tok, p.context, conts, 4090);
    assert.equal(e.ctx.length, it.ctx_len, `${it.subject}#${it.index}: context tokens`);
    assert.deepEqual(e.conts, it.cont_ids, `${it.subject}#${it.index}: continuation tokens`);
    return e;
  });
  assert.ok(g.items.some((i) => i.cont_ids.some((c) => c.length > 2)), 'the golden has multi-token continuations');
  for (const name of ['moss-rand', 'llama-rand']) {
    const { model } = loadModel(join(FIX, name));
    let worst = 0;
    for (const maxLength of [...new Set(g.items.map((i) => i.maxLength))]) {
      const idx = g.items.flatMap((it, i) => (it.maxLength === maxLength ? [i] : []));
      const got = scoreShared(model, idx.map((i) => enc[i]), { maxLength, batchSize: 4 });
      idx.forEach((i, j) => {
        const want = g.items[i].lls[name];
        got[j].lls.forEach((x, c) => (worst = Math.max(worst, Math.abs(x - want[c]))));
        assert.equal(argmax(got[j].lls), argmax(want), `${name} ${g.items[i].subject}#${g.items[i].index} (${g.items[i].kind}): argmax`);
        assert.equal(got[j].truncated, g.items[i].kind === 'truncated');
      });
    }
    assert.ok(worst < 1e-3, `${name}: largest log-likelihood difference ${worst}`);
    // the naive path (one forward per choice) agrees too, on a few items of each kind
    for (const kind of ['letters', 'texts', 'truncated']) {
      const i = g.items.findIndex((it) => it.kind === kind);
      const got = scoreNaive(model, enc[i], { maxLength: g.items[i].maxLength });
      got.lls.forEach((x, c) => assert.ok(Math.abs(x - g.items[i].lls[name][c]) < 1e-3, `${name} naive ${kind}: ${x} vs ${g.items[i].lls[name][c]}`));
    }
    model.dispose();
  }
});

test('GSM8K and HumanEval prompts, and GSM8K answer extraction, match the reference', { skip }, () => {
  const g = JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8')) as Golden;
  const docs = loadGsm8k(join(BENCH, 'gsm8k'));
  for (const r of g.gsm8k) assert.equal(sha(gsm8kPrompt(docs[r.index])), r.prompt_sha256, `gsm8k #${r.index}`);
  for (const r of g.gsm8k_extraction) {
    assert.equal(strictExtract(r.output), r.strict, `strict of ${JSON.stringify(r.output)}`);
    assert.equal(flexibleExtract(r.output), r.flexible, `flexible of ${JSON.stringify(r.output)}`);
    assert.equal(exactMatch(r.strict, r.gold), r.strict_em, `strict exact_match of ${JSON.stringify(r.output)}`);
    assert.equal(exactMatch(r.flexible, r.gold), r.flexible_em, `flexible exact_match of ${JSON.stringify(r.output)}`);
  }
  const he = loadHumanEval(join(BENCH, 'humaneval'));
  assert.equal(he.length, 164);
  for (const [i, r] of g.humaneval.entries()) {
    assert.equal(he[i].task_id, r.task_id);
    assert.equal(sha(he[i].prompt), r.prompt_sha256);
  }
});
