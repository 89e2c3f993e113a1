/**
 * Mistral's sliding-window attention (src/models/llama.ts hfSlidingWindow, AttentionParams.window):
 * the mistral-swa fixture (window 4 over 9-token rows, made by dev/moss_reference.py with PyTorch)
 * is matched on every backend by goldens.test.ts and bit for bit by the decode plan in
 * decode-plan.test.ts; here: the window really changes the logits (the same weights without it
 * leave the golden), config switches and refusals, and the GGUF route (`moss quantize` writes
 * `llama.attention.sliding_window`, the loader applies it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '../../src/models/quantize.js';
import { readGguf } from '../../src/io/index.js';
import { ggufWriteInput, writeGguf } from '../../src/io/gguf-write.js';
import { parseLlamaConfig, type LlamaForCausalLM } from '../../src/models/llama/model.js';
import { loadModel } from '../../src/models/load.js';
import { FIXTURES, golden, logitsOf, normErr } from './helpers.js';

const DIR = join(FIXTURES, 'mistral-swa');
const g = golden('mistral-swa');
/** Row 0 of the golden's input (9 tokens, window 4) and its logits. */
const ids = g.input_ids[0];
const want = g.logits.slice(0, ids.length * g.shape[2]);
const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const windowOf = (path: string): number | null | undefined => {
  const { model } = loadModel(path);
  const w = (model as LlamaForCausalLM).config.slidingWindow;
  model.dispose();
  return w;
};

/** A copy of the fixture in `root` with config.json overridden by `extra`. */
function variant(root: string, name: string, extra: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  copyFileSync(join(DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, ...extra }));
  return dir;
}

test('sliding window: the golden needs it (no window, a wider one, use_sliding_window: false all differ); refusals', () => {
  const root = mkdtempSync(join(tmpdir(), 'moss-swa-'));
  try {
    const e = normErr(logitsOf(DIR, ids), want);
    assert.ok(e < 1e-5, `mistral-swa vs PyTorch: ${e}`);
    assert.equal(windowOf(DIR), 4);
    for (const [name, extra] of [['none', { sliding_window: null }], ['wide', { sliding_window: 6 }], ['off', { use_sliding_window: false }]] as const) {
      const d = variant(root, name, extra);
      assert.ok(normErr(logitsOf(d, ids), want) > 100 * Math.max(e, 1e-7), `${name}: the logits must leave the golden`);
    }
    // a window not below the positions changes nothing (and is dropped)
    assert.equal(windowOf(variant(root, 'big', { sliding_window: 64 })), null);
    assert.throws(() => loadModel(variant(root, 'bad', { sliding_window: 2.5 })), /bad[/\\]config\.json: sliding_window must be a positive integer or null, got 2\.5/);
    assert.throws(() => loadModel(variant(root, 'qwen', { model_type: 'qwen2', use_sliding_window: true })), /use_sliding_window: true .* is not supported/);
    assert.equal(parseLlamaConfig({ ...cfg, model_type: 'qwen2' }, 'q.json').slidingWindow, null, 'Qwen2 windows only with use_sliding_window: true');
    // past the window there is no refusal: 40 positions of a window-4 model
    const long = Array.from({ length: 40 }, (_, i) => (i * 7) % 40);
    assert.equal(logitsOf(DIR, long).length, 40 * g.shape[2]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sliding window in GGUF: quantize writes llama.attention.sliding_window, the loader applies it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-swa-'));
  try {
    const gguf = join(dir, 'm.gguf');
    quantizeModel(DIR, 'q8_0', gguf);
    const f = readGguf(gguf);
    assert.equal(f.metadata['llama.attention.sliding_window'], 4);
    assert.equal(windowOf(gguf), 4);
    const e = normErr(logitsOf(gguf, ids), want);
    assert.ok(e < 0.03, `q8_0 GGUF vs PyTorch: ${e}`);
    const base = ggufWriteInput(f);
    const rewrite = (name: string, w: unknown): string => {
      const p = join(dir, name);
      const metadata: Record<string, unknown> = { ...base.metadata };
      if (w === undefined) delete metadata['llama.attention.sliding_window'];
      else metadata['llama.attention.sliding_window'] = w;
      const metadataTypes = { ...base.metadataTypes };
      delete metadataTypes['llama.attention.sliding_window'];
      writeGguf(p, { ...base, metadata, metadataTypes });
      return p;
    };
    const plain = rewrite('plain.gguf', undefined);
    assert.equal(windowOf(plain), null);
    assert.ok(normErr(logitsOf(plain, ids), want) > 5 * e, 'dropping the window must change the logits');
    assert.throws(() => loadModel(rewrite('bad.gguf', 'four')), /bad\.gguf: llama\.attention\.sliding_window must be a non-negative integer, got "four"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
