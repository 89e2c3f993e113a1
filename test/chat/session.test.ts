/**
 * Session: switches, history, transcript in the MOSS format, and the JSON save/load round trip
 * (atomic: no temp file left; foreign files refused with a clear message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from '../../src/chat/session.js';
import { ALL_OFF, metaInstruction, parseSwitches } from '../../src/chat/meta.js';
import type { TurnFields } from '../../src/chat/format.js';

const T1: TurnFields = {
  Human: '<|Human|>: 2+2 是多少？<eoh>\n',
  'Inner Thoughts': '<|Inner Thoughts|>: 用计算器<eot>\n',
  Commands: '<|Commands|>: Calculate("2+2")<eoc>\n',
  'Tool Responses': '<|Results|>:\nCalculate("2+2") => \'4\'\n<eor>\n',
  MOSS: '<|MOSS|>: 等于 4。<eom>\n',
};
const T2: TurnFields = { Human: '<|Human|>: thanks<eoh>\n', MOSS: '<|MOSS|>: You are welcome.<eom>\n' };

test('switches: default all off, set one at a time, reflected in the meta instruction', () => {
  const s = new Session();
  assert.deepEqual(s.state.switches, ALL_OFF);
  s.set('calculator', true);
  s.set('innerThoughts', true);
  assert.deepEqual(parseSwitches(s.transcript()), { ...ALL_OFF, calculator: true, innerThoughts: true });
  s.set('calculator', false);
  assert.deepEqual(s.state.switches, { ...ALL_OFF, innerThoughts: true });
  assert.match(s.transcript(), /^- Calculator: disabled\.$/m);
});

test('history: push keeps order, transcript is meta + every field verbatim, clear keeps the switches', () => {
  const s = new Session();
  s.set('solver', true);
  s.push(T1);
  s.push(T2);
  assert.equal(s.state.turns.length, 2);
  assert.equal(s.transcript(), metaInstruction({ ...ALL_OFF, solver: true }) + Object.values(T1).join('') + Object.values(T2).join(''));
  s.clear();
  assert.deepEqual(s.state.turns, []);
  assert.equal(s.state.switches.solver, true);
  assert.equal(s.transcript(), metaInstruction({ ...ALL_OFF, solver: true }));
});

test('save/load round trip (Chinese text, field order), atomic write, overwrite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-session-'));
  const file = join(dir, 's.json');
  const s = new Session();
  s.set('search', true);
  s.push(T1);
  s.push(T2);
  s.save(file);
  assert.deepEqual(readdirSync(dir), ['s.json'], 'no temp file left behind');
  const back = Session.load(file);
  assert.deepEqual(back.state, s.state);
  assert.deepEqual(Object.keys(back.state.turns[0]), Object.keys(T1), 'field order kept');
  assert.equal(back.transcript(), s.transcript());
  back.clear();
  back.save(file);
  assert.equal(Session.load(file).state.turns.length, 0);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).version, 1);
});

test('load: missing switches default to off; foreign or broken files are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-session-'));
  const partial = join(dir, 'p.json');
  writeFileSync(partial, JSON.stringify({ version: 1, switches: { calculator: true }, turns: [T2] }));
  assert.deepEqual(Session.load(partial).state.switches, { ...ALL_OFF, calculator: true });
  const foreign = join(dir, 'f.json');
  writeFileSync(foreign, JSON.stringify({ messages: [] }));
  assert.throws(() => Session.load(foreign), /f\.json: not a MOSS session file/);
  const v2 = join(dir, 'v2.json');
  writeFileSync(v2, JSON.stringify({ version: 2, switches: {}, turns: [] }));
  assert.throws(() => Session.load(v2), /not a MOSS session file/);
  const broken = join(dir, 'b.json');
  writeFileSync(broken, '{"version": 1, "turns": [');
  assert.throws(() => Session.load(broken));
});
