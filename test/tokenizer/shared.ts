/**
 * Test helpers for tokenizer tests: where the shared data is (MOSS_SHARED or <repo>/../shared), a skip
 * message when it is absent, the llama.cpp .inp/.out golden format, and cached tokenizer builds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteLevelBpe, byteLevelFromVocabFiles, parseMerges } from '../../src/tokenizer/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED = process.env.MOSS_SHARED ?? join(repoRoot, '..', 'shared');

/** Path under shared/, or undefined (with a message) when absent: pass as `{ skip }`. */
export function sharedPath(rel: string): string {
  return join(SHARED, rel);
}

/** `false` when the shared files exist, else a skip message naming the first missing one. */
export function skipUnless(...rels: string[]): string | false {
  for (const r of rels) if (!existsSync(join(SHARED, r))) return `shared data missing: ${join(SHARED, r)} (set MOSS_SHARED)`;
  return false;
}

/** A mixed English/Chinese/code/emoji text. */
export const MIXED = 'Hello world! 你好，世界。\n\tdef f(x):\n        return x ** 2  # 平方\n\n🦙 naïve café 1234567 \u00a0 end  ';

export function readJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(join(SHARED, rel), 'utf8')) as T;
}

/** llama.cpp test vectors: inputs split on "\n__ggml_vocab_test__\n", one ids line per input. */
export function llamaGoldens(name: string): { text: string; ids: number[] }[] {
  const base = join(SHARED, 'tokenizers/llamacpp-goldens', name);
  const inp = readFileSync(`${base}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
  // The .inp ends with the separator and the .out with a newline: both yield a final empty case
  // ('' -> no ids), which llama.cpp's own test counts too (47 cases).
  const out = readFileSync(`${base}.out`, 'utf8').split('\n');
  if (inp.length !== out.length) throw new Error(`${name}: ${inp.length} inputs vs ${out.length} outputs`);
  return inp.map((text, i) => ({ text, ids: out[i].trim() === '' ? [] : out[i].trim().split(/\s+/).map(Number) }));
}

let gpt2: ByteLevelBpe | undefined;
/** GPT-2 from OpenAI's encoder.json + vocab.bpe. */
export function gpt2FromEncoder(): ByteLevelBpe {
  gpt2 ??= new ByteLevelBpe(
    byteLevelFromVocabFiles(readJson<Record<string, number>>('tokenizers/gpt2/encoder.json'), parseMerges(readFileSync(sharedPath('tokenizers/gpt2/vocab.bpe'), 'utf8'))),
  );
  return gpt2;
}
