/**
 * src/data/drills.ts: copy drills are valid SFT records (no meta instruction, 1..maxTurns turns,
 * no command, empty results), every reply contains the human turn's string verbatim and in order,
 * the strings hold digits, and the drills are deterministic per seed and differ between seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRecord, fieldBody } from '../../src/chat/format.js';
import { copyDrills } from '../../src/data/drills.js';

/** The string a drill asks to repeat: what follows the instruction ("Repeat after me: X", "跟我重复：X", "Say X", ...). */
function asked(human: string): string {
  const body = fieldBody('Human', human);
  const m = /^(?:Repeat after me: |Please copy this exactly: |Say |Echo |Write down |跟我重复：|请原样输出：|请复述|写下)(.+)$/.exec(body);
  assert.ok(m, `unexpected drill prompt ${JSON.stringify(body)}`);
  return m[1];
}

test('copy drills are records whose replies repeat the asked string in order', () => {
  const ds = copyDrills(200, 11, 6);
  assert.equal(ds.length, 200);
  const lens = new Set<number>();
  for (const d of ds) {
    checkRecord(d);
    assert.equal(d.meta_instruction, '');
    assert.ok(d.num_turns >= 1 && d.num_turns <= 6);
    lens.add(d.num_turns);
    const turns = Object.values(d.chat);
    assert.equal(turns.length, d.num_turns);
    for (const t of turns) {
      const s = asked(t.Human!);
      assert.match(s, /\d/);
      assert.equal(fieldBody('Commands', t.Commands!), 'None');
      assert.equal(fieldBody('Inner Thoughts', t['Inner Thoughts']!), 'None');
      assert.equal(t['Tool Responses'], '<|Results|>:\nNone\n<eor>\n');
      const reply = fieldBody('MOSS', t.MOSS!);
      assert.ok(reply.includes(s), `${JSON.stringify(reply)} does not repeat ${JSON.stringify(s)}`);
    }
  }
  assert.equal(lens.size, 6, 'all turn counts 1..6 occur');
});

test('copy drills are deterministic per seed and differ between seeds', () => {
  assert.deepEqual(copyDrills(20, 3), copyDrills(20, 3));
  assert.notDeepEqual(copyDrills(20, 3).map((d) => d.chat), copyDrills(20, 4).map((d) => d.chat));
});

test('hard copy drills hold repeated-digit runs and calculator results, and leave the plain drills unchanged', () => {
  const ds = copyDrills(300, 12, 4, true);
  const strings: string[] = [];
  for (const d of ds) {
    checkRecord(d);
    for (const t of Object.values(d.chat)) {
      const s = asked(t.Human!);
      assert.ok(fieldBody('MOSS', t.MOSS!).includes(s));
      strings.push(s);
    }
  }
  const runs = strings.filter((s) => /(\d)\1{5,}/.test(s)).length;
  const longFloats = strings.filter((s) => /^-?\d+\.\d{10,}$/.test(s)).length;
  assert.ok(runs > strings.length / 10, `only ${runs} of ${strings.length} strings with a run of 6+ equal digits`);
  assert.ok(longFloats > strings.length / 20, `only ${longFloats} of ${strings.length} calculator-style results with 10+ decimals`);
  const plain = copyDrills(300, 12, 4).flatMap((d) => Object.values(d.chat).map((t) => asked(t.Human!)));
  assert.ok(plain.filter((s) => /(\d)\1{5,}/.test(s)).length < runs / 4, 'plain drills rarely hold long runs');
  assert.deepEqual(copyDrills(20, 3, 10, false), copyDrills(20, 3), 'hard = false is the stage 8 stream');
});
