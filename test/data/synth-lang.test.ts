/**
 * src/data/synth-plugins.ts and dialogues.ts: `zhShare` sets the share of Chinese conversations, the default (0.5)
 * keeps the earlier streams, and the kinds and numbers drawn do not depend on it (only the language does).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { synthDialogues } from '../../src/data/dialogues.js';
import { writeDocuments } from '../../src/data/docs.js';
import { synthConversations } from '../../src/data/synth-plugins.js';

const docs = mkdtempSync(join(tmpdir(), 'moss-synthlang-'));
writeDocuments(docs);

test('zhShare sets the share of Chinese conversations', () => {
  const share = (z?: number) => synthConversations(2000, 21, docs, {}, z).filter((c) => c.expect.lang === 'zh').length / 2000;
  assert.ok(Math.abs(share() - 0.5) < 0.05, `default share ${share()}`);
  assert.ok(Math.abs(share(0.65) - 0.65) < 0.05, `share ${share(0.65)}`);
  assert.equal(share(0), 0);
  assert.equal(share(1), 1);
});

test('the default zhShare is the earlier stream; the kinds drawn do not depend on it', () => {
  assert.deepEqual(synthConversations(100, 5, docs, {}, 0.5), synthConversations(100, 5, docs));
  assert.deepEqual(synthDialogues(30, 5, docs, 4, {}, false, 0.5), synthDialogues(30, 5, docs, 4, {}, false));
  const kinds = (z: number) => synthConversations(300, 8, docs, { calc: 0.6, solve: 0.2 }, z).map((c) => c.expect.kind);
  assert.deepEqual(kinds(0.8), kinds(0.5));
});
