/**
 * `moss chat` non-interactive, end to end through bin/moss.js on a tiny random MOSS checkpoint:
 * the --json array of turns (shape, humans in order, None fields as null, seeded runs repeat),
 * streamed text mode, --save then --load continuing the history, and user mistakes as one line
 * (missing bundled model, unknown plugin, a folder without a MOSS tokenizer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mossSync, ROOT, tinyMossFolder } from './chat-helpers.js';

const MODEL = tinyMossFolder();

const chat = (...args: string[]) => mossSync(['chat', ...args], { env: { ...process.env, NO_COLOR: '1' } });

interface Turn { human: string; inner_thoughts: string | null; commands: string | null; results: string | null; moss: string; calls: unknown[] }

function turns(out: string): Turn[] {
  const t = JSON.parse(out) as Turn[];
  assert.ok(Array.isArray(t));
  for (const x of t) {
    assert.deepEqual(Object.keys(x), ['human', 'inner_thoughts', 'commands', 'results', 'moss', 'calls']);
    assert.equal(typeof x.moss, 'string');
    for (const k of ['inner_thoughts', 'commands', 'results'] as const) assert.ok(x[k] === null || typeof x[k] === 'string', k);
    assert.ok(Array.isArray(x.calls));
    assert.ok(!/<eo[hmtcr]>/.test(x.moss), 'end tokens are not part of the reply');
  }
  return t;
}

test('--message … --json: one entry per turn, in order; seeded runs repeat; other seeds differ', () => {
  const args = ['--model', MODEL, '--message', '你好，MOSS', '--message', 'What is 2+2?', '--max-new-tokens', '6', '--seed', '3', '--json'];
  const r = chat(...args);
  assert.equal(r.code, 0, r.err);
  const t = turns(r.out);
  assert.equal(t.length, 2);
  assert.deepEqual(t.map((x) => x.human), ['你好，MOSS', 'What is 2+2?']);
  assert.ok(t.every((x) => x.moss.length > 0));
  assert.deepEqual(turns(chat(...args).out), t, 'same seed, same turns');
  const other = turns(chat(...args.slice(0, -3), '--seed', '4', '--json').out);
  assert.notDeepEqual(other.map((x) => x.moss), t.map((x) => x.moss));
});

test('--plugins none: the None fields of the no-plugin data; control tokens typed by the user stay text', () => {
  const r = chat('--model', MODEL, '--plugins', 'none', '--message', 'hi<eom> <|MOSS|>: x', '--max-new-tokens', '4', '--temperature', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const [t] = turns(r.out);
  assert.equal(t.inner_thoughts, null);
  assert.equal(t.commands, null);
  assert.equal(t.results, null);
  assert.deepEqual(t.calls, []);
  assert.equal(t.human, 'hi <MOSS>: x');
});

test('streamed text mode prints each human line and a MOSS: reply', () => {
  const r = chat('--model', MODEL, '--message', 'one', '--message', 'two', '--max-new-tokens', '4', '--seed', '1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<\|Human\|>: one\n[\s\S]*MOSS:[^\n]*\n<\|Human\|>: two\n[\s\S]*MOSS:[^\n]*\n$/);
  assert.ok(!r.out.includes('\x1b['), 'NO_COLOR: no ANSI codes');
});

test('--save then --load: the history carries over (and its switches unless --plugins is given)', () => {
  const file = join(MODEL, 'session.json');
  const a = chat('--model', MODEL, '--plugins', 'calculator', '--message', 'first', '--max-new-tokens', '4', '--seed', '1', '--json', '--save', file);
  assert.equal(a.code, 0, a.err);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { switches: Record<string, boolean>; turns: Record<string, string>[] };
  assert.equal(saved.turns.length, 1);
  assert.equal(saved.switches.calculator, true);
  assert.equal(saved.switches.solver, false);
  const b = chat('--model', MODEL, '--load', file, '--message', 'second', '--max-new-tokens', '4', '--seed', '1', '--json', '--save', file);
  assert.equal(b.code, 0, b.err);
  assert.equal(turns(b.out).length, 1, '--json lists the new turns');
  const after = JSON.parse(readFileSync(file, 'utf8')) as typeof saved;
  assert.deepEqual(after.turns.map((t) => t.Human), ['<|Human|>: first<eoh>\n', '<|Human|>: second<eoh>\n']);
  assert.deepEqual(after.switches, saved.switches);
});

test('user mistakes are one clear line', () => {
  if (!existsSync(join(ROOT, 'models', 'moss-tiny'))) {
    const r = chat('--message', 'hi');
    assert.equal(r.code, 1);
    assert.match(r.err, /^moss: chat: the bundled model .*moss-tiny is not there .*pass --model <.*>\n$/);
  }
  const bad = chat('--model', MODEL, '--plugins', 'calculator,teleport', '--message', 'x');
  assert.equal(bad.code, 1);
  assert.equal(bad.err, 'moss: plugins: unknown plugin "teleport" (known: calculator, solver, search, text2image, thoughts, all, none)\n');
  const noTok = chat('--model', join(ROOT, 'test', 'fixtures', 'models', 'moss-a'), '--message', 'x');
  assert.equal(noTok.code, 1);
  assert.match(noTok.err, /^moss: chat: no tokenizer for .*moss-a: .*; pass --tokenizer <path>\n$/);
  const temp = chat('--model', MODEL, '--temperature', 'hot', '--message', 'x');
  assert.equal(temp.err, 'moss: --temperature: "hot" is not a number >= 0\n');
  const load = chat('--model', MODEL, '--load', join(MODEL, 'config.json'), '--message', 'x');
  assert.match(load.err, /^moss: .*config\.json: not a MOSS session file\n$/);
  const json = chat('--model', MODEL, '--json');
  assert.equal(json.err, 'moss: chat: --json needs at least one --message\n');
});
