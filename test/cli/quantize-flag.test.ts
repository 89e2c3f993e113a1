/**
 * `moss chat --quantize q8_0` end to end through bin/moss.js on a tiny MOSS folder whose embedding
 * has padding rows past the tokenizer's vocabulary (as MOSS has 107,008 rows for 106,072 tokens)
 * with a lm_head bias that makes them the most likely: the folder is converted once into
 * moss-q8_0.gguf beside it (reused on the next run, no second conversion), the tokenizer comes
 * from the folder, and greedy chat never picks a padding row (it would fail to decode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/io/index.js';
import { viewOf } from '../../src/io/views.js';
import { f32Of } from '../../src/models/quantize.js';
import { MOSS_BIN, tinyMossFolder } from './chat-helpers.js';
import { withinVocab, sampleNext } from '../../src/generate/sampler.js';
import { Generator } from '../../src/tensor/index.js';

const PAD = 32;

function paddedFolder(): string {
  const dir = tinyMossFolder();
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const V = cfg.vocab_size as number;
  const st = readSafetensors(join(dir, 'model.safetensors'));
  const out = new Map([...st.tensors].map(([k, v]) => [k, viewOf(f32Of(v), 'f32', v.shape)]));
  const grow = (name: string, fillv: number) => {
    const v = out.get(name)!;
    const cols = v.shape.length === 2 ? v.shape[1] : 1;
    const a = new Float32Array((V + PAD) * cols).fill(fillv);
    a.set(f32Of(v));
    out.set(name, viewOf(a, 'f32', v.shape.length === 2 ? [V + PAD, cols] : [V + PAD]));
  };
  grow('transformer.wte.weight', 0.01);
  grow('lm_head.weight', 0.01);
  grow('lm_head.bias', 0);
  const bias = f32Of(out.get('lm_head.bias')!);
  bias.fill(100, V); // the padding rows would win every argmax
  out.set('lm_head.bias', viewOf(bias, 'f32', [V + PAD]));
  writeSafetensors(join(dir, 'model.safetensors'), out);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, vocab_size: V + PAD }));
  return dir;
}

test('chat --quantize q8_0 converts once, reuses the GGUF, and never samples padding rows', () => {
  const dir = paddedFolder();
  try {
    const run = () => spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', dir, '--quantize', 'q8_0', '--message', 'Hello', '--max-new-tokens', '4', '--temperature', '0', '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    const a = run();
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stderr, /converting .* to q8_0 once: .*moss-q8_0\.gguf/);
    const gguf = join(dir, 'moss-q8_0.gguf');
    const t = statSync(gguf).mtimeMs;
    const b = run();
    assert.equal(b.status, 0, b.stderr);
    assert.doesNotMatch(b.stderr, /converting/);
    assert.equal(statSync(gguf).mtimeMs, t);
    assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout));
    const bad = spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', dir, '--quantize', 'q5_k', '--message', 'x'], { encoding: 'utf8' });
    assert.match(bad.stderr, /^moss: --quantize: "q5_k" is not q4_0 or q8_0\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(existsSync(dir), false);
});

test('every sampler leaves the rows past vocabSize alone', () => {
  const logits = new Float32Array([0, 1, 2, 50, 60]);
  assert.equal(withinVocab(logits, 3).length, 3);
  for (const temperature of [0, 1]) {
    for (let s = 0; s < 20; s++) assert.ok(sampleNext(logits.slice(), { temperature, vocabSize: 3 }, new Generator(s), [], new Map()) < 3);
  }
});
