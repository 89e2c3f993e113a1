/**
 * `moss sample`'s batching (src/data/pipeline/sample.ts over the continuous-batching scheduler):
 * with per-sample seeds and temperatures, 8 samples decoded together give exactly what one sample
 * at a time through `generate()` gives (greedy and sampled), plugin rounds included (batch 8 vs 1);
 * and every `logprob_sum` equals an independent teacher-forced computation: one forward of context
 * + sampled tokens, log-softmax per position in f64 here, summed over the sampled positions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, generationDefaults } from '../../../src/generate/index.js';
import { BatchSampler, encodeContext, promptContext, type SampleItem, type SampleRecord } from '../../../src/data/pipeline/sample.js';
import { derive } from '../../../src/data/pipeline/synth.js';
import { loadTokenizer } from '../../../src/io/load-tokenizer.js';
import { loadModel } from '../../../src/models/load.js';
import { createPlugins } from '../../../src/plugins/index.js';
import { tensor, tidy } from '../../../src/tensor/index.js';
import { TINY } from './helpers.js';

const tok = loadTokenizer(TINY);
const { model, generationConfig } = loadModel(TINY);
const defaults = generationDefaults(model.info, generationConfig);
const items: SampleItem[] = [
  { id: 'a', context: promptContext('Hello, who are you?') },
  { id: 'b', context: promptContext('Give me three ideas for a birthday party') },
  { id: 'c', context: promptContext('写一首关于春天的短诗') },
];
const MAX_NEW = 24;

async function batched(batch: number, temperatures: number[], n: number, its = items, plugins = false, maxNew = MAX_NEW): Promise<SampleRecord[]> {
  const s = new BatchSampler({ model, tokenizer: tok, n, seed: 7, temperatures, maxNewTokens: maxNew, sampling: defaults, batch, plugins: plugins ? createPlugins({}) : undefined });
  try {
    return await Promise.all(its.map((it) => s.sample(it)));
  } finally {
    s.dispose();
  }
}

/** The reference: one sample at a time through generate(), the same per-sample seed and temperature. */
async function oneAtATime(temperatures: number[], n: number): Promise<{ text: string; ids: number[] }[][]> {
  const stopIds = [...new Set([...(defaults.stopIds ?? []), tok.tokenToId('<eom>')!, tok.eosId!])];
  const out: { text: string; ids: number[] }[][] = [];
  for (const it of items) {
    const prompt = encodeContext(it.context, tok);
    const rs: { text: string; ids: number[] }[] = [];
    for (let k = 0; k < n; k++) {
      const ids: number[] = [];
      const o = { ...defaults, temperature: temperatures[k % temperatures.length], seed: derive(it.id, `sample:7:${k}`), stopIds, maxNewTokens: MAX_NEW };
      for await (const id of generate(model, prompt, o)) ids.push(id);
      rs.push({ text: tok.decode(ids), ids });
    }
    out.push(rs);
  }
  return out;
}

/** Teacher-forced log-probability of `ids[from..]` given what precedes, from one full forward. */
function teacherForced(ids: number[], from: number): number {
  const V = model.info.vocabSize;
  const t = tidy(() => model.forward(tensor(ids, [1, ids.length], { dtype: 'i32', backend: model.backend }), { logits: 'all' }));
  const logits = t.toFloat32Array();
  t.dispose();
  let sum = 0;
  for (let p = from - 1; p < ids.length - 1; p++) {
    const row = logits.subarray(p * V, (p + 1) * V);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const z = row.reduce((a, b) => a + Math.exp(b - m), 0);
    sum += row[ids[p + 1]] - m - Math.log(z);
  }
  return sum;
}

for (const [name, temps] of [['greedy', [0]], ['sampled', [0.3, 1.0, 0.7, 1.3]]] as const) {
  test(`${name}: batch 8 = one sample at a time through generate(); logprob_sum = teacher-forced`, async () => {
    const n = 4;
    const got = await batched(8, [...temps], n);
    const want = await oneAtATime([...temps], n);
    got.forEach((rec, i) => {
      assert.equal(rec.id, items[i].id);
      rec.responses.forEach((r, k) => {
        const w = want[i][k];
        assert.equal(r.text, w.text, `${rec.id}#${k}`);
        assert.equal(r.tokens, w.ids.length);
        const prompt = encodeContext(items[i].context, tok);
        const tf = teacherForced([...prompt, ...w.ids], prompt.length);
        assert.ok(Math.abs(r.logprob_sum - tf) < 1e-3, `${rec.id}#${k}: logprob_sum ${r.logprob_sum} vs teacher-forced ${tf}`);
      });
    });
    if (name === 'sampled') assert.ok(new Set(got[1].responses.map((r) => r.text)).size > 1, 'sampled responses differ');
  });
}

test('plugin rounds: batch 8 = batch 1 (commands run, results forced, the reply continues)', async () => {
  const calc: SampleItem[] = [
    { id: 'q1', context: '<|Human|>: What is 12*3?<eoh>\n' },
    { id: 'q2', context: '<|Human|>: 解方程2x+3=11<eoh>\n' },
  ];
  const a = await batched(8, [0.3, 1.0], 3, calc, true, 64);
  const b = await batched(1, [0.3, 1.0], 3, calc, true, 64);
  assert.deepEqual(a, b);
  assert.match(a.flatMap((r) => r.responses.map((x) => x.text)).join('\n'), /<\|Results\|>:\nCalculate\("12\*3"\) => '36'\n<eor>\n<\|MOSS\|>: /);
});
