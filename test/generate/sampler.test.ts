/**
 * Samplers against hand-worked values: HF repetition penalty (divide positive, multiply negative,
 * each seen id once), presence/frequency, temperature, HF top-k / top-p semantics, min-p, and
 * seeded draws (reproducible, and frequencies close to the filtered distribution).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyMinP, applyPresenceFrequency, applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP, drawFrom, sampleNext, softmaxRow,
} from '../../src/generate/index.js';
import { Generator } from '../../src/tensor/index.js';

const row = (...v: number[]) => Float32Array.from(v);
const kept = (l: Float32Array) => Array.from(l, (x, i) => (x === -Infinity ? -1 : i)).filter((i) => i >= 0);

test('repetition penalty divides positive and multiplies negative logits of seen ids, once each', () => {
  const l = row(2, -2, 1, 0.5);
  applyRepetitionPenalty(l, [0, 1, 1, 1, 3], 2);
  assert.deepEqual(Array.from(l), [1, -4, 1, 0.25]);
});

test('presence and frequency penalties follow the OpenAI formula', () => {
  const l = row(1, 1, 1);
  applyPresenceFrequency(l, new Map([[0, 3], [2, 1]]), 0.5, 0.25);
  assert.deepEqual(Array.from(l), [1 - 0.5 - 0.75, 1, 1 - 0.5 - 0.25]);
});

test('temperature, top-k (ties kept), top-p (HF cumulative rule), min-p', () => {
  const t = row(2, 4);
  applyTemperature(t, 0.5);
  assert.deepEqual(Array.from(t), [4, 8]);
  const k = row(3, 1, 3, 2, 0);
  applyTopK(k, 2);
  assert.deepEqual(kept(k), [0, 2]);
  // probs 0.5, 0.3, 0.15, 0.05: ascending cumsum 0.05, 0.2, 0.5, 1 -> remove those <= 1 - p
  const p = row(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
  applyTopP(p, 0.8); // remove cum <= 0.2: ids 3 and 2
  assert.deepEqual(kept(p), [0, 1]);
  const p2 = row(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
  applyTopP(p2, 0.5); // remove cum <= 0.5: ids 3, 2, 1
  assert.deepEqual(kept(p2), [0]);
  const m = row(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
  applyMinP(m, 0.35); // threshold 0.175
  assert.deepEqual(kept(m), [0, 1]);
});

test('seeded draws are reproducible and follow the distribution', () => {
  const probs = [0.6, 0.3, 0.1];
  const logits = row(...probs.map(Math.log));
  const a = new Generator(7);
  const b = new Generator(7);
  const counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const x = drawFrom(logits, a);
    assert.equal(x, drawFrom(logits, b));
    counts[x]++;
  }
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(counts[i] / 20000 - probs[i]) < 0.015, `id ${i}: ${counts[i]}`);
  assert.ok(Math.abs(softmaxRow(logits)[0] - 0.6) < 1e-6);
});

test('sampleNext: greedy ignores the generator, sampling never picks a filtered token', () => {
  const g = new Generator(1);
  assert.equal(sampleNext(row(0, 5, 1), { temperature: 0 }, g, [], new Map()), 1);
  // the penalty turns 5 into 5/10 = 0.5 < 1
  assert.equal(sampleNext(row(0, 5, 1), { temperature: 0, repetitionPenalty: 10 }, g, [1], new Map()), 2);
  for (let i = 0; i < 200; i++) {
    const id = sampleNext(row(3, 2.9, 0, -1, 2.8), { temperature: 0.7, topK: 3, topP: 0.9 }, g, [], new Map());
    assert.ok([0, 1, 4].includes(id));
  }
});
