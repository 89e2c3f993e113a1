/**
 * `moss tokenize` / `moss detokenize` end to end (the compiled CLI in a child process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPath, skipUnless } from './shared.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const moss = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('tokenize --json and detokenize round trip (MOSS folder, GGUF)', { skip: skipUnless('tokenizers/moss/merges.txt', 'tokenizers/llamacpp-goldens/ggml-vocab-gpt-2.gguf') }, () => {
  const r = moss('tokenize', '--tokenizer', sharedPath('tokenizers/moss'), '--text', '你好<eoh>', '--special', 'allow', '--json');
  assert.equal(r.status, 0, r.stderr);
  const { ids, tokens } = JSON.parse(r.stdout) as { ids: number[]; tokens: string[] };
  assert.equal(ids[ids.length - 1], 106067);
  assert.equal(tokens[tokens.length - 1], '<eoh>');
  const d = moss('detokenize', '--tokenizer', sharedPath('tokenizers/moss'), '--ids', ids.join(','));
  assert.equal(d.stdout, '你好<eoh>\n');
  const g = moss('tokenize', '--tokenizer', sharedPath('tokenizers/llamacpp-goldens/ggml-vocab-gpt-2.gguf'), '--text', 'Hello world');
  assert.match(g.stdout, /15496 995/);
});

test('user mistakes print one line naming the problem', { skip: skipUnless('models/stories260K/tok512.bin') }, () => {
  const a = moss('detokenize', '--tokenizer', sharedPath('models/stories260K/tok512.bin'), '--ids', '1,99999');
  assert.equal(a.status, 1);
  assert.match(a.stderr, /^moss: --ids: 99999 is not in the vocabulary .*tok512\.bin \(size 512\)\n$/);
  const b = moss('tokenize', '--tokenizer', '/nonexistent/tok', '--text', 'x');
  assert.match(b.stderr, /^moss: \/nonexistent\/tok: no such file or folder\n$/);
  const c = moss('tokenize', '--tokenizer', sharedPath('models/stories260K/tok512.bin'));
  assert.match(c.stderr, /exactly one of --text or --file/);
});

test('docs/tokenizers.md: the pre-tokenizer commands print what the page shows', { skip: skipUnless('tokenizers/hf/llama3/tokenizer.json', 'tokenizers/llamacpp-goldens/ggml-vocab-deepseek-coder.gguf') }, () => {
  const a = moss('tokenize', '--tokenizer', sharedPath('tokenizers/hf/llama3'), '--text', "I've 12345 apples", '--json');
  assert.equal(a.stdout, '{"ids":[40,3077,220,4513,1774,41776],"tokens":["I","\'ve","Ġ","123","45","Ġapples"]}\n', a.stderr);
  const b = moss('tokenize', '--tokenizer', sharedPath('tokenizers/llamacpp-goldens/ggml-vocab-deepseek-coder.gguf'), '--text', "I've 12345 apples", '--json');
  assert.equal(b.stdout, '{"ids":[40,6,312,207,16,17,18,19,20,27923],"tokens":["I","\'","ve","Ġ","1","2","3","4","5","Ġapples"]}\n', b.stderr);
});
