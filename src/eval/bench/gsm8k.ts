/**
 * GSM8K as lm-evaluation-harness's `gsm8k_cot` task (lm_eval/tasks/gsm8k/gsm8k-cot.yaml): 8 fixed
 * exemplars `Q: …\nA: … The answer is N.` joined by "\n\n", the question as `Q: {question}\nA:`,
 * greedy generation until `Q:`, `</s>` or `<|im_end|>` (cut at the first), then two filters:
 * strict `The answer is (\-?[0-9\.\,]+).` (first match) and flexible `(-?[$0-9.,]{2,})|(-?[0-9]+)`
 * (last match), each scored by exact_match after removing `,`, `$`, `(?s).*#### ` and a final `.`
 * (Python's `\.$` also matches before a final newline), case-insensitively.
 * Not here: the plain 5-shot `gsm8k` task, self-consistency, chat templates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GsmDoc {
  index: number;
  question: string;
  answer: string;
}

export const GSM8K_SHOTS: readonly [string, string][] = [
  ['There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?',
    'There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.'],
  ['If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
    'There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.'],
  ['Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
    'Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.'],
  ['Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?',
    'Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.'],
  ['Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?',
    'Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.'],
  ['There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?',
    'There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.'],
  ['Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?',
    'Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.'],
  ['Olivia has $23. She bought five bagels for $3 each. How much money does she have left?',
    'Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.'],
];

/** Stop strings of gsm8k_cot. */
export const GSM8K_STOPS = ['Q:', '</s>', '<|im_end|>'];

/** Reads test.jsonl; a bad line is named. */
export function loadGsm8k(dir: string): GsmDoc[] {
  const file = join(dir, 'test.jsonl');
  if (!existsSync(file)) throw new Error(`${file}: missing (GSM8K needs test.jsonl)`);
  return readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`, { cause: e });
    }
    const r = o as Record<string, unknown>;
    if (typeof r.question !== 'string' || typeof r.answer !== 'string') throw new Error(`${file}:${i + 1}: needs string fields "question" and "answer"`);
    if (!r.answer.includes('####')) throw new Error(`${file}:${i + 1}: answer has no "#### N" line`);
    return [{ index: 0, question: r.question, answer: r.answer }];
  }).map((d, index) => ({ ...d, index }));
}

/** The gsm8k_cot prompt with the first `shots` exemplars (default 8). */
export function gsm8kPrompt(d: GsmDoc, shots = 8): string {
  const ex = GSM8K_SHOTS.slice(0, shots).map(([q, a]) => `Q: ${q}\nA: ${a}\n\n`).join('');
  return `${ex}Q: ${d.question}\nA:`;
}

/** The harness's gold: the text after the last `####`, stripped. */
export function gsm8kGold(d: GsmDoc): string {
  return d.answer.split('####').at(-1)!.trim();
}

/** A generation cut at the first stop string (the harness's `until`). */
export function cutAtStops(text: string, stops: readonly string[]): string {
  for (const s of stops) if (s) text = text.split(s)[0];
  return text;
}

/** RegexFilter: findall, pick one match (group tuples: first non-empty group), strip; else "[invalid]". */
function regexFilter(resp: string, re: RegExp, select: number): string {
  const ms = [...resp.matchAll(re)];
  if (!ms.length) return '[invalid]';
  const m = ms.at(select)!;
  const groups = m.length > 2 ? m.slice(1).filter((g) => g) : [m[1] ?? m[0]];
  return groups.length ? groups[0].trim() : '[invalid]';
}

export const strictExtract = (resp: string): string => regexFilter(resp, /The answer is (-?[0-9.,]+)./g, 0);
export const flexibleExtract = (resp: string): string => regexFilter(resp, /(-?[$0-9.,]{2,})|(-?[0-9]+)/g, -1);

/** exact_match with the task's regexes_to_ignore and ignore_case. */
export function exactMatch(pred: string, gold: string): number {
  const clean = (s: string): string => s.replace(/,/g, '').replace(/\$/g, '').replace(/[\s\S]*#### /g, '').replace(/\.(?=\n?$)/, '').toLowerCase();
  return +(clean(pred) === clean(gold));
}
