/**
 * Copy drills for training small models: MOSS turns (no tool call) whose reply repeats, in order,
 * a string of digits, an arithmetic expression, a calculator-style result or an equation given in
 * the human turn ("Repeat after me: (747+10)/765" -> "(747+10)/765"), EN and ZH. Almost every
 * supervised token of a drill is an ordered copy, the skill that calculator arguments and final
 * replies need and that a bag of nearby digits cannot fake. Deterministic per seed; several
 * drills per record, no meta instruction (as the dense dialogues of dialogues.ts).
 * Not here: tool conversations (synth-plugins.ts), evaluation of the drills.
 */
import { fieldText, noneFields, type SftRecord, type TurnFields } from '../chat/format.js';
import { calculate } from '../plugins/index.js';
import { Generator } from '../tensor/index.js';

const pick = <T>(g: Generator, xs: readonly T[]): T => xs[g.int(xs.length)];

/** A run of `len` random digits (no leading zero unless len is 1). */
function digits(g: Generator, len: number): string {
  let s = len > 1 ? String(1 + g.int(9)) : String(g.int(10));
  while (s.length < len) s += String(g.int(10));
  return s;
}

/** A number of 1..maxLen digits, short ones more likely. */
function num(g: Generator, maxLen: number): string {
  return digits(g, 1 + Math.min(g.int(maxLen), g.int(maxLen)));
}

/** The string to copy: digit runs, expressions, results (floats, negatives, fractions) or equations. */
export function drillText(g: Generator): string {
  const r = g.uniform();
  if (r < 0.3) return digits(g, 2 + g.int(19));
  if (r < 0.6) {
    const op = () => pick(g, ['+', '-', '*', '/']);
    const k = 2 + g.int(3);
    let s = num(g, 4);
    for (let i = 1; i < k; i++) s += op() + num(g, 4);
    return g.uniform() < 0.3 ? `(${s})${op()}${num(g, 3)}` : s;
  }
  if (r < 0.85) {
    const f = g.uniform();
    if (f < 0.5) return `${g.uniform() < 0.2 ? '-' : ''}${num(g, 3)}.${digits(g, 1 + g.int(16))}`;
    if (f < 0.75) return `-${num(g, 6)}`;
    return `${num(g, 3)}/${num(g, 3)}`;
  }
  const v = pick(g, ['x', 'y', 'a']);
  return pick(g, [`${num(g, 2)}${v}+${num(g, 3)}=${num(g, 3)}`, `x+y=${num(g, 2)};${num(g, 1)}x+${num(g, 1)}y=${num(g, 3)}`, `x^2-${num(g, 2)}x+${num(g, 3)}=0`, `${v} = ${g.uniform() < 0.3 ? '-' : ''}${num(g, 3)}`]);
}

/**
 * The harder strings of stage 9's drills: runs of one repeated digit (inside a number, a float tail or
 * alone), and real calculator results of divisions such as 16.38888888888889 (long, often repeating tails).
 */
export function hardDrillText(g: Generator): string {
  const r = g.uniform();
  const d = String(g.int(10));
  const run = d.repeat(3 + g.int(15));
  if (r < 0.25) return d === '0' ? `1${run}` : run;
  if (r < 0.5) return `${g.uniform() < 0.2 ? '-' : ''}${num(g, 3)}.${g.uniform() < 0.5 ? num(g, 2) : ''}${run}${g.uniform() < 0.5 ? String(1 + g.int(9)) : ''}`;
  const nz = () => String(1 + g.int(99));
  return calculate(`${num(g, 3)}${pick(g, ['/', '/', '*', '-', '+'])}${nz()}${pick(g, ['/', '/', '*'])}${nz()}`);
}

const ASK_EN = [(s: string) => `Repeat after me: ${s}`, (s: string) => `Please copy this exactly: ${s}`, (s: string) => `Say ${s}`, (s: string) => `Echo ${s}`, (s: string) => `Write down ${s}`];
const ASK_ZH = [(s: string) => `跟我重复：${s}`, (s: string) => `请原样输出：${s}`, (s: string) => `请复述${s}`, (s: string) => `写下${s}`];
const SAY_EN = [(s: string) => s, (s: string) => `${s}`, (s: string) => `You said ${s}.`, (s: string) => `Here it is: ${s}`];
const SAY_ZH = [(s: string) => s, (s: string) => `你说的是${s}。`, (s: string) => `好的：${s}`];

/** One drill turn: the human asks to repeat a string, MOSS repeats it (no thoughts, no command). */
export function drillTurn(g: Generator, hard = false): TurnFields {
  const s = hard && g.uniform() < 0.5 ? hardDrillText(g) : drillText(g);
  const en = g.uniform() < 0.5;
  return {
    Human: fieldText('Human', ` ${pick(g, en ? ASK_EN : ASK_ZH)(s)}`),
    ...noneFields(true),
    MOSS: fieldText('MOSS', ` ${pick(g, en ? SAY_EN : SAY_ZH)(s)}`),
  };
}

/**
 * `n` records of 1..maxTurns drill turns each (uniform), empty meta instruction; ids `drill-<seed>-<i>`.
 * `hard`: half of the strings come from hardDrillText (repeated-digit runs, division results).
 */
export function copyDrills(n: number, seed: number, maxTurns = 10, hard = false): SftRecord[] {
  const g = new Generator(seed * 104729 + 3);
  return Array.from({ length: n }, (_, i) => {
    const k = 1 + g.int(maxTurns);
    const chat: Record<string, TurnFields> = {};
    for (let t = 0; t < k; t++) chat[`turn_${t + 1}`] = drillTurn(g, hard);
    return { conversation_id: `drill-${seed}-${i}`, meta_instruction: '', num_turns: k, chat, category: 'synthetic.drill' };
  });
}
