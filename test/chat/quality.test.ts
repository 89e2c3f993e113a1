/**
 * `moss chat/serve --quality`: the decoding tag of a steer-trained model (docs/alignment.md) is
 * resolved from the flag and generation_config.json's quality_tags, and ends the meta instruction
 * in the chat loop and in the server's messages path exactly as `withQuality` writes it in training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatTurn, conversation, type TokenGenerator } from '../../src/chat/loop.js';
import { messagesConversation } from '../../src/chat/messages.js';
import { ALL_OFF, metaInstruction, parseQuality, resolveQuality, withQuality } from '../../src/chat/meta.js';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('resolveQuality: best by default for a steer model, none for others, bad tags named', () => {
  const steer = { quality_tags: 4 };
  assert.deepEqual(resolveQuality(undefined, steer), { tag: 4, of: 4 });
  assert.deepEqual(resolveQuality('best', steer), { tag: 4, of: 4 });
  assert.deepEqual(resolveQuality('2', steer), { tag: 2, of: 4 });
  assert.equal(resolveQuality('none', steer), undefined);
  assert.equal(resolveQuality(undefined, null), undefined);
  assert.equal(resolveQuality('best', {}), undefined);
  assert.throws(() => resolveQuality('5', steer), /--quality: "5" is not best, none or an integer tag in 1\.\.4/);
  assert.throws(() => resolveQuality('2', {}, 'models/x'), /--quality: models\/x has no quality tags/);
});

test('the quality line ends the meta instruction of chat and of the messages path', () => {
  const q = { tag: 3, of: 4 };
  const meta = conversation(ALL_OFF, [], 'hi', q).meta.map((s) => s.text).join('');
  assert.equal(meta, withQuality(metaInstruction(ALL_OFF), 3, 4));
  assert.deepEqual(parseQuality(meta), { tag: 3, of: 4 });
  assert.equal(conversation(ALL_OFF, [], 'hi').meta.map((s) => s.text).join(''), metaInstruction(ALL_OFF));
  const m = messagesConversation([{ role: 'user', content: 'hi' }], { switches: ALL_OFF, quality: q }).meta;
  assert.equal(m.map((s) => s.text).join(''), withQuality(metaInstruction(ALL_OFF), 3, 4));
  assert.equal(m.at(-1)?.trusted, true); // our line, not client text
  const sys = messagesConversation([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], { switches: ALL_OFF, quality: q }).meta;
  assert.equal(sys.map((s) => s.text).join(''), 'Be brief.\n- Response quality: 3/4.\n');
});

test('chatTurn puts the tag into the prompt the model sees', async () => {
  const tok = loadTokenizer(join(ROOT, 'models', 'moss-tiny'));
  const prompts: number[][] = [];
  const model: TokenGenerator = {
    async *generate(ids, { stopIds }) {
      prompts.push([...ids]);
      yield stopIds[0];
    },
  };
  await chatTurn([], 'hi', { model, tokenizer: tok, plugins: new Map(), switches: ALL_OFF, quality: { tag: 1, of: 2 } });
  assert.ok(tok.decode(prompts[0]).startsWith(withQuality(metaInstruction(ALL_OFF), 1, 2)));
});
