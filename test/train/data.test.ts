/** Packing, batch order and bad-data reporting (file:line, skipped by rule, never silently). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batcher, IGNORE, packDocuments, packExamples } from '../../src/train/data.js';
import { BadDataLog, readJsonl, readTextCorpus } from '../../src/train/corpus.js';

test('packDocuments: documents joined by eos, shifted windows of T', () => {
  const rows = packDocuments([[1, 2, 3], [4, 5]], 3, 0); // stream 1 2 3 0 4 5 0
  assert.deepEqual(rows.map((r) => [...r.input]), [[1, 2, 3], [0, 4, 5]]);
  assert.deepEqual(rows.map((r) => [...r.target]), [[2, 3, 0], [4, 5, 0]]);
});

test('packExamples: shifted labels, greedy rows, padding ignored, too-long examples refused', () => {
  const ex = [
    { ids: [1, 2, 3], labels: [IGNORE, IGNORE, 3] },
    { ids: [4, 5], labels: [IGNORE, 5] },
    { ids: [6, 7, 8, 9], labels: [IGNORE, 7, 8, 9] },
  ];
  const rows = packExamples(ex, 4, 0);
  assert.deepEqual(rows.map((r) => [...r.input]), [[1, 2, 4, 0], [6, 7, 8, 0]]);
  assert.deepEqual(rows.map((r) => [...r.target]), [[IGNORE, 3, 5, IGNORE], [7, 8, 9, IGNORE]]);
  assert.throws(() => packExamples([{ ids: [1, 2, 3, 4, 5, 6], labels: [1, 2, 3, 4, 5, 6], source: 'f:3' }], 4, 0), /exceeds the context 5 \(f:3\)/);
});

test('Batcher: every row once per epoch, order set by (seed, epoch), restartable from a position', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ input: Int32Array.of(i), target: Int32Array.of(i) }));
  const a = new Batcher(rows, 2, 1);
  const seen = [...a.next(), ...a.next(), ...a.next()].map((r) => r.input[0]);
  assert.deepEqual([...seen.slice(0, 5)].sort(), [0, 1, 2, 3, 4]);
  const b = new Batcher(rows, 2, 1);
  b.pos = { epoch: 0, index: 4 };
  assert.deepEqual(b.next().map((r) => r.input[0]), seen.slice(4, 6));
});

test('malformed JSONL lines and missing fields are reported with file:line and skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-data-'));
  const f = join(dir, 'c.jsonl');
  writeFileSync(f, '{"text":"a"}\n{"text": oops}\n\n[1]\n{"body":"b"}\n{"text":"c"}\n');
  const msgs: string[] = [];
  const bad = new BadDataLog((m) => msgs.push(m));
  const docs = readTextCorpus([f], bad);
  assert.deepEqual(docs.map((d) => [d.text, d.line]), [['a', 1], ['c', 6]]);
  assert.deepEqual(bad.items.map((b) => b.line), [2, 4, 5]);
  assert.match(msgs[0], new RegExp(`^skipped ${f}:2: malformed JSON`));
  assert.match(msgs[2], /:5: no string field "text"/);
  assert.match(bad.summary(), /^skipped 3 item\(s\)/);
  assert.equal(readJsonl(f, new BadDataLog(null)).length, 3);
});

test('text files: documents split at blank lines, with their first line number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-data-'));
  const f = join(dir, 'c.txt');
  writeFileSync(f, 'one\ntwo\n\n\nthree\n');
  assert.deepEqual(readTextCorpus([f], new BadDataLog(null)).map((d) => [d.text, d.line]), [['one\ntwo', 1], ['three', 5]]);
});
